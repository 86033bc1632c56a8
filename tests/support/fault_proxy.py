"""A fault-injecting HTTP proxy on loopback, placed between the hooks and a sandbox.

Tests point the Airflow connections at the proxy (``proxy.connection_env(sandbox.config)``); every
request is forwarded to the sandbox unless a rule matches it. ``proxy.add(method, path_regex,
action, count=N, nth=K)`` applies ``action`` to ``count`` matching requests, starting at the
``nth`` match (default the first):

- ``"429"``: answer 429 with ``Retry-After`` (the server never sees the request);
- ``"503"``: answer 503 (the server never sees the request);
- ``"lose"``: forward the request, let the server act, then lose its answer: reset the connection
  (``lost_as="reset"``) or answer 502 (``lost_as="502"``);
- ``"delay"``: wait ``seconds``, then forward;
- ``"outage"``: from this request on, an outage of ``seconds`` (below).

``proxy.outage(seconds)`` takes the API away for that long: every request meanwhile has its
connection reset before the server sees it (``action`` ``"outage"`` in the log).

``proxy.log`` records each exchange (method, path, what the proxy did, the server's status).
Bounded: at most ``max_requests`` requests are served, the proxy stops itself after ``lifetime``
seconds, it listens on 127.0.0.1 only and forwards only to a loopback target.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from sandbox.config import SandboxConfig
from sandbox.connections import airflow_connection_env

ACTIONS = ("429", "503", "lose", "delay", "outage")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
              "host", "content-length"}


@dataclass
class Rule:
    """Apply ``action`` to ``count`` requests matching ``method`` and ``path`` (a regex), from the ``nth`` match."""

    method: str
    path: str
    action: str
    count: int = 1
    nth: int = 1
    retry_after: str = "0"
    seconds: float = 0.0
    lost_as: str = "reset"
    matched: int = 0
    applied: int = 0

    def hit(self, method: str, path: str) -> bool:
        """Count a matching request; True when this one gets the fault."""
        if self.method not in ("*", method) or not re.search(self.path, path):
            return False
        self.matched += 1
        if self.nth <= self.matched < self.nth + self.count:
            self.applied += 1
            return True
        return False


@dataclass(frozen=True)
class Exchange:
    """One request as the proxy handled it: ``action`` is ``forwarded`` or the rule's action;
    ``upstream`` the server's status (None when the server never saw the request)."""

    method: str
    path: str
    action: str
    upstream: int | None


class FaultProxy:
    """The proxy; a context manager (``with FaultProxy(sandbox.url) as proxy:``)."""

    def __init__(self, target: str, *, max_requests: int = 2000, lifetime: float = 600.0,
                 upstream_timeout: float = 60.0, port: int = 0) -> None:
        parts = urlsplit(target)
        if not ipaddress.ip_address(socket.gethostbyname(parts.hostname or "")).is_loopback:
            raise ValueError(f"the fault proxy forwards to loopback only, not {target}")
        self.target = (parts.hostname, parts.port or 80)
        self.max_requests, self.lifetime, self.upstream_timeout = max_requests, lifetime, upstream_timeout
        self.rules: list[Rule] = []
        self.log: list[Exchange] = []
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # a reset we caused is not an error
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connection_env(self, config: SandboxConfig) -> dict[str, str]:
        """``AIRFLOW_CONN_*`` variables for the sandbox of ``config``, through this proxy."""
        return airflow_connection_env(replace(config, host="127.0.0.1", port=self.port))

    def start(self) -> FaultProxy:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def add(self, method: str, path: str, action: str, **options: Any) -> Rule:
        """Add a rule (see :class:`Rule`); rules are tried in the order added, the first hit wins."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}: one of {ACTIONS}")
        rule = Rule(method.upper(), path, action, **options)
        with self._lock:
            self.rules.append(rule)
        return rule

    def outage(self, seconds: float) -> None:
        """From now on, for ``seconds``, reset every request's connection before forwarding it."""
        self._down_until = time.monotonic() + seconds

    def done(self, action: str, method: str | None = None, path: str = "") -> list[Exchange]:
        """The exchanges where the proxy did ``action`` (``"forwarded"`` included), optionally filtered."""
        return [e for e in self.log if e.action == action and (method is None or e.method == method)
                and re.search(path, e.path)]

    def _decide(self, method: str, path: str) -> Rule | None:
        with self._lock:
            if len(self.log) >= self.max_requests:
                return Rule(method, path, "503")
            return next((rule for rule in self.rules if rule.hit(method, path)), None)

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.log.append(exchange)

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list, bytes]:
        upstream = http.client.HTTPConnection(*self.target, timeout=self.upstream_timeout)
        try:
            upstream.request(method, path, body=body or None, headers={**headers, "Connection": "close"})
            response = upstream.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            upstream.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response_only(status)
                for key, value in headers:
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def _reset(self) -> None:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def _handle(self) -> None:
                method = self.command
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if time.monotonic() < proxy._down_until:
                    proxy._record(Exchange(method, self.path, "outage", None))
                    self._reset()
                    return
                rule = proxy._decide(method, self.path)
                action = rule.action if rule else "forwarded"
                if action == "outage":
                    proxy.outage(rule.seconds)
                    proxy._record(Exchange(method, self.path, "outage", None))
                    self._reset()
                    return
                if action in ("429", "503"):
                    proxy._record(Exchange(method, self.path, action, None))
                    extra = [("Retry-After", rule.retry_after)] if action == "429" else []
                    message = b'{"error_code": %s, "message": "fault proxy: %s"}' % (action.encode(), action.encode())
                    self._reply(int(action), [("Content-Type", "application/json"), *extra], message)
                    return
                if action == "delay":
                    time.sleep(rule.seconds)
                status, response_headers, response_body = proxy._forward(method, self.path, headers, body)
                proxy._record(Exchange(method, self.path, action, status))
                if action != "lose":
                    self._reply(status, response_headers, response_body)
                elif rule.lost_as == "502":
                    self._reply(502, [("Content-Type", "text/plain")], b"fault proxy: the answer was lost")
                else:
                    self._reset()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        return Handler
