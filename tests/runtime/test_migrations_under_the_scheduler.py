"""Migrations and their rollbacks run by Airflow's scheduler, DAG processor, triggerer and
LocalExecutor, triggered through the REST API as the UI's Trigger button does, on one live encarta
world: option A (then the health check), option B keeping the ``_v2`` names, option C last (its
rollback restarts the v1 pipelines under new names, which the other tests' checks do not look for; a
following migration finds them through the migration history).

The tests run in file order on the module's world; each starts from the v1 pipelines its
predecessor's rollback restored.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.hooks.schema_registry import SchemaRegistryHook
from confluent_migration.migration import observe
from confluent_migration.migration.plans import backup_table_name, new_statement_name, v2_table
from confluent_migration.statements import statement_name
from tests.runtime.checks import MANIFEST, assert_v1_restored, columns
from tests.support.world_checks import assert_no_change_lost

pytestmark = pytest.mark.runtime
V1 = {spec.name: spec.v1.statement for spec in MANIFEST.tables}


def test_option_a_then_the_health_check_then_rollback(runs, encarta):
    result = runs.migrate("migrate_schema_registry_evolution", steady=True)
    sql, flink, registry = FlinkSqlHook(), FlinkStatementsHook(), SchemaRegistryHook()
    for spec in MANIFEST.tables:
        assert observe.column_names(sql, spec.flink_table) == columns(spec, "v2"), spec.name
        assert flink.get_statement(spec.v1.statement).phase == "STOPPED"
        assert flink.get_statement(new_statement_name(spec, result.run_id)).phase == "RUNNING"
        assert registry.compatibility(spec.value_subject) == "FULL_TRANSITIVE"
    print(f"{assert_no_change_lost(encarta, MANIFEST)} source changes are in the final tables")

    health = runs.run("post_migration_health_check")  # each table at the version the history says: v2
    assert health.state == "success", health.why()
    report = runs.stack.client.xcom(health.dag_id, health.run_id, "check_pipeline_health")
    print(report)
    assert "HEALTHY" in report

    runs.rollback()
    assert_v1_restored(V1)
    for spec in MANIFEST.tables:
        assert len(registry.versions(spec.value_subject)) == 1
        assert registry.subject_compatibility(spec.value_subject) is None


def test_option_b_keeping_the_v2_names_then_rollback(runs, encarta):
    result = runs.migrate("migrate_zero_downtime_dual_write", final_names="v2", require_approval=False)
    assert result.task_states["phase_6_return_to_original_names.recreate_original_tables.drop_tables"] == "skipped"
    sql, flink = FlinkSqlHook(), FlinkStatementsHook()
    final = {s.name: v2_table(s.flink_table) for s in MANIFEST.tables}
    statements = flink.list_statements()
    for spec in MANIFEST.tables:
        assert observe.column_names(sql, final[spec.name]) == columns(spec, "v2"), spec.name
        assert flink.get_statement(spec.v1.statement).phase == "STOPPED"
        assert [w.phase for w in observe.writers_of(statements, final[spec.name])] == ["RUNNING"], spec.name
    print(f"{assert_no_change_lost(encarta, MANIFEST, final)} source changes are in the _v2 tables")

    runs.rollback()
    assert_v1_restored(V1)
    for table in final.values():
        assert not observe.column_names(sql, table), f"{table} was not dropped"


def test_option_c_then_rollback(runs, encarta):
    window_start = datetime.now(timezone.utc) + timedelta(seconds=60)  # the run defers until then
    result = runs.migrate("migrate_maintenance_window_recreate", window_start=window_start.isoformat())
    assert result.task_states["phase_2_wait_for_the_window.wait_for_window_start"] == "success"
    sql, flink = FlinkSqlHook(), FlinkStatementsHook()
    for spec in MANIFEST.tables:
        assert observe.column_names(sql, spec.flink_table) == columns(spec, "v2"), spec.name
        assert flink.get_statement(spec.v1.statement).phase == "STOPPED"
        assert flink.get_statement(new_statement_name(spec, result.run_id)).phase == "RUNNING"
        assert observe.row_count(sql, backup_table_name(spec.flink_table, result.run_id)) > 0
    print(f"{assert_no_change_lost(encarta, MANIFEST)} source changes are in the final tables")

    runs.rollback()
    assert_v1_restored({spec.name: statement_name(spec.name, "1-rollback", result.run_id) for spec in MANIFEST.tables})
    for spec in MANIFEST.tables:
        assert flink.find_statement(spec.v1.statement) is None  # never resumed onto the recreated topic
        assert observe.row_count(sql, spec.flink_table) > 0
