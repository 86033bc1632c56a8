"""Option B's DAG reads as its runbook: create the _v2 tables, dual write upstream first, gates before
any v1 pipeline stops, the approval in between, validation again after; its plan; and its params."""

from __future__ import annotations

import pytest

from confluent_migration.migration.dual_write import approval_needed
from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.params import ParamError, check_migration_params
from confluent_migration.migration.plans import EARLIEST, OPTION_B, plan, v2_table
from tests.dags.structure import load_dag, upstream_closure

DAG_ID = "migrate_zero_downtime_dual_write"
MANIFEST = load_manifest()


@pytest.fixture(scope="module")
def dag():
    return load_dag(DAG_ID)


def test_the_steps_follow_the_runbook_order(dag):
    before = upstream_closure
    assert "phase_1_backup_and_prepare.changes_allowed" in before(dag, "phase_3_create_v2_tables.create_v2_tables")
    assert "phase_3_create_v2_tables.check_v2_tables_absent" in before(dag, "phase_3_create_v2_tables.create_v2_tables")
    assert "phase_3_create_v2_tables.create_v2_tables" in before(dag, "phase_5_dual_write_backfill.level_0_start_v2")
    assert "phase_5_dual_write_backfill.level_0_start_v2" in before(dag, "phase_5_dual_write_backfill.level_1_start_v2")
    stop = "phase_7_switch_reads_stop_v1.stop_v1"
    assert {"phase_6_backfill_gates.wait_until_backfill_caught_up", "phase_6_backfill_gates.parity_and_timestamp_gates",
            "phase_7_switch_reads_stop_v1.approve_switch_of_readers"} <= before(dag, stop)
    assert stop in before(dag, "phase_7_validation.success_criteria")


def test_the_approval_is_human_in_the_loop_and_a_reject_fails_the_run(dag):
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    approve = dag.get_task("phase_7_switch_reads_stop_v1.approve_switch_of_readers")
    assert isinstance(approve, ApprovalOperator) and approve.fail_on_reject
    assert dag.params["require_approval"] is True and dag.params["final_names"] == "v2"
    assert dag.max_active_runs == 1 and "option-b" in dag.tags


def test_approval_is_needed_only_for_external_readers_and_when_required():
    external = {"skus_master": ["reporting-job"]}
    assert approval_needed(external, params={"require_approval": True})
    assert not approval_needed(external, params={"require_approval": False})
    assert not approval_needed({}, params={"require_approval": True})


def test_the_plan_creates_v2_tables_and_the_downstream_pipeline_reads_them():
    the_plan = plan(OPTION_B, MANIFEST, MANIFEST.names, "manual__2026-01-01")
    specs = MANIFEST.in_dependency_order()
    assert [c["table"] for c in the_plan["creates"]] == [v2_table(s.flink_table) for s in specs]
    for create, spec in zip(the_plan["creates"], specs):
        assert f"`{v2_table(spec.flink_table)}`" in create["sql"] and f"`{spec.flink_table}`" not in create["sql"]
    starts = [entry for level in the_plan["levels"] for entry in level["start"]]
    assert all(entry["properties"] == EARLIEST for entry in starts)
    master = next(e for e in starts if "skus-master" in e["statement_name"])
    for spec in specs:
        if spec.name != "skus_master":
            assert f"`{v2_table(spec.flink_table)}`" in master["sql"]
    assert the_plan["stop_v1"] == [{"statement_name": s.v1.statement} for s in specs]
    assert the_plan["final_tables"] == {s.name: v2_table(s.flink_table) for s in specs}


def test_final_names_original_is_refused_before_anything_changes():
    params = {"tables": MANIFEST.names, "dry_run": True}
    with pytest.raises(ParamError, match="final_names.*not implemented yet"):
        check_migration_params({**params, "final_names": "original"}, MANIFEST, None)
    with pytest.raises(ParamError, match="final_names"):
        check_migration_params({**params, "final_names": "v3"}, MANIFEST, None)
    assert check_migration_params({**params, "final_names": "v2"}, MANIFEST, None).options["final_names"] == "v2"
