"""Confluent Cloud Flink SQL as a common-sql ``DbApiHook``, on Confluent's ``confluent-sql`` driver.

Every query runs on a snapshot cursor (``sql.snapshot.mode = now``): a bounded point-in-time query
that completes, so ``get_records``/``get_first`` return rows and Airflow's SQL operators, check
operators and ``SqlSensor`` work on Confluent Flink: this provider registers the hook for connection
type ``confluent_flink`` (``get_provider_info``), so ``SQLExecuteQueryOperator(conn_id=
"confluent_flink_default", ...)`` finds it by the connection's type.

Flink statements have no transactions and the driver has no ``commit()``; the hook reports
autocommit so ``DbApiHook.run`` never calls it.

The driver retries its own GETs a few times but never a POST, and ignores ``Retry-After``. So a
bounded read (``get_records``, ``get_first``, ``run`` of SELECT-like statements only) that meets a
transient error (429, 5xx, a lost connection or a timeout) is run again from the start under the
project's :class:`~confluent_migration.hooks.base.RetryPolicy` (``Retry-After`` honoured). That is
safe: each attempt submits a *new* snapshot statement (``dbapi-<uuid>``) that only reads, so an
attempt whose answer was lost leaves at most an orphan snapshot statement that completes by
itself. Anything else (DDL, INSERT) is sent once: writes go through ``FlinkStatementsHook`` under
deterministic names (``migration/recreate.py`` ``run_bounded``), where a retried create answers
409 and adopts its own statement.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

import confluent_sql
import httpx
from airflow.providers.common.sql.hooks.sql import DbApiHook

from confluent_migration.hooks import FLINK_CONN_ID
from confluent_migration.hooks.base import DEFAULT_TIMEOUT_SECONDS, RetryPolicy, api_hint

READ_KEYWORDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "VALUES"}
COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def is_bounded_read(sql: str | Iterable[str]) -> bool:
    """Whether every statement of ``sql`` only reads (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, VALUES)."""
    statements = [sql] if isinstance(sql, str) else list(sql)
    words = [re.match(r"[\s(]*(\w*)", COMMENTS.sub(" ", s)).group(1).upper() for s in statements]
    return bool(words) and all(word in READ_KEYWORDS for word in words)


def transient(exc: confluent_sql.OperationalError) -> tuple[int | None, str | None] | None:
    """``(status, Retry-After)`` of a transient driver error (429, 5xx, no answer), else None."""
    status, cause = exc.http_status_code, exc.__cause__
    if status is None:
        return (None, None) if isinstance(cause, httpx.TransportError) else None
    if status != 429 and status < 500:
        return None
    response = getattr(cause, "response", None)
    return status, (response.headers.get("Retry-After") if response is not None else None)


class FlinkSqlHook(DbApiHook):
    """Bounded (snapshot) Flink SQL over connection ``confluent_flink_default``.

    :param flink_conn_id: the Flink connection (host, key/secret, extra with the ids).
    :param http_timeout: seconds for each HTTP call of the driver.
    :param retry: the retry policy of bounded reads (see the module's docstring).
    """

    conn_name_attr = "flink_conn_id"
    default_conn_name = FLINK_CONN_ID
    conn_type = "confluent_flink"
    hook_name = "Confluent Flink SQL"
    supports_autocommit = False
    _test_connection_sql = "SHOW TABLES"

    def __init__(self, *args: Any, http_timeout: float = DEFAULT_TIMEOUT_SECONDS, retry: RetryPolicy | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.http_timeout = http_timeout
        self.retry = retry or RetryPolicy()

    def run(self, sql: str | Iterable[str], *args: Any, **kwargs: Any) -> Any:
        """``DbApiHook.run``; a bounded read is run again on a transient error (see the module docstring)."""
        if not isinstance(sql, str):
            sql = list(sql)
        if not is_bounded_read(self.split_sql_string(sql) if isinstance(sql, str) else sql):
            return super().run(sql, *args, **kwargs)
        what = f"Flink SQL query {sql if isinstance(sql, str) else '; '.join(sql)!r}"[:300]
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                return super().run(sql, *args, **kwargs)
            except confluent_sql.OperationalError as exc:
                found = transient(exc)
                if found is None:
                    raise
                status, retry_after = found
                hint = api_hint(self.get_conn_id(), status, self.retry.max_attempts)
                time.sleep(self.retry.wait_or_raise(what, status, retry_after, str(exc), attempt, hint=hint,
                                                    log=self.log))
        raise AssertionError("unreachable: the retry policy ends the loop")

    def get_conn(self) -> confluent_sql.Connection:
        conn = self.connection
        extra = conn.extra_dejson
        endpoint = conn.host if "://" in (conn.host or "") else f"https://{conn.host}"
        if conn.port:
            endpoint = f"{endpoint}:{conn.port}"
        return confluent_sql.connect(
            flink_api_key=conn.login,
            flink_api_secret=conn.password,
            organization_id=extra["organization_id"],
            environment_id=extra["environment_id"],
            compute_pool_id=extra.get("compute_pool_id"),
            database=extra.get("database"),
            endpoint=endpoint,
            http_timeout_secs=self.http_timeout,
            result_page_fetch_pause_millis=int(extra.get("result_page_fetch_pause_millis", 100)),
        )

    def get_autocommit(self, conn: Any) -> bool:
        """Every Flink statement takes effect on its own: nothing to commit."""
        return True

    def get_uri(self) -> str:
        """The Flink endpoint (no credentials); there is no SQLAlchemy dialect for Flink."""
        return self.connection.host or ""
