"""The DAG files parse as the DAG processor parses them: no import errors, fast, forms, runbook shape."""

from __future__ import annotations

import inspect
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
    params = dagbag.dags[dag_id].params
    assert params["tables"] == [] and params["manifest"] is None  # the configured manifest, all its tables
    assert params["dry_run"] is True and params["confirm"] is None
    for name in ("pending_records_threshold", "throughput_min_pct", "latency_max_pct", "error_rate_max_pct",
                 "freshness_max_seconds", "parity_tolerance_pct", "criteria_window_minutes"):
        assert name in params


@pytest.mark.parametrize("dag_id", MIGRATIONS)
def test_every_task_gets_the_form_at_run_time_though_the_parse_copies_it_into_none(dagbag, dag_id):
    """The form is given to the DAG once its tasks are made (Airflow would deep-copy it into each
    operator: most of a parse); a task's params at run time are the DAG's merged with the run's conf."""
    from airflow.sdk.definitions.param import process_params

    dag = dagbag.dags[dag_id]
    assert [t.task_id for t in dag.tasks if t.params] == []
    conf = {"tables": ["skus_master"], "parity_tolerance_pct": 2.5}
    for task in dag.tasks:
        got = process_params(dag, task, conf, suppress_exception=False)
        assert got == {**{k: dag.params[k] for k in dag.params}, **conf}, task.task_id


@pytest.mark.parametrize("dag_id", MIGRATIONS)
def test_the_criteria_measure_a_whole_window_after_the_new_statements_caught_up(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    [criteria] = [t for t in dag.tasks if t.task_id.endswith("_validation.success_criteria")]
    [window] = [t for t in criteria.upstream_list if t.task_id.endswith("_validation.throughput_window")]
    assert window.minutes == "{{ params.criteria_window_minutes }}" and window.deferrable
    assert [t.task_id.rsplit(".", 1)[-1] for t in window.upstream_list] == ["validation_gates"]
    assert dag.params["criteria_window_minutes"] == 5


@pytest.mark.parametrize("dag_id", [*MIGRATIONS, "rollback_migration"])
def test_task_groups_are_numbered_as_the_dags_docs_number_the_steps(dagbag, dag_id):
    import re

    dag = dagbag.dags[dag_id]
    top = {g.group_id for g in dag.task_group.children.values() if hasattr(g, "children")}
    numbered = sorted((int(m.group(1)), m.group(2)) for g in top if (m := re.fullmatch(r"phase_(\d+)_(\w+)", g)))
    assert len(numbered) == len(top), f"{dag_id}: unnumbered groups {top}"
    steps = re.findall(r"^(\d+)\. \*\*([^*]+)\*\*", dag.doc_md, flags=re.MULTILINE)
    assert [n for n, _ in numbered] == [int(n) for n, _ in steps] == list(range(1, len(steps) + 1)), (numbered, steps)
    for (n, group), (_, title) in zip(numbered, steps):
        words = set(re.findall(r"[a-z0-9]+", title.lower().replace("_v2", " v2"))) - {"and", "the"}
        assert words & set(group.split("_")), f"{dag_id}: group phase_{n}_{group} is not step {n} '{title}'"


@pytest.mark.parametrize("dag_id", MIGRATIONS)
def test_migrations_read_as_the_runbook(dagbag, dag_id):
    groups = {t.task_group.group_id for t in dagbag.dags[dag_id].tasks if t.task_group.group_id}
    assert "phase_1_backup_and_prepare" in groups and any(g.endswith("_validation") for g in groups)
    teardowns = {t.task_id for t in dagbag.dags[dag_id].tasks if t.is_teardown}
    assert teardowns == {"summary", "release_table_lock"}


def test_rollback_undoes_in_the_runbooks_order(dagbag):
    dag = dagbag.dags["rollback_migration"]
    order = ["stop_new_pipelines", "restore_schemas", "restore_tables", "restart_old_pipelines"]
    for n, (before, after) in enumerate(zip(order, order[1:]), start=2):
        assert f"phase_{n + 1}_{after}.undo_{after}" in dag.get_task(f"phase_{n}_{before}.undo_{before}").downstream_task_ids


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


@pytest.mark.parametrize("dag_id", MIGRATIONS)
def test_mapped_tasks_are_labelled_by_what_they_act_on(dagbag, dag_id):
    from airflow.sdk.definitions.mappedoperator import MappedOperator
    from jinja2.sandbox import SandboxedEnvironment

    from confluent_migration.operators.flink import DryRunStatementOperator, StopStatementOperator
    from confluent_migration.operators.schema_registry import CheckSchemaCompatibilityOperator

    mapped = [t for t in dagbag.dags[dag_id].tasks if isinstance(t, MappedOperator) and t.operator_extra_links]
    assert mapped and all(t.map_index_template == "{{ task.map_label }}" for t in mapped), \
        [(t.task_id, t.map_index_template) for t in mapped]
    template = SandboxedEnvironment().from_string(mapped[0].map_index_template)
    for task, label in ((StopStatementOperator(task_id="s", statement_name="skus-master-v1"), "skus-master-v1"),
                        (CheckSchemaCompatibilityOperator(task_id="c", subject="skus_master-value", schema="{}"),
                         "skus_master-value"),
                        (DryRunStatementOperator(task_id="d", sql="SELECT 1", acts_on="skus_master v2 pipeline"),
                         "skus_master v2 pipeline"),
                        (CheckSchemaCompatibilityOperator(task_id="b", items=[
                            {"subject": "skus_master-value", "schema": "{}"}, {"subject": "b-value", "schema": "{}"}]),
                         "skus_master-value and 1 more"),
                        (DryRunStatementOperator(task_id="e", items=[{"sql": "SELECT 1", "acts_on": "skus_master v2"}]),
                         "skus_master v2")):
        assert template.render(task=task) == label


def test_the_steps_that_start_a_tables_new_writer_leave_it_running_when_killed(dagbag):
    """Option A's replacements and the v2 starts of B and C: where the v1 writer is stopped, stopping
    the new one on kill would leave the table without a writer (a retry adopts it instead)."""
    from confluent_migration.operators.flink import ReplaceStatementOperator, SubmitStatementOperator

    starts = {}
    for dag_id in MIGRATIONS:
        for task in dagbag.dags[dag_id].tasks:
            cls = task.operator_class
            if issubclass(cls, SubmitStatementOperator) and (
                    task.task_id.endswith("_start_v2") or issubclass(cls, ReplaceStatementOperator)):
                default = inspect.signature(cls.__init__).parameters["stop_on_kill"].default
                starts[f"{dag_id}.{task.task_id}"] = task.partial_kwargs.get("stop_on_kill", default)
    assert {name.split(".")[0] for name in starts} == set(MIGRATIONS), starts
    assert not any(starts.values()), starts
