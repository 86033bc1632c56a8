"""Checks of a sandbox world shared by the end-to-end and runtime tests: what a migration may change
(``pipeline_state``), pausing the change generator until every change is applied (``quiesce``) and
that every source change reached the final tables (``assert_no_change_lost``)."""

from __future__ import annotations

from typing import Any

import requests

from tests.support.sandbox_fixtures import RunningSandbox


# The world's control endpoints share the sandbox's store with every running pipeline: on a loaded
# 2-core machine an answer can take tens of seconds, which is load, not a fault of the product.
CONTROL_TIMEOUT = 120


def world_get(sandbox: RunningSandbox, path: str, **params: Any) -> dict:
    response = requests.get(f"{sandbox.url}/sandbox/v1/{path}", auth=sandbox.auth, params=params,
                            timeout=CONTROL_TIMEOUT)
    response.raise_for_status()
    return response.json()


def pipeline_state(sandbox: RunningSandbox) -> dict[str, Any]:
    """What a migration may change: statements (phase, SQL), subjects (versions, levels), table names."""
    from confluent_migration.hooks.flink_sql import FlinkSqlHook
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.hooks.schema_registry import SchemaRegistryHook

    registry = SchemaRegistryHook()
    return {
        "statements": sorted((s.name, s.phase, s.sql) for s in FlinkStatementsHook().list_statements()),
        "subjects": {s: (registry.versions(s), registry.subject_compatibility(s)) for s in registry.subjects()},
        "tables": sorted(r[0] for r in FlinkSqlHook().get_records("SHOW TABLES")),
    }


def world_post(sandbox: RunningSandbox, path: str) -> dict:
    response = requests.post(f"{sandbox.url}/sandbox/v1/{path}", auth=sandbox.auth, timeout=CONTROL_TIMEOUT)
    response.raise_for_status()
    return response.json()


def quiesce(sandbox: RunningSandbox, timeout: float = 300, statements: list[str] | None = None) -> int:
    """Pause the change generator and wait until every change made is applied; the last change's seq.

    ``statements``: when the final tables are not the world's own (option B's ``_v2`` tables, which
    the world's "applied" does not follow), wait instead until these statements have no pending records.
    """
    import time

    from confluent_migration.hooks.metrics import PENDING_RECORDS, ConfluentMetricsHook

    world_post(sandbox, "world/pause")
    deadline = time.monotonic() + timeout
    while True:
        changes = world_get(sandbox, "world", tables=False)["changes"]
        if statements:
            pending = ConfluentMetricsHook().statement_metric(PENDING_RECORDS, statements)
            if all(pending.get(n) == 0 for n in statements):
                return changes["made"]
            changes["pending_records"] = pending
        elif changes["applied"] >= changes["made"]:
            return changes["made"]
        assert time.monotonic() < deadline, f"changes not applied within {timeout}s: {changes}"
        time.sleep(0.5)


def _utc(value: Any):  # noqa: ANN202 - datetime
    from datetime import datetime, timezone

    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def assert_no_change_lost(sandbox: RunningSandbox, manifest: Any, final_tables: dict[str, str] | None = None,
                          migrated: set[str] | None = None) -> int:
    """Every change the generator made reached the final tables (v2 timestamps).

    ``final_tables``: table name -> the Flink table holding it after the migration (default: the
    manifest's own names; option B's are ``<table>_v2``). ``migrated``: the tables to check
    (default all; the others still have v1 columns).

    ``skus`` changes are checked row by row in ``skus_master`` (keyed by ``id``); each aggregate
    must carry, per key, the newest ``updated_at`` of its source rows, so no source change is
    missing from it either. Returns how many changes were checked.
    """
    import time

    from confluent_migration.hooks.flink_sql import FlinkSqlHook
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.migration.observe import writers_of

    own = {spec.flink_table for spec in manifest.tables}
    moved = [t for t in (final_tables or {}).values() if t not in own]
    statements = FlinkStatementsHook().list_statements() if moved else []
    last = quiesce(sandbox, statements=[s.name for t in moved for s in writers_of(statements, t)])
    sql = FlinkSqlHook()
    changes, seq = [], 0
    while seq < last:
        page = world_get(sandbox, "world/changes", since=seq, limit=10_000)
        changes += page["data"]
        seq = page["last_seq"]
    time.sleep(2)  # the derived tables follow their sources after the sources applied the changes
    sources = {s.name: s.flink_table for s in manifest.sources}
    final = {spec.name: spec.flink_table for spec in manifest.tables} | (final_tables or {})
    checked = {spec.name for spec in manifest.tables} if migrated is None else migrated
    master = {str(r[0]): _utc(r[1]) for r in sql.get_records(
        f"SELECT id, updated_at FROM `{final['skus_master']}`")} if "skus_master" in checked else {}
    for change in changes:
        if change["table"] == sources["skus"] and master:
            assert change["key"] in master, f"skus change {change} missing from skus_master"
            assert master[change["key"]] >= _utc(change["updated_at"]), (change, master[change["key"]])
    for spec in manifest.tables:
        source = [sources[r] for r in spec.reads if r in sources]
        if spec.name == "skus_master" or spec.name not in checked or len(source) != 1:
            continue
        key = spec.primary_key[0]
        want = {str(r[0]): _utc(r[1]) for r in sql.get_records(
            f"SELECT {key}, MAX(updated_at) FROM `{source[0]}` GROUP BY {key}")}
        got = {str(r[0]): _utc(r[1]) for r in sql.get_records(f"SELECT {key}, updated_at FROM `{final[spec.name]}`")}
        assert got == want, f"{spec.name} differs from its source {source[0]} for {len(set(got.items()) ^ set(want.items()))} keys"
    world_post(sandbox, "world/resume")
    return len(changes)
