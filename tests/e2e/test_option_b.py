"""Option B (zero-downtime dual write) back to the original names for all four tables under live
changes, then its rollback, and its dry run, with ``dag.test()``. ``final_names=v2``, the approvals
answered through REST and options A and C run under the real scheduler in the runtime tier."""

from __future__ import annotations

import re
import time

import pytest

from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration import observe
from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.plans import backup_table_name, new_statement_name, v2_table
from confluent_migration.statements import statement_name
from tests.support.world_checks import assert_no_change_lost, pipeline_state

pytestmark = pytest.mark.e2e
MANIFEST = load_manifest()


def columns(spec, version: str) -> list[str]:
    return [c.name for c in MANIFEST.definition(spec, version).columns]


def migrate(run_project_dag, database: str, **params):
    started = time.monotonic()
    result = run_project_dag("migrate_zero_downtime_dual_write", dry_run=False, confirm=database,
                             **{"require_approval": False, **params})
    summary = result.xcom("summary")
    print(summary, f"\nmigration took {time.monotonic() - started:.1f}s")
    assert result.dag_run.state == "success", summary
    assert "SUCCESS" in summary
    return result


def roll_back(run_project_dag, database: str):
    started = time.monotonic()
    rollback = run_project_dag("rollback_migration", confirm=database, mode="planned")
    print(rollback.xcom("summary"), f"\nrollback took {time.monotonic() - started:.1f}s")
    assert rollback.dag_run.state == "success", rollback.xcom("summary")
    return rollback


def test_option_b_returns_to_the_original_names_live_and_rollback_restores_v1(run_project_dag, encarta):
    database = encarta.config.database
    sql, flink = FlinkSqlHook(), FlinkStatementsHook()
    result = migrate(run_project_dag, database)  # final_names=original is the default
    run_id = result.dag_run.run_id
    assert result.state("phase_6_return_to_original_names.original_names_chosen") == "success"
    rebuilt = re.search(r"first v1 table dropped to _v2 retired: ([0-9.]+) s", result.xcom("summary"))
    assert rebuilt and float(rebuilt.group(1)) > 0, result.xcom("summary")

    statements = flink.list_statements()
    for spec in MANIFEST.tables:
        assert observe.column_names(sql, spec.flink_table) == columns(spec, "v2"), spec.name
        assert not observe.column_names(sql, v2_table(spec.flink_table)), "the interim _v2 table was not retired"
        assert flink.get_statement(new_statement_name(spec, run_id)).phase == "STOPPED"  # the interim writer
        assert flink.get_statement(spec.v1.statement).phase == "STOPPED"
        writers = observe.writers_of(statements, spec.flink_table)
        assert [(w.name, w.phase) for w in writers] == [(statement_name(spec.name, "2-final", run_id), "RUNNING")]
        backup = backup_table_name(spec.flink_table, run_id)
        assert len(observe.column_names(sql, backup)) == len(columns(spec, "v1"))
        assert observe.row_count(sql, backup) > 0, backup
    checked = assert_no_change_lost(encarta, MANIFEST)
    print(f"{checked} source changes made before and during the migration are in the original-named tables")

    roll_back(run_project_dag, database)
    for spec in MANIFEST.tables:
        assert observe.column_names(sql, spec.flink_table) == columns(spec, "v1"), spec.name
        assert flink.find_statement(spec.v1.statement) is None  # never resumed onto the recreated topic
        restarted = flink.get_statement(statement_name(spec.name, "1-rollback", run_id))
        assert restarted.phase == "RUNNING"
        assert flink.get_statement(statement_name(spec.name, "2-final", run_id)).phase == "STOPPED"
        assert observe.row_count(sql, spec.flink_table) > 0


def test_option_b_dry_run_changes_nothing(run_project_dag, encarta):
    before = pipeline_state(encarta)
    dry = run_project_dag("migrate_zero_downtime_dual_write")  # dry_run is the default
    assert dry.dag_run.state == "success"
    assert dry.state("phase_2_create_v2_tables.create_v2_tables") == "skipped"
    assert dry.state("phase_6_return_to_original_names.recreate_original_tables.drop_tables") == "skipped"
    assert "DRY RUN" in dry.xcom("summary")
    assert pipeline_state(encarta) == before
