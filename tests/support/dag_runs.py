"""Running DAGs in tests with ``dag.test()`` and reading what they produced."""

from __future__ import annotations

import re
import sys
import threading
from dataclasses import dataclass
from typing import Any

import pytest

_RAISED = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Timeout)\b:? .*$", re.MULTILINE)


@dataclass
class DagResult:
    """A finished ``dag.test()`` run: task states and return values, what its task logs printed
    (``output``), and the exceptions its tasks raised (``errors``: the first line of each)."""

    dag_run: Any
    output: str = ""

    @property
    def errors(self) -> list[str]:
        return _RAISED.findall(self.output)

    def failed_tasks(self) -> list[str]:
        return sorted(f"{ti.task_id}[{ti.map_index}]" for ti in self.dag_run.get_task_instances()
                      if ti.state == "failed")

    def why(self) -> str:
        """What failed and why, on one line, for an assertion's message."""
        return f"failed tasks {self.failed_tasks()}; errors {self.errors}"

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


def run_dag_test(dag: Any, capfd: pytest.CaptureFixture[str], **kwargs: Any) -> DagResult:
    """``dag.test(**kwargs)``, keeping what its task logs printed (and passing it on to the test's output)."""
    earlier = capfd.readouterr()  # the test's output so far (earlier runs included): passed on, not this run's
    try:
        dag_run = dag.test(**kwargs)
    finally:
        now = capfd.readouterr()
        sys.stdout.write(earlier.out + now.out)
        sys.stderr.write(earlier.err + now.err)
    return DagResult(dag_run, now.out + now.err)


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


class Approver:
    """Answers a DAG's human-in-the-loop tasks through Airflow's REST API (the endpoint the UI's
    Approve/Reject buttons call), from a thread, while ``dag.test()`` waits for the answer.

    ``dag.test()`` keeps an ``AWAITING_INPUT`` task parked until a response recorded from outside
    flips it back; here that outside is Airflow's own API app on the same metadata DB. Needs
    ``AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True`` (anonymous admin) in the environment.
    """

    def __init__(self, dag_id: str, choice: str = "Approve", poll: float = 1.0) -> None:
        self.dag_id, self.choice, self.poll = dag_id, choice, poll
        self.answered: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._answer, name=f"approver-{dag_id}", daemon=True)

    def __enter__(self) -> Approver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _answer(self) -> None:
        from airflow.api_fastapi.app import create_app
        from fastapi.testclient import TestClient

        client = TestClient(create_app("core"))
        while not self._stop.wait(self.poll):
            listed = client.get(f"/api/v2/dags/{self.dag_id}/dagRuns/~/hitlDetails", params={"response_received": False})
            if listed.status_code != 200:
                self.errors.append(f"list: {listed.status_code} {listed.text}")
                continue
            for item in listed.json()["hitl_details"]:
                ti = item["task_instance"]
                url = (f"/api/v2/dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}/"
                       f"{ti['map_index']}/hitlDetails")
                reply = client.patch(url, json={"chosen_options": [self.choice], "params_input": {}})
                if reply.status_code == 200:
                    self.answered.append({"task_id": ti["task_id"], "subject": item["subject"], "body": item["body"]})
                else:
                    self.errors.append(f"answer {ti['task_id']}: {reply.status_code} {reply.text}")
