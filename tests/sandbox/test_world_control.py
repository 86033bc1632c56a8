"""The sandbox's own /sandbox/v1/world endpoints on a sandbox without a world."""

from __future__ import annotations

import requests


def test_world_endpoints_say_there_is_no_world_on_a_plain_sandbox(sandbox):
    for method, path in (("GET", "/world"), ("GET", "/world/changes"), ("POST", "/world/pause"),
                         ("POST", "/world/rate?changes_per_second=1")):
        response = requests.request(method, f"{sandbox.url}/sandbox/v1{path}", auth=sandbox.auth, timeout=5)
        assert response.status_code == 404, path
        assert "--world encarta" in response.json()["errors"][0]["detail"]
