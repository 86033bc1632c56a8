"""The shared HTTP base against a tiny loopback server that misbehaves on cue (real HTTP, no mocks)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from confluent_migration.errors import ConfluentApiError
from confluent_migration.hooks.base import ConfluentHttpHook, RetryPolicy, retry_after_seconds

SECRET = "s3cr3t-never-logged"


class Script:
    """Answers in order: each entry is (status, headers, body, delay seconds); the last one repeats."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], dict, float]] = []
        self.arrivals: list[float] = []


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Script]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            script.arrivals.append(time.monotonic())
            index = min(len(script.arrivals), len(script.answers)) - 1
            status, headers, body, delay = script.answers[index]
            time.sleep(delay)
            payload = json.dumps(body).encode()
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AIRFLOW_CONN_FLAKY", json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{httpd.server_port}", "login": "key", "password": SECRET}))
    yield script
    httpd.shutdown()


FAST = RetryPolicy(max_attempts=4, backoff_seconds=0.05, max_backoff_seconds=0.1)
FAILURE = {"errors": [{"status": "503", "detail": "try later"}]}


def test_429_waits_as_long_as_retry_after_then_5xx_backs_off_then_succeeds(server):
    server.answers = [(429, {"Retry-After": "1"}, FAILURE, 0), (503, {}, FAILURE, 0), (200, {}, {"ok": True}, 0)]
    response = ConfluentHttpHook("flaky", retry=FAST).request("GET", "/thing", what="the thing")
    assert response.json() == {"ok": True}
    assert len(server.arrivals) == 3
    assert server.arrivals[1] - server.arrivals[0] >= 0.95  # Retry-After: 1


def test_the_async_variant_follows_the_same_policy(server):
    server.answers = [(429, {"Retry-After": "1"}, FAILURE, 0), (502, {}, FAILURE, 0), (200, {}, {"ok": True}, 0)]
    status, body = asyncio.run(ConfluentHttpHook("flaky", retry=FAST).arequest("POST", "/q", what="q", json={}))
    assert (status, body, len(server.arrivals)) == (200, {"ok": True}, 3)
    assert server.arrivals[1] - server.arrivals[0] >= 0.95


def test_retries_are_bounded_and_the_error_names_the_resource_and_what_to_do(server, caplog):
    server.answers = [(500, {}, {"errors": [{"detail": "boom"}]}, 0)]
    with pytest.raises(ConfluentApiError) as failure:
        ConfluentHttpHook("flaky", retry=FAST).request("GET", "/s", what="Flink statement 'orders-v2'")
    assert len(server.arrivals) == FAST.max_attempts
    message = str(failure.value)
    assert message.startswith("Flink statement 'orders-v2': HTTP 500: boom. ")
    assert "retry the task later" in message
    assert SECRET not in message and SECRET not in caplog.text


def test_an_auth_error_is_final_and_points_at_the_connection_without_the_secret(server, caplog):
    server.answers = [(401, {}, {"error_code": 401, "message": "Unauthorized"}, 0)]
    with pytest.raises(ConfluentApiError, match="connection 'flaky'") as failure:
        ConfluentHttpHook("flaky", retry=FAST).request("GET", "/subjects", what="subjects")
    assert len(server.arrivals) == 1
    assert SECRET not in str(failure.value) and SECRET not in caplog.text


def test_every_call_has_a_timeout(server):
    server.answers = [(200, {}, {"late": True}, 1.0)]
    with pytest.raises(ConfluentApiError, match="no answer: ReadTimeout"):
        ConfluentHttpHook("flaky", timeout=0.2, retry=RetryPolicy(max_attempts=2, backoff_seconds=0.01)).request(
            "GET", "/slow", what="slow thing")
    assert len(server.arrivals) == 2


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
