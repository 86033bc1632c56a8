"""Option B's DAG reads as its runbook: create the _v2 tables, dual write upstream first, gates before
any v1 pipeline stops, the approval in between, the return to the original names behind verified
backups, validation again after; its plan for both final names; and its params."""

from __future__ import annotations

import pendulum
import pytest

from confluent_migration.migration.dual_write import approval_needed
from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.params import ParamError, check_migration_params
from confluent_migration.migration.plans import EARLIEST, OPTION_B, v2_table
from tests.dags.structure import load_dag, upstream_closure
from tests.support.plans import plan_of

DAG_ID = "migrate_zero_downtime_dual_write"
MANIFEST = load_manifest()


@pytest.fixture(scope="module")
def dag():
    return load_dag(DAG_ID)


def test_the_steps_follow_the_runbook_order(dag):
    before = upstream_closure
    assert "phase_1_backup_and_prepare.changes_allowed" in before(dag, "phase_2_create_v2_tables.create_v2_tables")
    assert "phase_2_create_v2_tables.check_v2_tables_absent" in before(dag, "phase_2_create_v2_tables.create_v2_tables")
    assert "phase_2_create_v2_tables.create_v2_tables" in before(dag, "phase_3_dual_write_backfill.level_0_start_v2")
    assert "phase_3_dual_write_backfill.level_0_start_v2" in before(dag, "phase_3_dual_write_backfill.level_1_start_v2")
    stop = "phase_5_switch_reads_stop_v1.stop_v1"
    assert {"phase_4_backfill_gates.wait_until_backfill_caught_up", "phase_4_backfill_gates.parity_and_timestamp_gates",
            "phase_5_switch_reads_stop_v1.approve_switch_of_readers"} <= before(dag, stop)
    back = "phase_6_return_to_original_names"
    assert {stop, f"{back}.original_names_chosen"} <= before(dag, f"{back}.recreate_original_tables.back_up_tables")
    assert f"{back}.recreate_original_tables.back_up_tables" in before(
        dag, f"{back}.recreate_original_tables.drop_tables")
    assert f"{back}.recreate_original_tables.create_v2_tables" in before(
        dag, f"{back}.fill_original_tables.level_0_start_v2")
    drop_v2 = f"{back}.move_readers_back.drop_v2_tables"
    assert {f"{back}.fill_original_tables.wait_until_caught_up", f"{back}.fill_original_tables.original_tables_gates",
            f"{back}.move_readers_back.approve_switch_of_readers", f"{back}.move_readers_back.stop_dual_write"
            } <= before(dag, drop_v2)
    assert drop_v2 in before(dag, "phase_7_validation.success_criteria")


def test_the_approval_is_human_in_the_loop_and_a_reject_fails_the_run_without_a_retry(dag):
    from airflow.providers.standard.operators.hitl import ApprovalOperator
    from airflow.sdk.exceptions import AirflowFailException

    approve = dag.get_task("phase_5_switch_reads_stop_v1.approve_switch_of_readers")
    assert isinstance(approve, ApprovalOperator) and approve.fail_on_reject
    assert approve.retries > 0  # Airflow's stale-exit race fails a resumed approval: it asks again

    def answer(option: str) -> dict:
        return {"chosen_options": [option], "params_input": {}, "responded_at": pendulum.now("UTC"),
                "responded_by_user": {"id": "ops", "name": "ops"}}

    assert approve.execute_complete({}, answer("Approve"))["chosen_options"] == ["Approve"]
    with pytest.raises(AirflowFailException, match="a person rejected 'Switch reads to the _v2 tables"):
        approve.execute_complete({}, answer("Reject"))
    assert dag.params["require_approval"] is True and dag.params["final_names"] == "original"
    assert dag.max_active_runs == 1 and "option-b" in dag.tags


def test_approval_is_needed_only_for_external_readers_and_when_required():
    external = {"skus_master": ["reporting-job"]}
    assert approval_needed(external, params={"require_approval": True})
    assert not approval_needed(external, params={"require_approval": False})
    assert not approval_needed({}, params={"require_approval": True})


def test_the_plan_creates_v2_tables_and_the_downstream_pipeline_reads_them():
    the_plan = plan_of(OPTION_B, MANIFEST, MANIFEST.names, "manual__2026-01-01", final_names="v2")
    specs = MANIFEST.in_dependency_order()
    assert [c.table for c in the_plan.creates] == [v2_table(s.flink_table) for s in specs]
    for create, spec in zip(the_plan.creates, specs):
        assert f"`{v2_table(spec.flink_table)}`" in create.sql and f"`{spec.flink_table}`" not in create.sql
    starts = [entry for level in the_plan.levels for entry in level.start]
    assert all(entry.properties == EARLIEST for entry in starts)
    master = next(e for e in starts if "skus-master" in e.statement_name)
    for spec in specs:
        if spec.name != "skus_master":
            assert f"`{v2_table(spec.flink_table)}`" in master.sql
    assert [s.statement_name for s in the_plan.stop_v1] == [s.v1.statement for s in specs]
    assert the_plan.final_tables == the_plan.dual_write_tables == {s.name: v2_table(s.flink_table) for s in specs}
    assert the_plan.new_statements == the_plan.dual_write_statements
    assert not any((the_plan.backups, the_plan.drops, the_plan.recreates, the_plan.retire_statements,
                    the_plan.retire_tables))
    assert len(the_plan.return_levels) == len(the_plan.levels) and not any(l.start for l in the_plan.return_levels)


def test_the_plan_for_original_names_recreates_each_v1_table_behind_a_backup_and_retires_v2():
    the_plan = plan_of(OPTION_B, MANIFEST, MANIFEST.names, "manual__2026-01-01")  # final_names=original: default
    specs = MANIFEST.in_dependency_order()
    originals = [s.flink_table for s in specs]
    assert [b.table for b in the_plan.backups] == [d.table for d in the_plan.drops] \
        == [c.table for c in the_plan.recreates] == originals
    for spec, create in zip(specs, the_plan.recreates):
        assert create.sql == MANIFEST.sql(spec.v2.ddl).strip().rstrip(";")
    finals = [e for level in the_plan.return_levels for e in level.start]
    assert tuple(e.statement_name for e in finals) == the_plan.new_statements
    assert not set(the_plan.new_statements) & set(the_plan.dual_write_statements)
    master = next(e for e in finals if "skus-master" in e.statement_name)
    assert "_v2`" not in master.sql and all(e.properties == EARLIEST for e in finals)
    assert the_plan.final_tables == {s.name: s.flink_table for s in specs}
    assert tuple(r.statement_name for r in the_plan.retire_statements) == the_plan.dual_write_statements
    assert [r.sql for r in the_plan.retire_tables] == [f"DROP TABLE `{v2_table(t)}`" for t in originals]
    names = [c.statement_name for c in the_plan.creates + the_plan.recreates + the_plan.retire_tables]
    assert len(set(names)) == len(names)
    validated = [q.sql for q in the_plan.validate_queries]
    assert all(d.sql in validated and c.sql in validated for d, c in zip(the_plan.drops, the_plan.recreates))


def test_final_names_is_checked_before_anything_changes():
    params = {"tables": MANIFEST.names, "dry_run": True}
    with pytest.raises(ParamError, match="final_names"):
        check_migration_params({**params, "final_names": "v3"}, MANIFEST, None)
    for value in ("original", "v2"):
        assert check_migration_params({**params, "final_names": value}, MANIFEST, None).options["final_names"] == value
