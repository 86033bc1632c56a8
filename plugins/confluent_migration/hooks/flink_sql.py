"""Confluent Cloud Flink SQL as a common-sql ``DbApiHook``, on Confluent's ``confluent-sql`` driver.

Every query runs on a snapshot cursor (``sql.snapshot.mode = now``): a bounded point-in-time query
that completes, so ``get_records``/``get_first`` return rows and Airflow's SQL operators, check
operators and ``SqlSensor`` work on Confluent Flink (through the thin subclasses in
``confluent_migration.operators.flink_sql``, since the connection's type is ``http``).

Flink statements have no transactions and the driver has no ``commit()``; the hook reports
autocommit so ``DbApiHook.run`` never calls it.
"""

from __future__ import annotations

from typing import Any

import confluent_sql
from airflow.providers.common.sql.hooks.sql import DbApiHook

from confluent_migration.hooks.base import DEFAULT_TIMEOUT_SECONDS


class FlinkSqlHook(DbApiHook):
    """Bounded (snapshot) Flink SQL over connection ``confluent_flink_default``.

    :param flink_conn_id: the Flink connection (host, key/secret, extra with the ids).
    :param http_timeout: seconds for each HTTP call of the driver.
    """

    conn_name_attr = "flink_conn_id"
    default_conn_name = "confluent_flink_default"
    conn_type = "confluent_flink"
    hook_name = "Confluent Flink SQL"
    supports_autocommit = False
    _test_connection_sql = "SHOW TABLES"

    def __init__(self, *args: Any, http_timeout: float = DEFAULT_TIMEOUT_SECONDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.http_timeout = http_timeout

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
