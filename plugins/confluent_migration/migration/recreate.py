"""Option C's own phases (maintenance window): wait for the window, stop, back up, drop, create, start.

Ledger kinds (what rollback undoes, in reverse; see ``rollback.py``):

- ``statement_stopped`` (statement_name) -> the v1 pipeline starts again from the earliest offset
  under a new name (its table was recreated, so its savepoint no longer fits the topic);
- ``table_backed_up`` (table, backup_table, ddl; result ``rows``) -> nothing (the backup is kept;
  rollback refills the dropped table from it);
- ``table_dropped`` (table) -> recreated from the recorded v1 DDL and refilled from its backup;
- ``table_created`` (table) -> dropped;
- ``statement_created`` (statement_name) -> stopped.

The pipelines are stopped **downstream first** (``skus_master`` before the aggregates it reads):
no running statement ever reads from a stopped producer (an idle input holds back watermarks and
looks stale to the health check), and the order mirrors the start order, upstream first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import Context, TaskGroup
from airflow.sdk.exceptions import AirflowFailException

from confluent_migration.migration.building import AFTER_EMPTY_LEVELS, MigrationRun, plan_of, planned, poll_seconds
from confluent_migration.migration.dag_defaults import call
from confluent_migration.migration.ledger import (
    TABLE_BACKED_UP,
    TABLE_CREATED,
    TABLE_DROPPED,
    ledger_for,
    recorded_items,
)
from confluent_migration.migration.options import start_levels, stop_statements
from confluent_migration.operators.flink import FlinkStatementOperator, SubmitStatementOperator
from confluent_migration.statements import COMPLETED

if TYPE_CHECKING:
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook

SNAPSHOT = {"sql.snapshot.mode": "now"}


class BackupError(RuntimeError):
    """A table's backup does not hold what the table held, or a drop has no verified backup."""


class StillReadError(AirflowFailException):
    """A table about to be dropped is still read by a live statement: dropping it would fail that reader."""


def run_bounded(hook: FlinkStatementsHook, name: str, sql: str, properties: dict[str, str] | None = None,
                timeout: float = 3600) -> None:
    """Submit a bounded statement (DDL, snapshot INSERT) under a deterministic name; wait until COMPLETED."""
    from confluent_migration.migration.rollback import wait_for_phase

    hook.submit_statement(name, sql, properties)
    wait_for_phase(hook, name, {COMPLETED}, timeout)


def copy_rows(hook: FlinkStatementsHook, name: str, source: str, target: str, timeout: float = 3600) -> int:
    """Copy every row of ``source`` into ``target`` with a bounded snapshot INSERT; counts verified."""
    from confluent_migration.hooks.flink_sql import FlinkSqlHook
    from confluent_migration.migration import observe

    run_bounded(hook, name, f"INSERT INTO `{target}` SELECT * FROM `{source}`", SNAPSHOT, timeout)
    sql = FlinkSqlHook()
    counted = observe.counts(sql, [observe.Count(source), observe.Count(target)])  # one snapshot for both
    expected, copied = counted[observe.Count(source)], counted[observe.Count(target)]
    if copied != expected:
        raise BackupError(f"copying `{source}` into `{target}` (statement '{name}') gave {copied} rows, the "
                          f"source holds {expected}: look at the statement, then re-run the task")
    return copied


class BackUpTableOperator(FlinkStatementOperator):
    """Back a table up into ``backup_table`` (its own DDL under the backup's name), counts verified.

    CTAS would run as a continuous statement, so the backup is a CREATE TABLE plus a bounded
    ``INSERT INTO backup SELECT * FROM table`` in snapshot mode. A re-run finds its statements
    (deterministic names) and upserts the same keys again.

    :param table: the table (its writers stopped). :param backup_table: where to back it up.
    :param ddl: the table's own DDL. :param create_statement: / ``copy_statement``: statement names.
    :param items: instead, a batch of those five each, backed up at once.
    :return: ``{"table", "backup_table", "rows"}`` (of a batch, the list).
    """

    template_fields: Sequence[str] = ("table", "backup_table", "ddl", "create_statement", "copy_statement", "items")
    item_fields = ("table", "backup_table", "ddl", "create_statement", "copy_statement")
    takes_items = True

    def __init__(self, *, table: str | None = None, backup_table: str | None = None, ddl: str | None = None,
                 create_statement: str | None = None, copy_statement: str | None = None, **kwargs: Any) -> None:
        super().__init__(deferrable=False, **kwargs)
        self.table, self.backup_table, self.ddl = table, backup_table, ddl
        self.create_statement, self.copy_statement = create_statement, copy_statement
        self.require_own_fields(*self.item_fields)

    def act(self, context: Context, item: dict[str, Any]) -> dict[str, Any]:
        from confluent_migration.migration.plans import retarget

        table, backup_table = item["table"], item["backup_table"]
        run_bounded(self.hook, item["create_statement"], retarget(item["ddl"], {table: backup_table}),
                    timeout=self.wait_timeout)
        rows = copy_rows(self.hook, item["copy_statement"], table, backup_table, self.wait_timeout)
        self.log.info("`%s` backed up into `%s`: %d rows, counts equal", table, backup_table, rows)
        return {"table": table, "backup_table": backup_table, "rows": rows}


def refuse_if_read(hook: FlinkStatementsHook, table: str) -> None:
    """Raise :class:`StillReadError` naming the live statements that read ``table``."""
    from confluent_migration.migration import observe

    readers = [s.name for s in observe.live(hook.list_statements()) if observe.reads(s, table)]
    if readers:
        raise StillReadError(f"`{table}` is not dropped: live statements still read it: {readers}. Dropping it "
                             "would fail them. Move them to the new table (or stop them), then clear this task; "
                             "or roll the run back with rollback_migration")


class DropTableOperator(SubmitStatementOperator):
    """``DROP TABLE``, refused unless this run backed the table up (done, counts verified), the
    run's confirm word is the connection's database, and no live statement reads the table (a
    reader of a dropped topic fails: its owner moves it first, as the approval asked). With
    ``items`` (``{"table", "sql", "statement_name"}`` each), each table is checked and dropped at once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(target_phase=COMPLETED, **kwargs)
        self._backups: dict[str, Any] = {}  # table -> its verified backup, read once per task
        self._confirm: str | None = None

    def execute(self, context: Context) -> Any:
        ledger = ledger_for(context)  # read once, not once per table of a batch
        self._backups = {s.data.get("table"): s.result for s in ledger.steps([TABLE_BACKED_UP]) if s.done}
        self._confirm = ledger.header()["params"].get("confirm")
        if self.items is None:
            self.check_droppable(context, str(self.table))
        return super().execute(context)

    def act(self, context: Context, item: dict[str, Any]) -> dict[str, Any]:
        self.check_droppable(context, item["table"])
        return super().act(context, item)

    def check_droppable(self, context: Context, table: str) -> None:
        backup = self._backups.get(table)
        if backup is None:
            raise BackupError(f"`{table}` has no verified backup in run {context['run_id']}: it is not dropped")
        database = self.hook.extra.get("database")
        if not database or self._confirm != database:
            raise BackupError(f"`{table}` is not dropped: the run's confirm does not match database '{database}'")
        refuse_if_read(self.hook, table)  # per table, right before its drop: a reader may have just started
        self.log.info("`%s` is backed up in `%s` (%s rows); dropping it", table, backup["backup_table"],
                      backup["rows"])


def recreate_tables(run: MigrationRun, group_id: str, *, after: Any) -> Any:
    """Back up (counts verified), drop and create with the v2 DDL each table of the plan's
    ``backups``/``drops``/``recreates`` (each mapped over batches of tables; an empty list skips);
    returns the create task."""
    with TaskGroup(group_id, tooltip="Back up (counts verified), drop, create with the v2 DDL"):
        backup = BackUpTableOperator.partial(
            task_id="back_up_tables", poll_interval=poll_seconds(), trigger_rule=AFTER_EMPTY_LEVELS,
            **recorded_items(TABLE_BACKED_UP, ["table", "backup_table", "ddl"])
        ).expand_kwargs(planned(run.plan, "backups", after=run.head, batched=True))
        drop = DropTableOperator.partial(
            task_id="drop_tables", poll_interval=poll_seconds(), **recorded_items(TABLE_DROPPED, ["table"])
        ).expand_kwargs(planned(run.plan, "drops", after=run.head, batched=True))
        create = SubmitStatementOperator.partial(
            task_id="create_v2_tables", poll_interval=poll_seconds(), target_phase=COMPLETED,
            **recorded_items(TABLE_CREATED, ["table", "sql"])
        ).expand_kwargs(planned(run.plan, "recreates", after=run.head, batched=True))
        after >> backup >> drop >> create
    return create


def window_opens(plan_xcom: dict[str, Any]) -> str:
    """When the maintenance window opens: the checked ``window_start`` param, or now."""
    start = plan_of(plan_xcom).params.options.get("window_start")
    moment = start or datetime.now(timezone.utc).isoformat()
    print(f"Maintenance window opens at {moment}")
    return moment


def maintenance_window(run: MigrationRun) -> Any:
    """Steps 2 to 5 of option C, after pre-flight; returns the last task (the v2 pipelines started)."""
    levels = range(run.levels)
    with TaskGroup("phase_2_wait_for_the_window", tooltip="Deferrable wait until window_start (none when empty)"):
        opens = call("window_opens", window_opens, run.plan)
        run.head >> opens
        window = DateTimeSensorAsync(task_id="wait_for_window_start", target_time=opens)
    with TaskGroup("phase_3_stop_pipelines", tooltip="Stop each v1 statement, downstream first, recording its offsets"):
        previous = window
        for n in reversed(levels):
            stop = stop_statements(run, f"level_{n}_stop_v1", "levels", n, "stop")
            previous >> stop
            previous = stop
    create = recreate_tables(run, "phase_4_table_recreation", after=previous)
    with TaskGroup("phase_5_start_v2_pipelines", tooltip="Start each v2 statement from the earliest offset, "
                                                          "upstream first"):
        return start_levels(run, after=create)

