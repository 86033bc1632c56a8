"""A failed run says which task failed, the state of each table, which tables nobody writes any more,
and which rollback to trigger (or which task to clear)."""

from __future__ import annotations

import re
import time
import uuid

from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration.outcome import unwritten_tables, what_next
from tests.plugins.conftest import unique


def ddl(sql: str) -> None:
    conn = FlinkSqlHook().get_conn()
    try:
        conn.execute_snapshot_ddl(sql)
    finally:
        conn.close()


def test_a_table_whose_writer_stopped_is_named_with_the_rollback_to_trigger(flink):
    source, table, other = unique("nw_src", "_"), unique("nw_table", "_"), unique("nw_other", "_")
    ddl(f"CREATE TABLE `{source}` (`id` INT NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED)")
    for sink in (table, other):
        ddl(f"CREATE TABLE `{sink}` (`id` INT NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED)")
    hook = FlinkStatementsHook()
    writer, still = unique("nw-writer"), unique("nw-still")
    hook.submit_statement(writer, f"INSERT INTO `{table}` SELECT id FROM `{source}`")
    hook.submit_statement(still, f"INSERT INTO `{other}` SELECT id FROM `{source}`")
    plan = {"facts": [{"table": "orders", "flink_table": table}, {"table": "customers", "flink_table": other}],
            "final_tables": {"orders": table, "customers": other}}
    run_id = f"manual__{uuid.uuid4().hex}"
    plan["facts"][0]["subjects"] = [f"{table}-value"]
    plan["facts"][1]["subjects"] = []
    assert unwritten_tables(plan) == {}
    failed = [{"task_id": "phase_3_replace_pipelines.level_1_start_v2", "map_index": 0,
               "error": "StatementConflictError: the name is taken\nmore detail", "at": "2026-01-01T00:00:00"}]
    text = what_next(plan, run_id, failed)
    assert "FAILED TASKS:\n  phase_3_replace_pipelines.level_1_start_v2[0]: StatementConflictError" in text
    assert re.search(rf"  orders: written by {writer} RUNNING; latest schema {table}-value (v\d+|none)\n", text), text
    assert text.strip().splitlines()[-1].startswith(
        "NEXT STEP: task phase_3_replace_pipelines.level_1_start_v2[0] failed (StatementConflictError: the name is "
        "taken); every table still has a running writer. Fix the cause and clear task "
        "phase_3_replace_pipelines.level_1_start_v2 (with its downstream) to resume the run, or trigger DAG "
        f"rollback_migration with migration_run={run_id}")

    hook.set_stopped(writer, True)
    for _ in range(100):
        if hook.get_statement(writer).phase == "STOPPED":
            break
        time.sleep(0.2)
    assert unwritten_tables(plan) == {"orders": {writer: "STOPPED"}}
    text = what_next(plan, run_id)
    assert f"orders: no RUNNING statement writes it (was written by {{'{writer}': 'STOPPED'}})" in text
    last = text.strip().splitlines()[-1]
    assert last.startswith("NEXT STEP: the run failed; NO WRITER for orders:") and f"migration_run={run_id}" in last
    assert "customers" not in last
