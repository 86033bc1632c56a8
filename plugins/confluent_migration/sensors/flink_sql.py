"""``SqlSensor`` on Confluent Flink, and the predicates the migration's validation uses with it.

Examples::

    FlinkSqlSensor(task_id="no_time_travel", sql="SELECT COUNT(*) FROM `t` WHERE created_at > updated_at",
                   success=lambda n: n == 0)
    FlinkSqlSensor(task_id="parity", sql=row_count_parity_sql("`skus_v1`", "`skus_v2`"),
                   selector=lambda row: row, success=counts_within(0.01))
    FlinkSqlSensor(task_id="columns", sql=column_count_sql("skus_v2"), success=lambda n: n == 12)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from airflow.providers.common.sql.sensors.sql import SqlSensor

from confluent_migration.hooks.flink_sql import FlinkSqlHook


class FlinkSqlSensor(SqlSensor):
    """``SqlSensor`` whose query runs on Confluent Flink as a bounded snapshot query."""

    def __init__(self, *, conn_id: str = FlinkSqlHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=conn_id, **kwargs)

    def _get_hook(self) -> FlinkSqlHook:
        return FlinkSqlHook(self.conn_id, **(self.hook_params or {}))


def row_count_parity_sql(left: str, right: str) -> str:
    """One row: the row counts of two tables (quoted identifiers)."""
    return f"SELECT (SELECT COUNT(*) FROM {left}) AS left_rows, (SELECT COUNT(*) FROM {right}) AS right_rows"


def counts_within(tolerance: float) -> Callable[[Sequence[Any]], bool]:
    """A predicate on ``(left_rows, right_rows)``: equal within ``tolerance`` (a fraction of the larger)."""

    def within(row: Sequence[Any]) -> bool:
        left, right = int(row[0]), int(row[1])
        return abs(left - right) <= tolerance * max(left, right, 1)

    return within


def column_count_sql(table: str) -> str:
    """One cell: how many columns ``INFORMATION_SCHEMA.COLUMNS`` lists for ``table`` (its bare name)."""
    escaped = table.replace("'", "''")
    return f"SELECT COUNT(*) FROM `INFORMATION_SCHEMA`.`COLUMNS` WHERE `TABLE_NAME` = '{escaped}'"
