"""Predicates for Airflow's ``SqlSensor`` on Confluent Flink, as the migration's validation uses them.

The provider registers ``FlinkSqlHook`` for connection type ``confluent_flink``, so common-sql's own
``SqlSensor`` (and ``SQLExecuteQueryOperator``, ``SQLColumnCheckOperator``, ...) runs on the Flink
connection as it is, each query a bounded snapshot query. Examples::

    SqlSensor(task_id="no_time_travel", conn_id="confluent_flink_default",
              sql="SELECT COUNT(*) FROM `t` WHERE created_at > updated_at", success=lambda n: n == 0)
    SqlSensor(task_id="parity", conn_id="confluent_flink_default",
              sql=row_count_parity_sql("`skus_v1`", "`skus_v2`"), selector=lambda row: row,
              success=counts_within(0.01))
    SqlSensor(task_id="columns", conn_id="confluent_flink_default", sql=column_count_sql("skus_v2"),
              success=lambda n: n == 12)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


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
