"""The migration's ledger and the cross-DAG table lock, on real local object storage."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from confluent_migration.migration.ledger import DONE, STARTED, Ledger, latest_run, run_ids
from confluent_migration.migration.lock import LockHeldError, TableLocks



def test_steps_merge_started_and_done_in_the_order_they_started(base):
    ledger = Ledger(base, "run-1")
    ledger.start(dag_id="d", option="A", tables=["t"], params={"dry_run": False})
    ledger.record("statement_stopped", STARTED, task_id="stop", map_index=0, data={"statement_name": "s1"})
    ledger.record("statement_created", STARTED, task_id="submit", map_index=0, data={"statement_name": "s2"})
    ledger.record("statement_stopped", DONE, task_id="stop", map_index=0, result={"latest_offsets": {"t": "x"}})
    steps = Ledger(base, "run-1").steps()
    assert [(s.kind, s.status) for s in steps] == [("statement_stopped", DONE), ("statement_created", STARTED)]
    assert steps[0].data == {"statement_name": "s1"} and steps[0].result == {"latest_offsets": {"t": "x"}}
    assert not steps[1].done


def test_a_retried_task_keeps_one_step(base):
    ledger = Ledger(base, "run-1")
    ledger.start(dag_id="d", option="A", tables=["t"], params={})
    for _ in range(2):
        ledger.record("schema_registered", STARTED, task_id="register", map_index=1, data={"subject": "s"})
    ledger.record("schema_registered", DONE, task_id="register", map_index=1, result={"version": 2})
    assert [(s.kind, s.status, s.result) for s in ledger.steps()] == [("schema_registered", DONE, {"version": 2})]


def test_the_header_survives_a_rerun_and_records_the_outcome(base):
    ledger = Ledger(base, "run-1")
    first = ledger.start(dag_id="d", option="A", tables=["t"], params={})
    assert ledger.start(dag_id="d", option="A", tables=["other"], params={}) == first
    assert ledger.finish("success")["outcome"] == "success"


def test_latest_run_is_the_last_started_migration(base):
    for run in ("a", "b"):
        Ledger(base, run).start(dag_id="d", option="A", tables=["t"], params={})
    Ledger(base, "rb").start(dag_id="r", option="rollback", tables=["t"], params={}, kind="rollback")
    assert run_ids(base) == ["a", "b"] and latest_run(base) == "b"
    with pytest.raises(FileNotFoundError, match="no rollback run|nothing to roll back"):
        latest_run(base / "elsewhere")


def test_a_missing_run_says_where_it_looked(base):
    with pytest.raises(FileNotFoundError, match="no migration record for run 'nope'"):
        Ledger(base, "nope").header()


def test_a_table_locked_by_one_run_is_refused_to_another_and_nothing_is_half_taken(base):
    locks = TableLocks(base)
    assert locks.acquire(["a", "b"], dag_id="d1", run_id="r1") == ["a", "b"]
    with pytest.raises(LockHeldError, match="table 'b' is locked by run 'r1' of DAG 'd1'"):
        locks.acquire(["c", "b"], dag_id="d2", run_id="r2")
    assert set(locks.holders()) == {"a", "b"}  # c was released again
    assert locks.acquire(["a"], dag_id="d1", run_id="r1") == ["a"]  # a retry of the holder


def test_release_frees_only_the_runs_own_locks(base):
    locks = TableLocks(base)
    locks.acquire(["a"], dag_id="d1", run_id="r1")
    assert locks.release(["a"], dag_id="d2", run_id="r2") == []
    assert locks.release(["a"], dag_id="d1", run_id="r1") == ["a"]
    assert locks.holders() == {}
    assert locks.acquire(["a"], dag_id="d2", run_id="r2") == ["a"]


def test_a_refusal_names_every_lock_held_its_holder_and_its_file(base):
    locks = TableLocks(base)
    locks.acquire(["a"], dag_id="d1", run_id="r1")
    locks.acquire(["c"], dag_id="d3", run_id="r3")
    with pytest.raises(LockHeldError) as refused:
        locks.acquire(["a", "b", "c"], dag_id="d2", run_id="r2")
    message = str(refused.value)
    assert "run 'r2' of DAG 'd2' locked nothing" in message
    assert "table 'a' is locked by run 'r1' of DAG 'd1'" in message and str(locks.path("a")) in message
    assert "table 'c' is locked by run 'r3' of DAG 'd3'" in message and str(locks.path("c")) in message
    assert {t: h["run_id"] for t, h in locks.holders().items()} == {"a": "r1", "c": "r3"}  # b released again


def killed_migration(base, run_id: str, tables: list[str]) -> None:
    """A migration run whose worker took the locks and was killed with SIGKILL (no teardown ran)."""
    import os
    import subprocess
    import sys

    Ledger(base, run_id).start(dag_id="migrate_schema_registry_evolution", option="A", tables=tables, params={})
    code = ("import os, signal, sys; from airflow.sdk import ObjectStoragePath; "
            "from confluent_migration.migration.lock import TableLocks; "
            "TableLocks(ObjectStoragePath(sys.argv[1])).acquire(sys.argv[3:], "
            "dag_id='migrate_schema_registry_evolution', run_id=sys.argv[2]); os.kill(os.getpid(), signal.SIGKILL)")
    done = subprocess.run([sys.executable, "-c", code, str(base), run_id, *tables], env=os.environ.copy(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr


def test_the_rollback_of_a_killed_run_takes_over_its_locks(base, monkeypatch):
    from confluent_migration.migration.lock import acquire_lock

    monkeypatch.setenv("CONFLUENT_MIGRATION_LEDGER", str(base))
    killed_migration(base, "manual__1", ["a", "b"])
    locks = TableLocks(base)
    assert {h["run_id"] for h in locks.holders().values()} == {"manual__1"}
    Ledger(base, "rb-1").start(dag_id="rollback_migration", option="rollback of A", tables=["a", "b"], params={},
                               kind="rollback", target_run="manual__1")
    locks.acquire(["c"], dag_id="d9", run_id="r9")
    with pytest.raises(LockHeldError, match="table 'c' is locked by run 'r9'"):  # nothing half taken over
        locks.acquire(["a", "b", "c"], dag_id="rollback_migration", run_id="rb-1")
    assert {t: h["run_id"] for t, h in locks.holders().items()} == {"a": "manual__1", "b": "manual__1", "c": "r9"}
    rollback_dag = SimpleNamespace(dag_id="rollback_migration")
    assert acquire_lock({"tables": ["a", "b"]}, dag=rollback_dag, run_id="rb-1") == ["a", "b"]  # the DAG's task
    holders = locks.holders()
    assert {t: h["run_id"] for t, h in holders.items()} == {"a": "rb-1", "b": "rb-1", "c": "r9"}
    assert holders["a"]["took_over_from"]["run_id"] == "manual__1"
    assert locks.acquire(["a", "b"], dag_id="rollback_migration", run_id="rb-1") == ["a", "b"]  # a retry
    assert locks.release(["a", "b"], dag_id="rollback_migration", run_id="rb-1") == ["a", "b"]


def test_a_rollback_of_another_run_is_still_refused(base):
    killed_migration(base, "manual__1", ["a"])
    Ledger(base, "manual__2").start(dag_id="migrate_schema_registry_evolution", option="A", tables=["a"], params={})
    Ledger(base, "rb-2").start(dag_id="rollback_migration", option="rollback of A", tables=["a"], params={},
                               kind="rollback", target_run="manual__2")
    locks = TableLocks(base)
    with pytest.raises(LockHeldError, match="table 'a' is locked by run 'manual__1'"):
        locks.acquire(["a"], dag_id="rollback_migration", run_id="rb-2")
    with pytest.raises(LockHeldError, match="table 'a' is locked by run 'manual__1'"):  # not a rollback at all
        locks.acquire(["a"], dag_id="migrate_schema_registry_evolution", run_id="manual__2")
    assert locks.holder("a")["run_id"] == "manual__1"
