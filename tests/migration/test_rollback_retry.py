"""Rollback undos are safe to retry: each looks at the current state first."""

from __future__ import annotations

import uuid

from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration import observe
from confluent_migration.migration.ledger import DONE, Ledger
from confluent_migration.migration.recreate import run_bounded
from confluent_migration.migration.rollback import TABLE_BACKED_UP, TABLE_DROPPED, Undoer, short_name
from confluent_migration.statements import statement_name



def snapshot_ddl(*statements: str) -> None:
    conn = FlinkSqlHook().get_conn()
    try:
        for sql in statements:
            conn.execute_snapshot_ddl(sql)
    finally:
        conn.close()


def test_a_restore_retried_after_the_recreate_still_refills_the_table(airflow_connections, base):
    table = f"rb_retry_{uuid.uuid4().hex[:8]}"
    ddl = f"CREATE TABLE `{table}` (`id` INT NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED)"
    backup = f"{table}_backup"
    snapshot_ddl(ddl.replace(table, backup), f"INSERT INTO `{backup}` VALUES (1), (2), (3)")
    target = Ledger(base, f"manual__{uuid.uuid4().hex[:8]}")
    target.start(dag_id="migrate_maintenance_window_recreate", option="C", tables=[table], params={"dry_run": False})
    target.record(TABLE_BACKED_UP, DONE, task_id="back_up_tables", map_index=0,
                  data={"table": table, "backup_table": backup, "ddl": ddl},
                  result={"table": table, "backup_table": backup, "rows": 3})
    target.record(TABLE_DROPPED, DONE, task_id="drop_tables", map_index=0, data={"table": table})
    flink = FlinkStatementsHook()
    # the first try of the rollback recreated the table, then its worker was killed before the refill
    run_bounded(flink, statement_name(short_name(table), "1-restore", target.run_id), ddl, timeout=60)
    assert observe.row_count(FlinkSqlHook(), table) == 0

    undoer = Undoer(target, Ledger(base, "rollback__1"), task_id="undo_restore_tables", flink=flink, wait_seconds=60)
    [outcome] = undoer.undo_group("restore_tables")
    assert outcome["action"] == "recreated (v1 DDL) and refilled with 3 rows"
    assert observe.row_count(FlinkSqlHook(), table) == 3
