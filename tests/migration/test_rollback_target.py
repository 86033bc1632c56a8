"""Which run a rollback undoes by default, and rollbacks that would undo nothing."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from airflow.sdk import ObjectStoragePath

from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration.ledger import DONE, STARTED, Ledger
from confluent_migration.migration.rollback import (
    COMPATIBILITY_SET,
    GROUPS,
    STATEMENT_CREATED,
    RollbackError,
    choose_run,
    undo,
    wait_for_phase,
)
from sandbox.config import SandboxConfig
from sandbox.connections import airflow_connection_env

V1_WRITER = {"name": "skus-master-v1", "sql": "INSERT INTO `skus_master` SELECT * FROM `skus`", "phase": "RUNNING"}


@pytest.fixture
def base(tmp_path, monkeypatch) -> ObjectStoragePath:
    monkeypatch.setenv("CONFLUENT_MIGRATION_LEDGER", f"file://{tmp_path}/ledger")
    return ObjectStoragePath(f"file://{tmp_path}/ledger")


@pytest.fixture
def connections(tmp_path, monkeypatch) -> None:
    """Connections as a sandbox defines them (choosing a run reads only their settings)."""
    for key, value in airflow_connection_env(SandboxConfig(data_dir=tmp_path)).items():
        monkeypatch.setenv(key, value)


def migration(base, run_id: str, *, change: bool = True, dry_run: bool = False, rolled_back: bool = False,
              tables: list[str] | None = None, statements: list[dict] | None = None) -> Ledger:
    """A recorded migration run: pre-flight, then (``change``) one change that only started."""
    ledger = Ledger(base, run_id)
    ledger.start(dag_id="migrate_schema_registry_evolution", option="A", tables=tables or ["skus_master"],
                 params={"dry_run": dry_run})
    ledger.record("preflight_state", DONE, task_id="preflight.record_state",
                  result={"statements": statements if statements is not None else [V1_WRITER], "subjects": {}})
    if change:
        ledger.record(COMPATIBILITY_SET, STARTED, task_id="set_full_transitive", map_index=0,
                      data={"subject": "skus_master-value", "level": "FULL_TRANSITIVE"})
    if rolled_back:
        ledger.finish("failed", rolled_back_by="rollback__0")
    return ledger


def context(migration_run: str = "", run_id: str = "rollback__1") -> dict:
    params = {"migration_run": migration_run, "mode": "planned", "dry_run": False, "confirm": "sandbox-cluster"}
    return {"params": params, "dag": SimpleNamespace(dag_id="rollback_migration"), "run_id": run_id,
            "ti": SimpleNamespace(task_id="undo")}


def test_the_default_target_is_the_latest_run_that_changed_something_not_rolled_back(base, connections):
    migration(base, "r1")
    migration(base, "r2", rolled_back=True)
    migration(base, "r3", change=False)  # refused at the lock or failed in pre-flight
    migration(base, "r4", change=False, dry_run=True)
    assert choose_run(**context())["target_run"] == "r1"


def test_without_a_run_left_to_undo_the_default_fails_saying_so(base, connections):
    migration(base, "r1", rolled_back=True)
    migration(base, "r2", change=False)
    with pytest.raises(RollbackError, match="no migration run recorded at .* changed something that is not rolled "
                                            "back yet: nothing to roll back"):
        choose_run(**context())


def test_a_target_that_recorded_no_change_fails_naming_tables_statements_and_the_run_to_undo(base, connections):
    migration(base, "r1")
    migration(base, "r2", change=False, dry_run=True)
    with pytest.raises(RollbackError) as failed:
        choose_run(**context("r2"))
    message = str(failed.value)
    assert "run 'r2' of migrate_schema_registry_evolution (outcome None) recorded no change" in message
    assert "['skus_master']" in message and "skus-master-v1 (RUNNING)" in message
    assert "Roll back run 'r1' instead (rollback_migration with migration_run=r1)" in message
    assert not Ledger(base, "rollback__1").exists()


def make_pipeline() -> tuple[str, str]:
    """A sink table written by a RUNNING statement (the run's "v1 writer"); returns (table, statement)."""
    source, sink = (f"rb_{part}_{uuid.uuid4().hex[:8]}" for part in ("src", "sink"))
    conn = FlinkSqlHook().get_conn()
    try:
        for table in (source, sink):
            conn.execute_snapshot_ddl(f"CREATE TABLE `{table}` (`id` INT NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED)")
    finally:
        conn.close()
    name, hook = f"rb-v1-{uuid.uuid4().hex[:8]}", FlinkStatementsHook()
    hook.submit_statement(name, f"INSERT INTO `{sink}` SELECT * FROM `{source}`")
    wait_for_phase(hook, name, {"RUNNING"}, 60, poll=0.2)
    return sink, name


def test_a_rollback_that_undid_nothing_fails_while_a_v1_writer_is_not_running(base, airflow_connections):
    sink, v1 = make_pipeline()
    flink = FlinkStatementsHook()
    target = migration(base, "r2", change=False, tables=[sink], statements=[flink.get_statement(v1).snapshot()])
    target.record(STATEMENT_CREATED, STARTED, task_id="start_v2", map_index=0,  # killed before it created it
                  data={"statement_name": f"rb-v2-{uuid.uuid4().hex[:8]}"})
    migration(base, "r1")  # an earlier run with changes left to undo
    flink.set_stopped(v1, True)  # stopped by someone the ledger of r2 does not know about
    wait_for_phase(flink, v1, {"STOPPED"}, 60, poll=0.2)
    groups = list(GROUPS)
    for group in groups[:-1]:
        undo(group, {"target_run": "r2"}, **context())
    with pytest.raises(RollbackError) as failed:
        undo(groups[-1], {"target_run": "r2"}, **context())
    message = str(failed.value)
    assert "the rollback of run 'r2' changed nothing" in message and f"['{sink}']" in message
    assert f"'{v1}' is STOPPED" in message and "Roll back run 'r1' instead" in message
    assert not Ledger(base, "rollback__1").steps(["undo_complete"])

    flink.set_stopped(v1, False)  # once the writer runs again, the same task passes on retry
    wait_for_phase(flink, v1, {"RUNNING"}, 60, poll=0.2)
    undo(groups[-1], {"target_run": "r2"}, **context())
    assert Ledger(base, "rollback__1").steps(["undo_complete"])
