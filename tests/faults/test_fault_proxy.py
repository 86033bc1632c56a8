"""The fault proxy itself: each fault does what it says, and the server acts (or not) accordingly."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

from tests.support.fault_proxy import FaultProxy

SCHEMA = json.dumps({"type": "record", "name": "R", "fields": [{"name": "id", "type": "long"}]})


def subject() -> str:
    return f"proxy-{uuid.uuid4().hex[:8]}-value"


def register(proxy: FaultProxy, sandbox, name: str) -> requests.Response:
    return requests.post(f"{proxy.url}/subjects/{name}/versions", json={"schema": SCHEMA}, auth=sandbox.auth,
                         headers={"Content-Type": "application/vnd.schemaregistry.v1+json"}, timeout=10)


def versions(sandbox, name: str) -> list[int]:
    response = requests.get(f"{sandbox.url}/subjects/{name}/versions", auth=sandbox.auth, timeout=10)
    return response.json() if response.status_code == 200 else []


def test_429_and_503_are_answered_without_reaching_the_server(proxy, sandbox):
    name = subject()
    proxy.add("POST", r"/subjects/.*/versions$", "429", retry_after="7")
    proxy.add("POST", r"/subjects/.*/versions$", "503")
    limited, unavailable, served = (register(proxy, sandbox, name) for _ in range(3))
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert unavailable.status_code == 503
    assert served.status_code == 200 and versions(sandbox, name) == [1]
    assert [e.action for e in proxy.log] == ["429", "503", "forwarded"]


def test_a_lost_answer_comes_after_the_server_acted(proxy, sandbox):
    reset, bad_gateway = subject(), subject()
    proxy.add("POST", rf"/subjects/{reset}/versions$", "lose")
    proxy.add("POST", rf"/subjects/{bad_gateway}/versions$", "lose", lost_as="502")
    with pytest.raises(requests.ConnectionError):
        register(proxy, sandbox, reset)
    assert register(proxy, sandbox, bad_gateway).status_code == 502
    assert versions(sandbox, reset) == [1] and versions(sandbox, bad_gateway) == [1]
    assert [(e.action, e.upstream) for e in proxy.done("lose")] == [("lose", 200), ("lose", 200)]


def test_only_the_nth_match_gets_the_fault_and_a_delay_still_forwards(proxy, sandbox):
    proxy.add("GET", r"^/config$", "503", nth=2)
    proxy.add("GET", r"^/mode$", "delay", seconds=0.05)
    statuses = [requests.get(f"{proxy.url}/config", auth=sandbox.auth, timeout=10).status_code for _ in range(3)]
    assert statuses == [200, 503, 200]
    assert requests.get(f"{proxy.url}/mode", auth=sandbox.auth, timeout=10).status_code == 200
    assert [e.action for e in proxy.log] == ["forwarded", "503", "forwarded", "delay"]


def test_an_outage_resets_every_request_until_it_ends(proxy, sandbox):
    name = subject()
    proxy.outage(1.0)
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            register(proxy, sandbox, name)
    assert versions(sandbox, name) == []  # the server never saw them
    time.sleep(1.1)
    assert register(proxy, sandbox, name).status_code == 200
    assert [e.action for e in proxy.log] == ["outage", "outage", "forwarded"]


def test_the_proxy_is_bounded_and_loopback_only(sandbox):
    with pytest.raises(ValueError, match="loopback only"):
        FaultProxy("http://192.0.2.1:80")
    with FaultProxy(sandbox.url, max_requests=1) as proxy:
        assert requests.get(f"{proxy.url}/config", auth=sandbox.auth, timeout=10).status_code == 200
        assert requests.get(f"{proxy.url}/config", auth=sandbox.auth, timeout=10).status_code == 503
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{proxy.url}/config", timeout=2)
