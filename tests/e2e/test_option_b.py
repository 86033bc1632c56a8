"""Option B (zero-downtime dual write) end to end under live changes, then its rollback."""

from __future__ import annotations

import time

import pytest

from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration import observe
from confluent_migration.migration.plans import v2_table
from confluent_migration.migration.manifest import load_manifest
from tests.e2e.conftest import assert_no_change_lost, pipeline_state

pytestmark = pytest.mark.e2e
MANIFEST = load_manifest()


def test_option_b_dual_writes_v2_tables_live_and_rollback_resumes_v1(run_project_dag, encarta):
    database = encarta.config.database
    sql, flink = FlinkSqlHook(), FlinkStatementsHook()
    rows_before = {s.name: observe.row_count(sql, s.flink_table) for s in MANIFEST.tables}
    started = time.monotonic()
    result = run_project_dag("migrate_zero_downtime_dual_write", dry_run=False, confirm=database,
                             require_approval=False)
    migrated_in = time.monotonic() - started
    assert result.dag_run.state == "success", result.dag_run.state
    summary = result.xcom("summary")
    print(summary, f"\nmigration took {migrated_in:.1f}s")
    assert "SUCCESS" in summary

    final = {s.name: v2_table(s.flink_table) for s in MANIFEST.tables}
    for spec in MANIFEST.tables:
        assert len(observe.column_names(sql, final[spec.name])) == len(MANIFEST.definition(spec, "v2").columns)
        assert len(observe.column_names(sql, spec.flink_table)) == len(MANIFEST.definition(spec, "v1").columns)
        assert flink.get_statement(spec.v1.statement).phase == "STOPPED"
        assert observe.row_count(sql, spec.flink_table) >= rows_before[spec.name], f"{spec.name} lost rows"
        writers = observe.writers_of(flink.list_statements(), final[spec.name])
        assert [w.phase for w in writers] == ["RUNNING"], (spec.name, writers)
    checked = assert_no_change_lost(encarta, MANIFEST, final)
    print(f"{checked} source changes made before and during the migration are in the _v2 tables")

    started = time.monotonic()
    rollback = run_project_dag("rollback_migration", confirm=database, mode="planned")
    print(rollback.xcom("summary"), f"\nrollback took {time.monotonic() - started:.1f}s")
    statements = flink.list_statements()
    for spec in MANIFEST.tables:  # the first undo group stops the v2 statements
        assert not observe.writers_of(statements, final[spec.name]), f"{final[spec.name]} is still written"
    if rollback.dag_run.state != "success":
        assert observe.column_names(sql, final[MANIFEST.tables[0].name]), "a _v2 table was dropped, yet it failed"
        pytest.xfail("rollback.py's undo of table_created refuses a table the run did not drop first (option C's "
                     "guard): option B's _v2 tables are not dropped and the v1 statements are not resumed")
    for spec in MANIFEST.tables:
        assert flink.get_statement(spec.v1.statement).phase == "RUNNING"
        assert not observe.column_names(sql, final[spec.name]), f"{final[spec.name]} was not dropped"


def test_option_b_dry_run_and_final_names_original_change_nothing(run_project_dag, encarta):
    before = pipeline_state(encarta)
    dry = run_project_dag("migrate_zero_downtime_dual_write")  # dry_run is the default
    assert dry.dag_run.state == "success"
    assert dry.state("phase_3_create_v2_tables.create_v2_tables") == "skipped"
    assert "DRY RUN" in dry.xcom("summary")
    refused = run_project_dag("migrate_zero_downtime_dual_write", dry_run=False, confirm=encarta.config.database,
                              final_names="original")
    assert refused.dag_run.state == "failed"
    assert refused.state("phase_1_backup_and_prepare.check_params_and_plan") == "failed"
    assert pipeline_state(encarta) == before
