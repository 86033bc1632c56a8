"""Transient faults on the SQL-driver path (FlinkSqlHook) and on statement creates (FlinkStatementsHook)."""

from __future__ import annotations

import uuid

import confluent_sql
import pytest

from confluent_migration.errors import ConfluentApiError
from confluent_migration.hooks.base import RetryPolicy
from confluent_migration.hooks.flink_sql import FlinkSqlHook, is_bounded_read
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration.recreate import run_bounded

STATEMENTS = r"/statements$"
FAST = RetryPolicy(max_attempts=3, backoff_seconds=0.01)


@pytest.fixture
def table(proxy) -> str:
    """A table with two rows, made before any fault rule exists."""
    name = f"faults_{uuid.uuid4().hex[:8]}"
    conn = FlinkSqlHook().get_conn()
    try:
        conn.execute_snapshot_ddl(f"CREATE TABLE `{name}` (`id` BIGINT NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED) "
                                  "DISTRIBUTED BY HASH(`id`) INTO 1 BUCKETS")
        conn.execute_snapshot_ddl(f"INSERT INTO `{name}` VALUES (1), (2)")
    finally:
        conn.close()
    proxy.log.clear()
    return name


def test_a_429_on_the_query_is_waited_out_as_retry_after_says(proxy, table, capfd):
    proxy.add("POST", STATEMENTS, "429", retry_after="1")
    assert FlinkSqlHook(retry=FAST).get_first(f"SELECT COUNT(*) FROM `{table}`") == (2,)
    assert [e.action for e in proxy.log if e.method == "POST"] == ["429", "forwarded"]
    assert "retrying in 1.0s (attempt 1 of 3)" in capfd.readouterr().out


def test_a_503_on_the_query_and_a_lost_answer_are_retried_as_new_snapshot_statements(proxy, table):
    proxy.add("POST", STATEMENTS, "503")
    proxy.add("POST", STATEMENTS, "lose")
    assert FlinkSqlHook(retry=FAST).get_records(f"SELECT id FROM `{table}` ORDER BY id") == [(1,), (2,)]
    posts = [(e.action, e.upstream) for e in proxy.log if e.method == "POST"]
    assert posts == [("503", None), ("lose", 201), ("forwarded", 201)]  # the lost one left an orphan snapshot


def test_a_write_is_sent_once_and_a_lasting_fault_fails_naming_the_query(proxy, table):
    proxy.add("POST", STATEMENTS, "503", count=10)
    with pytest.raises(confluent_sql.OperationalError, match="503"):
        FlinkSqlHook(retry=FAST).run(f"INSERT INTO `{table}` VALUES (3)")
    assert len(proxy.done("503", "POST")) == 1
    with pytest.raises(ConfluentApiError, match=rf"SELECT COUNT\(\*\) FROM `{table}`.*HTTP 503.*3 attempts"):
        FlinkSqlHook(retry=FAST).get_first(f"SELECT COUNT(*) FROM `{table}`")
    assert len(proxy.done("503", "POST")) == 4


def test_only_statements_that_read_count_as_bounded_reads():
    assert is_bounded_read("-- count\n SELECT 1") and is_bounded_read(["SHOW TABLES", "DESCRIBE `t`", "WITH a AS (SELECT 1) SELECT * FROM a"])
    assert not is_bounded_read("INSERT INTO t SELECT * FROM s")
    assert not is_bounded_read(["SELECT 1", "DROP TABLE t"])
    assert not is_bounded_read([])


def test_a_create_whose_answer_was_lost_after_the_server_acted_adopts_its_own_statement(proxy):
    table, name = f"faults_{uuid.uuid4().hex[:8]}", f"faults-create-{uuid.uuid4().hex[:8]}"
    proxy.add("POST", STATEMENTS, "lose")
    run_bounded(FlinkStatementsHook(retry=FAST), name, f"CREATE TABLE `{table}` (`id` BIGINT NOT NULL, "
                "PRIMARY KEY (`id`) NOT ENFORCED) DISTRIBUTED BY HASH(`id`) INTO 1 BUCKETS", timeout=60)
    assert [(e.action, e.upstream) for e in proxy.log if e.method == "POST"] == [("lose", 201), ("forwarded", 409)]
    assert FlinkStatementsHook().get_statement(name).phase == "COMPLETED"
