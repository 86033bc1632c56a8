"""Airflow's common-sql operators on Confluent Flink: bounded (snapshot) queries and data checks.

The Flink connection is an ``http`` connection, so common-sql cannot find a ``DbApiHook`` for it
by connection type; these subclasses only supply :class:`FlinkSqlHook`. Everything else (templating,
``.sql`` files, handlers, check semantics, XCom of rows) is common-sql's own.

- ``FlinkSQLExecuteQueryOperator``: DESCRIBE, SHOW, ``INFORMATION_SCHEMA``, validation SELECTs;
  returns the rows.
- ``FlinkSQLColumnCheckOperator`` / ``FlinkSQLTableCheckOperator``: column and table checks,
  e.g. ``{"no_time_travel": {"check_statement": "COUNT_IF(created_at > updated_at) = 0"}}``.
- ``FlinkSqlSensor`` (in ``sensors.flink_sql``): wait for a query's predicate.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.providers.common.sql.operators.sql import (
    SQLColumnCheckOperator,
    SQLExecuteQueryOperator,
    SQLTableCheckOperator,
)

from confluent_migration.hooks.flink_sql import FlinkSqlHook


class FlinkSqlHookMixin:
    """Gives a common-sql operator the Flink SQL hook of ``conn_id`` (default ``confluent_flink_default``)."""

    conn_id: str | None
    hook_params: dict[str, Any]

    @cached_property
    def _hook(self) -> FlinkSqlHook:
        return FlinkSqlHook(self.conn_id or FlinkSqlHook.default_conn_name, **(self.hook_params or {}))


class FlinkSQLExecuteQueryOperator(FlinkSqlHookMixin, SQLExecuteQueryOperator):
    """``SQLExecuteQueryOperator`` on Confluent Flink (snapshot queries that complete)."""


class FlinkSQLColumnCheckOperator(FlinkSqlHookMixin, SQLColumnCheckOperator):
    """``SQLColumnCheckOperator`` on Confluent Flink."""


class FlinkSQLTableCheckOperator(FlinkSqlHookMixin, SQLTableCheckOperator):
    """``SQLTableCheckOperator`` on Confluent Flink."""
