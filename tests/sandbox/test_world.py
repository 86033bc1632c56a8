"""The encarta world end to end: built from the project's v1 SQL, its pipelines keeping up with the
change generator, every recorded change reaching the derived tables, and a restart resuming it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timezone

import confluent_sql
import pytest
import requests

from confluent_migration import flink_ddl
from sandbox.world import status, summary, wait_until_ready
from sandbox.world.layout import encarta_layout
from tests.support.sandbox_fixtures import RunningSandbox

RATE = 20.0  # changes per second while the tests watch


def connect(sandbox: RunningSandbox) -> confluent_sql.Connection:
    c = sandbox.config
    return confluent_sql.connect(
        flink_api_key=c.api_key, flink_api_secret=c.api_secret, organization_id=c.organization_id,
        environment_id=c.environment_id, compute_pool_id=c.compute_pool_id, database=c.database,
        endpoint=sandbox.url, result_page_fetch_pause_millis=20,
    )


def snapshot(conn: confluent_sql.Connection, sql: str, as_dict: bool = True) -> list:
    with conn.closing_cursor(as_dict=as_dict) as cur:
        cur.execute(sql)
        return cur.fetchall()


def control(sandbox: RunningSandbox, method: str, path: str, **params: object) -> dict:
    response = requests.request(method, f"{sandbox.url}/sandbox/v1/world{path}", params=params,
                                auth=sandbox.auth, timeout=30)
    response.raise_for_status()
    return response.json()


def wait_until_applied(sandbox: RunningSandbox, timeout: float = 60) -> dict:
    """Wait until every recorded change is applied; fail showing how far behind the pipelines are."""
    deadline = time.monotonic() + timeout
    while True:
        doc = control(sandbox, "GET", "")
        changes = doc["changes"]
        if changes["applied"] == changes["made"]:
            return doc
        if time.monotonic() > deadline:
            pytest.fail(f"pipelines still {changes['made'] - changes['applied']} changes behind: {doc}")
        time.sleep(0.2)


@pytest.fixture
def world(sandbox_factory) -> Iterator[RunningSandbox]:
    sandbox = sandbox_factory(world="encarta", changes_per_second=RATE)
    wait_until_ready(sandbox.url, sandbox.auth, timeout=300)
    yield sandbox


def test_world_is_built_from_the_projects_v1_sql_with_its_pipelines_running(world):
    layout = encarta_layout()
    doc = status(world.url, world.auth)
    assert [p["statement"] for p in doc["pipelines"]] == [p.statement for p in layout.pipelines]
    assert {p["phase"] for p in doc["pipelines"]} == {"RUNNING"}
    assert sum(doc["tables"][f.table] for f in layout.sources) >= 3000
    for ddl in layout.derived:
        assert doc["tables"][ddl.table] > 0, f"{ddl.table} was not filled by its v1 pipeline"
    assert all(isinstance(p["pending_records"], (int, float)) for p in doc["pipelines"]), doc["pipelines"]
    assert doc["other_statements"] == []  # the world's own pipelines are its only continuous statements
    text = summary(doc)
    assert all(f"{p.statement}" in text for p in layout.pipelines) and "changes made:" in text, text
    with closing(connect(world)) as conn:
        for source in layout.sources:
            bad = snapshot(conn, f"SELECT COUNT(*) AS n FROM `{source.table}` WHERE created_at > updated_at"
                                 " OR created_at IS NULL OR updated_at IS NULL")
            assert bad == [{"n": 0}], f"{source.table} has rows with created_at > updated_at or NULL"


def test_pipelines_keep_up_with_the_change_generator_and_every_change_arrives(world):
    layout = encarta_layout()
    start = control(world, "GET", "")["changes"]["made"]
    samples = []
    for _ in range(10):
        time.sleep(1)
        samples.append(control(world, "GET", "", tables="false")["changes"])
    assert all(c["applied"] <= c["made"] for c in samples), f"applied passed made: {samples}"
    assert samples[-1]["applied"] > start, f"no change was applied while watching: {samples}"
    running = samples[-1]
    made_while_watching = running["made"] - start
    assert made_while_watching >= RATE * 10 * 0.8, f"the generator made {made_while_watching} changes in 10s"
    assert running["made"] - running["applied"] <= RATE * 5, f"pipelines fell behind: {running}"
    assert not running["errors"], f"the change generator failed: {running['errors']}"

    control(world, "POST", "/pause")
    applied_doc = wait_until_applied(world)
    changes = control(world, "GET", "/changes", since=0, limit=10_000)["data"]
    assert len(changes) == applied_doc["changes"]["made"]
    assert [c["seq"] for c in changes] == list(range(1, len(changes) + 1))
    assert {c["op"] for c in changes} == {"insert", "update"}

    with closing(connect(world)) as conn:
        # Each changed source row holds its last recorded change.
        last_change = {(c["table"], c["key"]): datetime.fromisoformat(c["updated_at"]) for c in changes}
        for source in layout.sources:
            key = flink_ddl.parse_create_table(source.sql).primary_key
            rows = snapshot(conn, f"SELECT {', '.join(key)}, updated_at FROM `{source.table}`")
            held = {"|".join(str(r[k]) for k in key): utc(r["updated_at"]) for r in rows}
            for (table, changed), updated_at in last_change.items():
                if table == source.table:
                    assert held.get(changed) == updated_at, f"{table} {changed}: {updated_at} missing"
        # Every changed SKU is in the SKU master (v1 carries no updated_at to compare).
        master = {str(r["id"]) for r in snapshot(conn, "SELECT id FROM `sbx-uat.encarta.public.skus_master`")}
        assert {k for t, k in last_change if t.endswith(".skus")} <= master
        # Every pipeline's result equals its own SELECT run as a point-in-time query over the current
        # sources: the incremental, change-by-change state caught up with every recorded change.
        for pipeline in layout.pipelines:
            select = pipeline.sql[pipeline.sql.upper().index("SELECT"):].rstrip().rstrip(";")
            expected = sorted(map(repr, snapshot(conn, select, as_dict=False)))
            actual = sorted(map(repr, snapshot(conn, f"SELECT * FROM `{pipeline.table}`", as_dict=False)))
            assert len(actual) == len(expected) and actual == expected, (
                f"{pipeline.table} differs from its pipeline {pipeline.statement}'s SELECT over the sources")


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def test_world_survives_a_restart(sandbox_factory, tmp_path):
    data_dir = tmp_path / "encarta"
    first = sandbox_factory(world="encarta", changes_per_second=RATE, data_dir=data_dir)
    built = wait_until_ready(first.url, first.auth, timeout=300)
    time.sleep(2)
    made_before = control(first, "GET", "")["changes"]["made"]
    first.process.stop()

    second = sandbox_factory(world="encarta", changes_per_second=RATE, data_dir=data_dir)
    resumed = wait_until_ready(second.url, second.auth, timeout=60)
    assert resumed["built_at"] == built["built_at"], "a restart rebuilt the world instead of resuming it"
    time.sleep(3)
    doc = status(second.url, second.auth)
    assert {p["phase"] for p in doc["pipelines"]} == {"RUNNING"}
    assert doc["changes"]["made"] > made_before
    later = control(second, "GET", "/changes", since=made_before, limit=10)["data"]
    assert later and later[0]["seq"] == made_before + 1
    slowed = control(second, "POST", "/rate", changes_per_second=0)["changes"]
    assert slowed["per_second"] == 0 and not slowed["paused"]
    settled = wait_until_applied(second)["changes"]["made"]
    time.sleep(1.5)
    still = control(second, "GET", "", tables="false")["changes"]["made"]
    assert still == settled, f"rate 0 still made {still - settled} changes"
