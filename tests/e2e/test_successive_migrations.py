"""Successive migrations of the encarta tables with option A: v1 -> v2, then v2 -> v3 (a nullable
``source_system`` column, from a copy of the manifest with a third version), each run finding the
statement writing each table now from the history; then the v2 -> v3 run rolled back to v2."""

from __future__ import annotations

import pytest

from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration import history, observe
from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.plans import new_statement_name
from tests.support.chain import ADDED, write_v3_manifest

pytestmark = pytest.mark.e2e
OPTION_A = "migrate_schema_registry_evolution"


def test_the_tables_move_v1_to_v2_then_v2_to_v3_and_the_history_says_which_run_moved_them(
        run_project_dag, encarta, tmp_path):
    manifest = load_manifest(write_v3_manifest(tmp_path / "include"))
    common = {"manifest": str(manifest.path), "dry_run": False, "confirm": encarta.config.database,
              "criteria_window_minutes": 1}
    first = run_project_dag(OPTION_A, target_version="v2", **common)
    assert first.dag_run.state == "success", first.why()
    assert {p.version for p in history.positions(manifest).values()} == {"v2"}

    again = run_project_dag(OPTION_A, target_version="v2", **common)
    assert again.dag_run.state == "failed" and again.failed_tasks() == [
        "phase_1_backup_and_prepare.check_params_and_plan[-1]"], again.why()
    assert f"table skus_uoms_agg is already at v2 (run {first.dag_run.run_id}" in again.output, again.output

    second = run_project_dag(OPTION_A, target_version="", **common)  # empty: each table's newest, v3
    assert second.dag_run.state == "success", second.why()
    flink, sql = FlinkStatementsHook(), FlinkSqlHook()
    for spec in manifest.tables:
        assert flink.get_statement(new_statement_name(spec, second.dag_run.run_id, "v3")).phase == "RUNNING"
        assert flink.get_statement(new_statement_name(spec, first.dag_run.run_id, "v2")).phase == "STOPPED"
        assert flink.get_statement(spec.v1.statement).phase == "STOPPED"
        assert observe.column_names(sql, spec.flink_table)[-1] == ADDED, spec.name
    where = history.positions(manifest)
    assert {t: (p.version, p.run_id, p.outcome) for t, p in where.items()} == {
        s.name: ("v3", second.dag_run.run_id, "success") for s in manifest.tables}
    table = history.render(history.info(manifest))
    print(table)
    assert table.count(second.dag_run.run_id) == len(manifest.tables) and table.count(" current ") == 4, table

    rollback = run_project_dag("rollback_migration", confirm=encarta.config.database)  # the latest migration
    assert rollback.dag_run.state == "success", rollback.why()
    for spec in manifest.tables:
        assert flink.get_statement(new_statement_name(spec, first.dag_run.run_id, "v2")).phase == "RUNNING"
        assert flink.get_statement(new_statement_name(spec, second.dag_run.run_id, "v3")).phase == "STOPPED"
        assert flink.get_statement(spec.v1.statement).phase == "STOPPED"
    assert {(p.version, p.run_id) for p in history.positions(manifest).values()} == {("v2", first.dag_run.run_id)}
