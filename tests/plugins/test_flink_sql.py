"""Airflow's common-sql operators and SqlSensor, as they are, on the Flink connection (dag.test()): the
provider maps its type ``confluent_flink`` to FlinkSqlHook."""

from __future__ import annotations

import pytest
from airflow.providers.common.sql.operators.sql import (
    SQLCheckOperator,
    SQLColumnCheckOperator,
    SQLExecuteQueryOperator,
    SQLTableCheckOperator,
)
from airflow.providers.common.sql.sensors.sql import SqlSensor

from confluent_migration.hooks import FLINK_CONN_ID
from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.migration import observe
from confluent_migration.sensors.flink_sql import column_count_sql, counts_within, row_count_parity_sql
from tests.plugins.conftest import ddl, unique

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in epoch millis


def skus_table(rows: list[tuple[int, int, int]]) -> str:
    """A keyed table of (id, created_at offset ms, updated_at offset ms)."""
    table = unique("sql_skus", "_")
    ddl(f"CREATE TABLE `{table}` (`id` BIGINT NOT NULL, `created_at` TIMESTAMP_LTZ(3), `updated_at` TIMESTAMP_LTZ(3), "
        "PRIMARY KEY (`id`) NOT ENFORCED) DISTRIBUTED BY HASH(`id`) INTO 2 BUCKETS")
    values = ", ".join(f"({i}, TO_TIMESTAMP_LTZ({T0 + c}, 3), TO_TIMESTAMP_LTZ({T0 + u}, 3))" for i, c, u in rows)
    ddl(f"INSERT INTO `{table}` VALUES {values}")
    return table


@pytest.fixture
def good(flink) -> str:
    return skus_table([(1, 0, 10), (2, 5, 5), (3, 0, 99)])


@pytest.fixture
def bad(flink) -> str:
    return skus_table([(1, 50, 10), (2, 5, 5)])


def test_the_flink_connection_gives_common_sql_the_flink_sql_hook(flink):
    hook = SQLExecuteQueryOperator(task_id="query", conn_id=FLINK_CONN_ID, sql="SHOW TABLES").get_db_hook()
    assert type(hook) is FlinkSqlHook and hook.get_conn_id() == FLINK_CONN_ID


def test_a_bounded_query_returns_its_rows(run_dag, good):
    result = run_dag(lambda: SQLExecuteQueryOperator(
        task_id="query", conn_id=FLINK_CONN_ID, sql=f"SELECT id FROM `{good}` WHERE updated_at > created_at ORDER BY id"))
    assert result.state("query") == "success"
    assert result.xcom("query") == [(1,), (3,)]


def test_describe_and_information_schema_through_the_hook(flink, good):
    hook = FlinkSqlHook()
    assert [r[0] for r in hook.get_records(f"DESCRIBE `{good}`")] == ["id", "created_at", "updated_at"]
    assert hook.get_first(column_count_sql(good)) == (3,)


def test_the_checks_catalog_reads_count_columns_and_read_only_those_asked(flink, good):
    """Pre-flight counts each table's columns and the criteria look for the freshness columns alone:
    a row per table, not one per column; a table that does not exist has none."""
    hook, absent = FlinkSqlHook(), unique("absent", "_")
    assert observe.column_counts(hook, [good, absent]) == {good: 3, absent: 0}
    found = observe.columns_of(hook, [good, absent], only=["updated_at", "nope"])
    assert found == {good: ["updated_at"], absent: []}
    after = observe.measure([], {good: "updated_at", absent: "updated_at"}, window_minutes=1, sql=hook)
    assert after.freshness_seconds is not None and after.freshness_seconds > 0


def test_sql_sensor_checks_no_row_was_updated_before_it_was_created(run_dag, good, bad):
    def no_time_travel(table: str) -> SqlSensor:
        return SqlSensor(task_id=f"check_{table[-8:]}", conn_id=FLINK_CONN_ID,
                         sql=f"SELECT COUNT(*) FROM `{table}` WHERE created_at > updated_at",
                         success=lambda n: int(n) == 0, failure=lambda n: int(n) > 0, poke_interval=1, timeout=30,
                         mode="reschedule")
    result = run_dag(lambda: [no_time_travel(good), no_time_travel(bad)])
    assert result.state(f"check_{good[-8:]}") == "success"
    assert result.state(f"check_{bad[-8:]}") == "failed"


def test_row_count_parity_within_tolerance_and_column_count(run_dag, good, bad):
    result = run_dag(lambda: [
        SqlSensor(task_id="parity_loose", conn_id=FLINK_CONN_ID, sql=row_count_parity_sql(f"`{good}`", f"`{bad}`"),
                  selector=lambda row: row, success=counts_within(0.5), timeout=10, poke_interval=1),
        SqlSensor(task_id="parity_strict", conn_id=FLINK_CONN_ID, sql=row_count_parity_sql(f"`{good}`", f"`{bad}`"),
                  selector=lambda row: row, success=counts_within(0.0), timeout=3, poke_interval=1),
        SqlSensor(task_id="columns", conn_id=FLINK_CONN_ID, sql=column_count_sql(good), success=lambda n: int(n) == 3,
                  timeout=10),
    ])
    assert result.state("parity_loose") == "success"
    assert result.state("parity_strict") == "failed"
    assert result.state("columns") == "success"


def test_common_sql_check_operators_run_on_flink(run_dag, good, bad):
    result = run_dag(lambda: [
        SQLTableCheckOperator(task_id="table_ok", conn_id=FLINK_CONN_ID, table=f"`{good}`",
                              checks={"ordered": {"check_statement": "created_at <= updated_at"}}),
        SQLTableCheckOperator(task_id="table_bad", conn_id=FLINK_CONN_ID, table=f"`{bad}`",
                              checks={"ordered": {"check_statement": "created_at <= updated_at"}}),
        SQLColumnCheckOperator(task_id="columns", conn_id=FLINK_CONN_ID, table=f"`{good}`",
                               column_mapping={"id": {"null_check": {"equal_to": 0}, "min": {"geq_to": 1}}}),
        SQLCheckOperator(task_id="check_ok", conn_id=FLINK_CONN_ID,
                         sql=f"SELECT COUNT(*) = 0 FROM `{good}` WHERE created_at > updated_at"),
        SQLCheckOperator(task_id="check_bad", conn_id=FLINK_CONN_ID,
                         sql=f"SELECT COUNT(*) = 0 FROM `{bad}` WHERE created_at > updated_at"),
    ])
    assert result.state("table_ok") == "success"
    assert result.state("table_bad") == "failed"
    assert result.state("columns") == "success"
    assert result.state("check_ok") == "success"
    assert result.state("check_bad") == "failed"
