"""Option A (Schema Registry evolution) end to end under live changes, then its rollback."""

from __future__ import annotations

import time

import pytest

from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.hooks.schema_registry import SchemaRegistryHook
from confluent_migration.migration.manifest import load_manifest
from tests.support.world_checks import assert_no_change_lost

pytestmark = pytest.mark.e2e
MANIFEST = load_manifest()


def test_option_a_migrates_live_tables_in_place_and_rollback_restores_v1(run_project_dag, encarta):
    database = encarta.config.database
    started = time.monotonic()
    result = run_project_dag("migrate_schema_registry_evolution", dry_run=False, confirm=database)
    migrated_in = time.monotonic() - started
    assert result.dag_run.state == "success", result.dag_run.state
    summary = result.xcom("summary")
    print(summary, f"\nmigration took {migrated_in:.1f}s")
    assert "SUCCESS" in summary

    sql, flink, registry = FlinkSqlHook(), FlinkStatementsHook(), SchemaRegistryHook()
    for spec in MANIFEST.tables:
        columns = [r[0] for r in sql.get_records(
            "SELECT `COLUMN_NAME` FROM `INFORMATION_SCHEMA`.`COLUMNS` "
            f"WHERE `TABLE_NAME` = '{spec.flink_table}'")]
        assert len(columns) == len(MANIFEST.definition(spec, "v2").columns)
        assert flink.get_statement(spec.v1.statement).phase == "STOPPED"
        assert registry.compatibility(spec.value_subject) == "FULL_TRANSITIVE"
    checked = assert_no_change_lost(encarta, MANIFEST)
    print(f"{checked} source changes made before and during the migration are in the final tables")

    started = time.monotonic()
    rollback = run_project_dag("rollback_migration", confirm=database, mode="planned")
    print(rollback.xcom("summary"), f"\nrollback took {time.monotonic() - started:.1f}s")
    assert rollback.dag_run.state == "success"
    for spec in MANIFEST.tables:
        assert flink.get_statement(spec.v1.statement).phase == "RUNNING"
        assert len(registry.versions(spec.value_subject)) == 1
        assert registry.subject_compatibility(spec.value_subject) is None
