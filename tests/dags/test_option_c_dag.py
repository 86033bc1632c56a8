"""Option C's DAG reads as its runbook: checks, then the window, stops downstream first, back up before
drop before create, v2 pipelines upstream first; and its plan."""

from __future__ import annotations

import pytest

from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.plans import OPTION_C, backup_table_name
from tests.dags.structure import load_dag, upstream_closure
from tests.support.plans import plan_of

DAG_ID = "migrate_maintenance_window_recreate"


@pytest.fixture(scope="module")
def dag():
    return load_dag(DAG_ID)


def test_the_steps_follow_the_runbook_order(dag):
    before = upstream_closure
    assert "phase_1_backup_and_prepare.validate_v2_pipelines" in before(dag, "phase_2_wait_for_the_window.wait_for_window_start")
    assert "phase_2_wait_for_the_window.wait_for_window_start" in before(dag, "phase_3_stop_pipelines.level_1_stop_v1")
    assert "phase_3_stop_pipelines.level_1_stop_v1" in before(dag, "phase_3_stop_pipelines.level_0_stop_v1")  # downstream first
    assert "phase_3_stop_pipelines.level_0_stop_v1" in before(dag, "phase_4_table_recreation.back_up_tables")
    assert "phase_4_table_recreation.back_up_tables" in before(dag, "phase_4_table_recreation.drop_tables")
    assert "phase_4_table_recreation.drop_tables" in before(dag, "phase_4_table_recreation.create_v2_tables")
    assert "phase_5_start_v2_pipelines.level_0_start_v2" in before(dag, "phase_5_start_v2_pipelines.level_1_start_v2")
    assert "phase_5_start_v2_pipelines.level_1_start_v2" in before(dag, "phase_6_validation.wait_until_caught_up")


def test_the_window_wait_is_deferrable_and_offered_in_the_form(dag):
    from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync

    assert isinstance(dag.get_task("phase_2_wait_for_the_window.wait_for_window_start"), DateTimeSensorAsync)
    assert dag.params["window_start"] is None and dag.params["dry_run"] is True
    assert dag.max_active_runs == 1 and "option-c" in dag.tags


def test_the_plan_backs_up_drops_and_creates_every_table_and_validates_the_ddl():
    manifest = load_manifest()
    the_plan = plan_of(OPTION_C, manifest, manifest.names, "manual__2026-01-01")
    assert [b.table for b in the_plan.backups] == [d.table for d in the_plan.drops] \
        == [c.table for c in the_plan.recreates] == [s.flink_table for s in manifest.in_dependency_order()]
    for spec, backup in zip(manifest.in_dependency_order(), the_plan.backups):
        assert backup.backup_table == backup_table_name(spec.flink_table, "manual__2026-01-01")
        assert backup.backup_table.startswith(f"{spec.flink_table}_backup_")
        assert backup.ddl == manifest.sql(spec.v1.ddl).strip().rstrip(";")
    validated = [q.sql for q in the_plan.validate_queries]
    assert all(d.sql in validated and c.sql in validated for d, c in zip(the_plan.drops, the_plan.recreates))
    assert all(s.properties == {"sql.tables.scan.startup.mode": "earliest-offset"} for s in the_plan.starts())
    assert not hasattr(the_plan, "register_schemas") and not hasattr(the_plan, "set_compatibility")
