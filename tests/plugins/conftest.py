"""Helpers for the plugin tests: run operators in a real Airflow DAG with ``dag.test()``, read XComs."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pendulum
import pytest

from tests.support.dag_runs import DagResult, run_dag_test, serialize


@pytest.fixture
def run_dag(airflow_db, tmp_path, monkeypatch, capfd) -> Callable[..., DagResult]:
    """``run_dag(build)``: ``build()`` creates operators inside a fresh DAG; the DAG runs with ``dag.test()``.

    The DAGs folder is an empty directory, so the run does not parse the project's DAGs. Tests
    point the connections at a sandbox with ``airflow_connections`` or ``flink``.
    """
    from airflow.sdk import DAG

    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path))

    def run(build: Callable[[], None]) -> DagResult:
        with DAG(f"test_{uuid.uuid4().hex[:10]}", schedule=None, start_date=pendulum.datetime(2026, 1, 1),
                 catchup=False) as dag:
            build()
        serialize(dag)
        return run_dag_test(dag, capfd)

    return run


def ddl(sql: str) -> None:
    """Run DDL or a bounded INSERT through the Flink SQL hook's driver connection."""
    from confluent_migration.hooks.flink_sql import FlinkSqlHook

    conn = FlinkSqlHook().get_conn()
    try:
        conn.execute_snapshot_ddl(sql)
    finally:
        conn.close()


def unique(prefix: str, sep: str = "-") -> str:
    """A fresh name; tables use ``_`` (their names become Avro record names)."""
    return f"{prefix}{sep}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def flink_sandbox(tmp_path_factory):
    """A private sandbox for the Flink tests; every exchange must keep the contract."""
    from tests.support.sandbox_fixtures import assert_contract_kept, start_sandbox

    sandbox = start_sandbox(tmp_path_factory.mktemp("flink-ops"))
    yield sandbox
    sandbox.process.stop()
    assert_contract_kept(sandbox)


@pytest.fixture
def flink(flink_sandbox, monkeypatch):
    """The Flink sandbox with the Airflow connections pointed at it."""
    for key, value in flink_sandbox.connection_env().items():
        monkeypatch.setenv(key, value)
    return flink_sandbox


def ledger_started(monkeypatch, tmp_path):
    """The ledger under ``tmp_path``; returns a task factory: the task starts the run's record, as a
    changing run (not a dry run) does, so recorded tasks after it may act."""
    from airflow.providers.standard.operators.python import PythonOperator

    from confluent_migration.migration.ledger import ledger_for

    monkeypatch.setenv("CONFLUENT_MIGRATION_LEDGER", f"file://{tmp_path}/ledger")

    def start(**context):
        ledger_for(context).start(dag_id=context["dag"].dag_id, option="A", tables=[], params={"dry_run": False})

    return lambda: PythonOperator(task_id="start", python_callable=start)


def steps_of(result, tmp_path, kind):
    """The steps of ``kind`` that the run of ``result`` recorded in the ledger under ``tmp_path``."""
    from airflow.sdk import ObjectStoragePath

    from confluent_migration.migration.ledger import Ledger

    return Ledger(ObjectStoragePath(f"file://{tmp_path}/ledger"), result.dag_run.run_id).steps([kind])
