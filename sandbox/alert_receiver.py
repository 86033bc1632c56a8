"""A local webhook receiver standing in for Slack: the health check's alerts arrive here.

``./dev ui`` starts one and points the connection ``migration_alerts_webhook`` at it, so a person
sees an alert arrive (printed, and appended to a log file); the tests use it to read what was sent.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CONN_ENV = "AIRFLOW_CONN_MIGRATION_ALERTS_WEBHOOK"


class AlertReceiver:
    """An HTTP server on 127.0.0.1 keeping every JSON body POSTed to it (Slack's ``{"text": ...}``).

    :param port: 0 picks a free port. :param log: a file each alert is appended to.
    :param echo: print each alert as it arrives.
    """

    def __init__(self, port: int = 0, log: Path | None = None, echo: bool = False) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                receiver.received.append(body)
                if log:
                    with open(log, "a") as f:
                        f.write(json.dumps(body) + "\n")
                if echo:
                    print(f"\nALERT received on {receiver.url}: {body.get('text', body)}\n", flush=True)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/alerts"

    def start(self) -> AlertReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def connection_env(self) -> dict[str, str]:
        """``AIRFLOW_CONN_MIGRATION_ALERTS_WEBHOOK`` pointing the health check's alerts here."""
        return {CONN_ENV: json.dumps({"conn_type": "http", "host": self.url})}
