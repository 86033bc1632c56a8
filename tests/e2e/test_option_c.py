"""Option C (maintenance window: stop, back up, drop, recreate, start) end to end under live changes,
then its rollback."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration import observe
from confluent_migration.migration.ledger import Ledger, ledger_base
from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.plans import backup_table_name, new_statement_name
from confluent_migration.statements import statement_name
from tests.support.world_checks import assert_no_change_lost, pipeline_state

pytestmark = pytest.mark.e2e
MANIFEST = load_manifest()


def test_option_c_recreates_live_tables_and_rollback_restores_v1(run_project_dag, encarta):
    database = encarta.config.database
    window_start = datetime.now(timezone.utc) + timedelta(seconds=75)  # after pre-flight's checks
    started = time.monotonic()
    result = run_project_dag("migrate_maintenance_window_recreate", dry_run=False, confirm=database,
                             window_start=window_start.isoformat())
    migrated_in = time.monotonic() - started
    summary = result.xcom("summary")
    print(summary, f"\nmigration took {migrated_in:.1f}s")
    assert result.dag_run.state == "success", summary
    assert "SUCCESS" in summary
    window = re.search(r"maintenance window \(first v1 stop to v2 caught up and gates checked\): ([0-9.]+) s",
                       summary)
    assert window and 0 < float(window.group(1)) < migrated_in, summary

    run_id = result.dag_run.run_id
    validated = [ti.state for ti in result.dag_run.get_task_instances()
                 if ti.task_id == "phase_1_backup_and_prepare.validate_v2_pipelines"]
    assert validated == ["success"] * 4 * len(MANIFEST.tables)  # v2 query, v2 DDL, backup DDL, DROP per table
    ledger = Ledger(ledger_base(), run_id)
    first_stop = min(datetime.fromisoformat(s.at) for s in ledger.steps(["statement_stopped"]))
    checks_done = max(datetime.fromisoformat(s.at) for s in ledger.steps(["preflight_state", "baseline"]))
    assert checks_done < window_start <= first_stop, (checks_done, window_start, first_stop)
    sql, flink = FlinkSqlHook(), FlinkStatementsHook()
    for spec in MANIFEST.tables:
        assert observe.column_names(sql, spec.flink_table) == [
            c.name for c in MANIFEST.definition(spec, "v2").columns], spec.name
        assert flink.get_statement(spec.v1.statement).phase == "STOPPED"
        assert flink.get_statement(new_statement_name(spec, run_id)).phase == "RUNNING"
        backup = backup_table_name(spec.flink_table, run_id)
        assert len(observe.column_names(sql, backup)) == len(MANIFEST.definition(spec, "v1").columns)
        assert observe.row_count(sql, backup) > 0, backup
    checked = assert_no_change_lost(encarta, MANIFEST)
    print(f"{checked} source changes made before and during the migration are in the final tables")

    started = time.monotonic()
    rollback = run_project_dag("rollback_migration", confirm=database, mode="planned")
    print(rollback.xcom("summary"), f"\nrollback took {time.monotonic() - started:.1f}s")
    assert rollback.dag_run.state == "success", rollback.xcom("summary")
    for spec in MANIFEST.tables:
        assert observe.column_names(sql, spec.flink_table) == [
            c.name for c in MANIFEST.definition(spec, "v1").columns], spec.name
        assert flink.find_statement(spec.v1.statement) is None  # never resumed onto the recreated topic
        restarted = flink.get_statement(statement_name(spec.name, "1-rollback", run_id))
        assert restarted.phase == "RUNNING" and restarted.sql.strip().rstrip(";") == MANIFEST.sql(spec.v1.dml).strip().rstrip(";")
        assert flink.get_statement(new_statement_name(spec, run_id)).phase == "STOPPED"
        assert observe.row_count(sql, spec.flink_table) > 0


def test_option_c_dry_run_plans_the_ddl_and_changes_nothing(run_project_dag, encarta):
    before = pipeline_state(encarta)
    result = run_project_dag("migrate_maintenance_window_recreate")  # dry_run is the default
    assert result.dag_run.state == "success"
    queries = [q["sql"] for q in result.xcom("phase_1_backup_and_prepare.plan_validate_queries")]
    assert len(queries) == 4 * len(MANIFEST.tables)  # v2 query, v2 DDL, backup DDL, DROP per table
    assert sum(q.startswith("DROP TABLE") for q in queries) == len(MANIFEST.tables)
    assert result.state("phase_2_wait_for_the_window.wait_for_window_start") == "skipped"
    assert result.state("phase_4_table_recreation.drop_tables") == "skipped"
    assert "DRY RUN" in result.xcom("summary")
    assert pipeline_state(encarta) == before
