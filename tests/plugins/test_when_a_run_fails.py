"""When a run fails: no level loses its writer after an upstream v2 failed, and the run says which
task failed, the state of each table, which tables nobody writes any more, and which rollback to
trigger (or which task to clear)."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import replace

from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.errors import StatementFailedError
from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.options import upstream_running
from confluent_migration.migration.outcome import unwritten_tables, what_next
from confluent_migration.migration.plan_types import StatementStart, StopStartLevel
from tests.plugins.conftest import ddl, unique
from tests.support.plans import plan_of

MANIFEST = load_manifest()


def wait_for(hook: FlinkStatementsHook, name: str, phase: str) -> None:
    for _ in range(150):
        if hook.get_statement(name).phase == phase:
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} never reached {phase}: {hook.get_statement(name).phase}")


def test_a_level_is_not_cut_over_while_an_upstream_v2_statement_failed_after_running(flink):
    source, sink = unique("up_nullable", "_"), unique("up_not_null", "_")
    ddl(f"CREATE TABLE `{source}` (`id` INT NOT NULL, `label` STRING, PRIMARY KEY (`id`) NOT ENFORCED)")
    ddl(f"CREATE TABLE `{sink}` (`id` INT NOT NULL, `label` STRING NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED)")
    ddl(f"INSERT INTO `{source}` VALUES (1, 'a')")
    hook, name = FlinkStatementsHook(), unique("up-v2")
    hook.submit_statement(name, f"INSERT INTO `{sink}` SELECT id, label FROM `{source}`")
    wait_for(hook, name, "RUNNING")
    start = StatementStart(statement_name=name, sql="", properties={})
    plan = replace(plan_of("A", MANIFEST, MANIFEST.names), levels=(StopStartLevel(stop=(), start=(start,)),
                                                                    StopStartLevel(stop=(), start=()))).to_xcom()
    assert upstream_running(plan, 1) == [name]
    assert upstream_running(plan, 0) == []

    ddl(f"INSERT INTO `{source}` VALUES (2, CAST(NULL AS STRING))")  # NULL into a NOT NULL column
    wait_for(hook, name, "FAILED")
    try:
        upstream_running(plan, 1)
    except StatementFailedError as failed:
        assert f"Flink statement '{name}' is FAILED" in str(failed)
        assert "Level 1's v1 statements are not stopped" in str(failed)
    else:
        raise AssertionError("a FAILED upstream statement let the next level cut over")


def test_a_table_whose_writer_stopped_is_named_with_the_rollback_to_trigger(flink):
    source, table, other = unique("nw_src", "_"), unique("nw_table", "_"), unique("nw_other", "_")
    ddl(f"CREATE TABLE `{source}` (`id` INT NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED)")
    for sink in (table, other):
        ddl(f"CREATE TABLE `{sink}` (`id` INT NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED)")
    hook = FlinkStatementsHook()
    writer, still = unique("nw-writer"), unique("nw-still")
    hook.submit_statement(writer, f"INSERT INTO `{table}` SELECT id FROM `{source}`")
    hook.submit_statement(still, f"INSERT INTO `{other}` SELECT id FROM `{source}`")
    option_a = plan_of("A", MANIFEST, MANIFEST.names[:2])  # two tables, renamed to this test's own
    first, second = option_a.facts
    plan = replace(option_a, tables=("orders", "customers"), final_tables={"orders": table, "customers": other},
                   facts=(replace(first, table="orders", flink_table=table, subjects=(f"{table}-value",)),
                          replace(second, table="customers", flink_table=other, subjects=())))
    run_id = f"manual__{uuid.uuid4().hex}"
    assert unwritten_tables(plan) == {}
    failed = [{"task_id": "phase_3_replace_pipelines.level_1.start_v2", "map_index": 0,
               "error": "StatementConflictError: the name is taken\nmore detail", "at": "2026-01-01T00:00:00"}]
    text = what_next(plan, run_id, failed)
    assert "FAILED TASKS:\n  phase_3_replace_pipelines.level_1.start_v2[0]: StatementConflictError" in text
    assert re.search(rf"  orders: written by {writer} RUNNING; latest schema {table}-value (v\d+|none)\n", text), text
    assert text.strip().splitlines()[-1].startswith(
        "NEXT STEP: task phase_3_replace_pipelines.level_1.start_v2[0] failed (StatementConflictError: the name is "
        "taken); every table still has a running writer. Fix the cause and clear task "
        "phase_3_replace_pipelines.level_1.start_v2 (with its downstream) to resume the run, or trigger DAG "
        f"rollback_migration with migration_run={run_id}")

    hook.set_stopped(writer, True)
    wait_for(hook, writer, "STOPPED")
    assert unwritten_tables(plan) == {"orders": {writer: "STOPPED"}}
    text = what_next(plan, run_id)
    assert f"orders: no RUNNING statement writes it (was written by {{'{writer}': 'STOPPED'}})" in text
    last = text.strip().splitlines()[-1]
    assert last.startswith("NEXT STEP: the run failed; NO WRITER for orders:") and f"migration_run={run_id}" in last
    assert "customers" not in last
