"""Running DAGs in tests with ``dag.test()`` and reading what they produced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


def serialize(dag: Any) -> None:
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
