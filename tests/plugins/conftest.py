"""Helpers for the plugin tests: run operators in a real Airflow DAG with ``dag.test()``, read XComs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pendulum
import pytest


@dataclass
class DagResult:
    """A finished ``dag.test()`` run: task states and return values."""

    dag_run: Any

    def state(self, task_id: str) -> str | None:
        return self.dag_run.get_task_instance(task_id).state

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        from airflow.models.xcom import XComModel
        from airflow.sdk.serde import deserialize
        from airflow.utils.session import create_session

        query = XComModel.get_many(run_id=self.dag_run.run_id, dag_ids=self.dag_run.dag_id, task_ids=task_id, key=key)
        with create_session() as session:
            row = session.scalars(query).first()
            return None if row is None else deserialize(XComModel.deserialize_value(row))


def _serialize(dag: Any) -> None:
    """Write the in-memory DAG to the metadata DB, as the DAG processor would (``dag.test()`` needs it)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db
    from airflow.serialization.serialized_objects import LazyDeserializedDAG
    from airflow.utils.session import create_session

    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
    with create_session() as session:
        update_dag_parsing_results_in_db("dags-folder", None, [LazyDeserializedDAG.from_dag(dag)], {}, None, set(),
                                         session=session)


@pytest.fixture
def run_dag(airflow_db, tmp_path, monkeypatch) -> Callable[..., DagResult]:
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
        _serialize(dag)
        return DagResult(dag.test())

    return run


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
