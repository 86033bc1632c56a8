"""Option B back to the original names (the form's default) for the four tables under the
scheduler, with both person-approval steps, then its rollback. A world of its own: the rollback
restarts the v1 pipelines under new names.

A dashboard pipeline outside the project reads ``skus_master``. When the run asks, its owner moves it (to
``skus_master_v2``, then back to the recreated ``skus_master``) and approves through the REST API,
as the UI's Approve button does. The original table is only dropped once nobody reads it.
"""

from __future__ import annotations

import re

import pytest

from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration import observe
from confluent_migration.migration.plans import backup_table_name, new_statement_name, v2_table
from confluent_migration.migration.recreate import run_bounded
from confluent_migration.migration.rollback import wait_for_phase
from confluent_migration.statements import statement_name
from tests.runtime.checks import MANIFEST, assert_v1_restored, columns
from tests.support.world_checks import assert_no_change_lost

pytestmark = pytest.mark.runtime
APPROVAL = "approve_switch_of_readers"


class DashboardOwner:
    """A person whose dashboard pipeline reads ``id`` and ``product_id`` of a table: asked to move
    it, they stop it, start it on the other table, then approve."""

    def __init__(self, table: str) -> None:
        self.table, self.flink, self.dashboards = table, FlinkStatementsHook(), []
        self.sink = table.rsplit(".", 1)[0] + ".ops_dashboard"
        run_bounded(self.flink, "ops-dashboard-table", f"CREATE TABLE `{self.sink}` (`id` BIGINT NOT NULL, "
                                                       "`product_id` BIGINT, PRIMARY KEY (`id`) NOT ENFORCED)")
        self.start(table)

    @property
    def current(self) -> str:
        return self.dashboards[-1][0]

    def start(self, table: str) -> None:
        name = f"ops-dashboard-{len(self.dashboards)}"
        self.flink.submit_statement(name, f"INSERT INTO `{self.sink}` SELECT id, product_id FROM `{table}`")
        wait_for_phase(self.flink, name, {"RUNNING"}, 120)
        self.dashboards.append((name, table))

    def stop(self) -> None:
        self.flink.set_stopped(self.current, True)
        wait_for_phase(self.flink, self.current, {"STOPPED"}, 120)

    def __call__(self, request: dict) -> str:
        named = [name for name, _ in self.dashboards if name in request["body"]]
        assert named, request  # the run names the reader it asks to move
        if named == [self.current]:  # else asked again after a retry: already moved
            self.stop()
            self.start(v2_table(self.table) if self.dashboards[-1][1] == self.table else self.table)
        return "Approve"


def test_option_b_to_the_original_names_with_approvals_through_rest_then_rollback(runs, encarta):
    owner = DashboardOwner(MANIFEST.table("skus_master").flink_table)
    result = runs.migrate("migrate_zero_downtime_dual_write", approve=owner, require_approval=True)
    approvals = sorted(t for t in result.task_states if t.endswith(APPROVAL))
    assert len(approvals) == 2 and all(result.task_states[a] == "success" for a in approvals), result.task_states
    assert {a["task_id"] for a in result.answered} == set(approvals)  # (twice if a race retried one)
    rebuilt = re.search(r"first v1 table dropped to _v2 retired: ([0-9.]+) s", runs.summary(result))
    assert rebuilt and float(rebuilt.group(1)) > 0

    sql, flink = FlinkSqlHook(), FlinkStatementsHook()
    statements = flink.list_statements()
    for spec in MANIFEST.tables:
        assert observe.column_names(sql, spec.flink_table) == columns(spec, "v2"), spec.name
        assert not observe.column_names(sql, v2_table(spec.flink_table)), "the interim _v2 table was not retired"
        assert flink.get_statement(new_statement_name(spec, result.run_id)).phase == "STOPPED"  # the interim writer
        assert flink.get_statement(spec.v1.statement).phase == "STOPPED"
        writers = observe.writers_of(statements, spec.flink_table)
        assert [(w.name, w.phase) for w in writers] == [(statement_name(spec.name, "2-final", result.run_id),
                                                         "RUNNING")]
        backup = backup_table_name(spec.flink_table, result.run_id)
        assert len(observe.column_names(sql, backup)) == len(columns(spec, "v1"))
        assert observe.row_count(sql, backup) > 0, backup
    # every dashboard ran until its owner moved it: none was failed by a dropped table
    assert [(flink.get_statement(name).phase, table) for name, table in owner.dashboards] == [
        ("STOPPED", owner.table), ("STOPPED", v2_table(owner.table)), ("RUNNING", owner.table)]
    print(f"{assert_no_change_lost(encarta, MANIFEST)} source changes are in the original-named tables")

    owner.stop()  # the rollback recreates skus_master too: its owner moves the dashboard away first
    runs.rollback()
    assert_v1_restored({spec.name: statement_name(spec.name, "1-rollback", result.run_id) for spec in MANIFEST.tables})
    for spec in MANIFEST.tables:
        assert flink.find_statement(spec.v1.statement) is None  # never resumed onto the recreated topic
        assert flink.get_statement(statement_name(spec.name, "2-final", result.run_id)).phase == "STOPPED"
        assert observe.row_count(sql, spec.flink_table) > 0
