"""A thin HTTP client for the sandbox's Flink SQL statements API, and helpers the sandbox tests share."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable

import pytest
import requests

from tests.support.sandbox_fixtures import RunningSandbox

_ids = itertools.count()


def unique(prefix: str) -> str:
    """A name no other test in the session uses (statements and tables share the session sandbox)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}-{next(_ids)}"


class Flink:
    """Thin HTTP client for the statements API, for tests."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        self.base = f"{sandbox.flink_base}/statements"
        self.http = requests.Session()
        self.http.auth = sandbox.auth

    def post(self, name: str, sql: str, properties: dict[str, str] | None = None) -> requests.Response:
        spec: dict = {"statement": sql}
        if properties is not None:
            spec["properties"] = properties
        return self.http.post(self.base, json={"name": name, "spec": spec}, timeout=30)

    def create(self, name: str, sql: str, properties: dict[str, str] | None = None) -> dict:
        response = self.post(name, sql, properties)
        assert response.status_code == 201, response.text
        return response.json()

    def get(self, name: str) -> dict:
        response = self.http.get(f"{self.base}/{name}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, name: str, until: Callable[[dict], bool], timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            statement = self.get(name)
            if until(statement):
                return statement
            if time.monotonic() > deadline:
                pytest.fail(f"statement {name} did not get there within {timeout}s: {statement['status']}")
            time.sleep(0.1)

    def phase(self, name: str, *phases: str, timeout: float = 20.0) -> dict:
        return self.wait(name, lambda s: s["status"]["phase"] in phases, timeout)

    def run(self, name: str, sql: str, properties: dict[str, str] | None = None) -> dict:
        """Create a bounded statement and wait until it has COMPLETED."""
        self.create(name, sql, properties)
        statement = self.phase(name, "COMPLETED", "FAILED")
        assert statement["status"]["phase"] == "COMPLETED", statement["status"]
        return statement

    def results(self, name: str, max_pages: int = 50) -> list[dict]:
        """Every result row, following ``metadata.next`` until it is empty (or an empty page)."""
        rows: list[dict] = []
        url = f"{self.base}/{name}/results"
        for _ in range(max_pages):
            response = self.http.get(url, timeout=30)
            assert response.status_code == 200, response.text
            page = response.json()
            rows += page["results"]["data"]
            url = page["metadata"].get("next")
            if not url or not page["results"]["data"]:
                break
        return rows

    def set_stopped(self, name: str, stopped: bool) -> requests.Response:
        """Stop or resume with a JSON Patch of ``/spec/stopped``.

        (A PUT needs ``metadata.resource_version``, which the contract also marks read-only, so every
        PUT breaks the contract as written; PUT is tested in ``test_put_stops_and_resumes``.)"""
        return self.http.patch(f"{self.base}/{name}", data=json.dumps(
            [{"op": "REPLACE", "path": "/spec/stopped", "value": stopped}]),
            headers={"Content-Type": "application/json-patch+json"}, timeout=30)

    def put_stopped(self, name: str, stopped: bool, resource_version: str | None = None) -> requests.Response:
        """Stop or resume with a PUT of the statement as read, ``spec.stopped`` flipped."""
        statement = self.get(name)
        body = {
            "name": name,
            "metadata": {"resource_version": resource_version or statement["metadata"]["resource_version"]},
            "spec": {**{k: v for k, v in statement["spec"].items() if k != "execution_mode"}, "stopped": stopped},
        }
        return self.http.put(f"{self.base}/{name}", json=body, timeout=30)

    def table(self, name: str, columns: str, key: str | None = None, buckets: int = 2) -> str:
        """CREATE TABLE ``name`` (columns) with a primary key on ``key``."""
        pk = f", PRIMARY KEY (`{key}`) NOT ENFORCED" if key else ""
        dist = f" DISTRIBUTED BY HASH(`{key}`) INTO {buckets} BUCKETS" if key else ""
        self.run(unique("ddl"), f"CREATE TABLE `{name}` ({columns}{pk}){dist}")
        return name

    def insert(self, table: str, values: str) -> None:
        self.run(unique("ins"), f"INSERT INTO `{table}` VALUES {values}")

    def snapshot(self, sql: str) -> list[list]:
        name = unique("snap")
        self.run(name, sql, {"sql.snapshot.mode": "now"})
        return [r["row"] for r in self.results(name)]


def rows_of(flink: Flink, table: str, order: str) -> list[list]:
    return flink.snapshot(f"SELECT * FROM `{table}` ORDER BY {order}")


def eventually(flink: Flink, check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def aggregate_pipeline(flink: Flink) -> tuple[str, str, str]:
    """Source ``orders`` (upsert on id) -> RUNNING ``INSERT INTO totals SELECT grp, SUM, COUNT, MAX``."""
    source = flink.table(unique("orders"), "`id` INT NOT NULL, `grp` STRING, `qty` INT", key="id")
    sink = flink.table(unique("totals"), "`grp` STRING NOT NULL, `total` INT, `n` BIGINT, `biggest` INT", key="grp")
    name = unique("agg")
    flink.create(name, f"INSERT INTO `{sink}` SELECT grp, SUM(qty), COUNT(*), MAX(qty) FROM `{source}` GROUP BY grp")
    statement = flink.phase(name, "RUNNING")
    assert statement["status"]["traits"]["sql_kind"] == "INSERT_INTO"
    assert statement["status"]["traits"]["is_bounded"] is False
    return source, sink, name
