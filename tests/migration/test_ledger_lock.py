"""The migration's ledger and the cross-DAG table lock, on real local object storage."""

from __future__ import annotations

import pytest
from airflow.sdk import ObjectStoragePath

from confluent_migration.migration.ledger import DONE, STARTED, Ledger, latest_run, run_ids
from confluent_migration.migration.lock import LockHeldError, TableLocks


@pytest.fixture
def base(tmp_path) -> ObjectStoragePath:
    return ObjectStoragePath(f"file://{tmp_path}/ledger")


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
