"""The DAG files parse as the DAG processor parses them: no import errors, fast, forms, runbook shape."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ["migrate_schema_registry_evolution", "migrate_zero_downtime_dual_write", "migrate_maintenance_window_recreate"]
ALL = [*MIGRATIONS, "rollback_migration", "post_migration_health_check"]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    started = time.monotonic()
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    print(f"parsed {len(bag.dags)} DAGs in {time.monotonic() - started:.2f}s: "
          + ", ".join(f"{s.file} {s.duration.total_seconds():.2f}s" for s in bag.dagbag_stats))
    return bag


def test_every_dag_file_imports(dagbag):
    assert dagbag.import_errors == {}
    assert set(ALL) <= set(dagbag.dags)


@pytest.mark.parametrize("dag_id", ALL)
def test_dags_are_documented_and_tagged(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and dag.doc_md.strip().startswith("#")
    assert "confluent" in dag.tags and "schema-migration" in dag.tags


@pytest.mark.parametrize("dag_id", ["rollback_migration", *MIGRATIONS])
def test_one_migration_or_rollback_run_at_a_time(dagbag, dag_id):
    assert dagbag.dags[dag_id].max_active_runs == 1
    assert dagbag.dags[dag_id].schedule is None


def test_the_health_check_runs_daily_and_alerts_on_failure(dagbag):
    from confluent_migration.migration.notify import WebhookNotifier

    dag = dagbag.dags["post_migration_health_check"]
    assert dag.schedule == "@daily"
    assert dag.max_active_runs > 1  # a slow check never blocks the next day's
    for t in dag.tasks:
        assert any(isinstance(cb, WebhookNotifier) for cb in t.on_failure_callback)


@pytest.mark.parametrize("dag_id", MIGRATIONS)
def test_migration_forms_offer_tables_dry_run_confirm_and_thresholds(dagbag, dag_id):
    from confluent_migration.migration.manifest import load_manifest

    params = dagbag.dags[dag_id].params
    assert params["tables"] == load_manifest().names
    assert params["dry_run"] is True and params["confirm"] is None
    for name in ("pending_records_threshold", "throughput_min_pct", "latency_max_pct", "error_rate_max_pct",
                 "freshness_max_seconds", "parity_tolerance_pct"):
        assert name in params


@pytest.mark.parametrize("dag_id", MIGRATIONS)
def test_migrations_read_as_the_runbook(dagbag, dag_id):
    groups = {t.task_group.group_id for t in dagbag.dags[dag_id].tasks if t.task_group.group_id}
    assert {"phase_1_backup_and_prepare", "phase_7_validation"} <= groups
    teardowns = {t.task_id for t in dagbag.dags[dag_id].tasks if t.is_teardown}
    assert teardowns == {"summary", "release_table_lock"}


def test_rollback_undoes_in_the_runbooks_order(dagbag):
    dag = dagbag.dags["rollback_migration"]
    order = ["stop_new_pipelines", "restore_schemas", "restore_tables", "restart_old_pipelines"]
    for before, after in zip(order, order[1:]):
        assert f"{after}.undo_{after}" in dag.get_task(f"{before}.undo_{before}").downstream_task_ids


@pytest.mark.parametrize("dag_id", ALL)
def test_every_form_submits_with_its_defaults_and_describes_every_field(dagbag, dag_id):
    """The UI marks a field required unless its type allows null; a dry run needs none of them."""
    dag = dagbag.dags[dag_id]
    dag.params.validate()  # the defaults are valid values
    for name, param in dag.params.items():
        schema = dag.params.get_param(name).schema
        assert dag.params.get_param(name).description, f"{dag_id}: param {name} has no description"
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        empty = param in (None, "", [])
        assert not empty or "null" in types, f"{dag_id}: param {name} is empty by default but required by the form"
