"""Dry runs get a run note as the scheduler starts them: the plugin's listener, reached as the scheduler
reaches it (``DagRun.notify_dagrun_state_changed`` through Airflow's listener manager, which loads the
plugins), on the serialized DAGs of ``dags/``. The runtime tier checks the note under the real scheduler."""

from __future__ import annotations

import pytest
from airflow.listeners.listener import get_listener_manager
from airflow.models.dagrun import DagRun
from airflow.serialization.serialized_objects import DagSerialization
from airflow.utils.state import DagRunState

from confluent_migration import run_notes
from confluent_migration.run_notes import DRY_RUN_NOTE
from tests.dags.structure import load_dag


def started(dag_id: str, conf: dict | None = None, note: str | None = None) -> DagRun:
    """A run of ``dag_id`` as the scheduler holds it when it starts it: RUNNING, its serialized DAG attached."""
    run = DagRun(dag_id=dag_id, run_id="manual__1", conf=conf or {}, state=DagRunState.RUNNING)
    run.dag = DagSerialization.from_dict(DagSerialization.to_dict(load_dag(dag_id)))
    if note:
        run.note = note
    run.notify_dagrun_state_changed(msg="started")
    return run


def test_the_plugin_registers_the_listener():
    assert get_listener_manager().pm.is_registered(run_notes)


@pytest.mark.parametrize(("dag_id", "conf", "dry"), [
    ("migrate_schema_registry_evolution", {}, True),  # a migration defaults to a dry run
    ("migrate_zero_downtime_dual_write", {"dry_run": True, "tables": []}, True),
    ("migrate_maintenance_window_recreate", {"dry_run": False}, False),
    ("rollback_migration", {}, False),  # a rollback does not
    ("rollback_migration", {"dry_run": True}, True),
    ("post_migration_health_check", {"dry_run": True}, False),  # no such param: not a dry run
    ("migrate_schema_registry_evolution", {"dry_run": "yes"}, False),  # refused by the run itself
])
def test_a_dry_run_gets_the_note_and_nothing_else_does(airflow_db, dag_id, conf, dry):
    assert started(dag_id, conf).note == (DRY_RUN_NOTE if dry else None)


def test_the_note_a_person_typed_is_kept_after_the_mark_once(airflow_db):
    run = started("migrate_schema_registry_evolution", note="CHG-1234: rehearsal")
    assert run.note == f"{DRY_RUN_NOTE}\n\nCHG-1234: rehearsal"
    run.notify_dagrun_state_changed(msg="started")  # a cleared run starts again
    assert run.note == f"{DRY_RUN_NOTE}\n\nCHG-1234: rehearsal"
    assert started("migrate_schema_registry_evolution", {"dry_run": False}, note="real").note == "real"
