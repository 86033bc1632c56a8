"""End-to-end: the project's DAGs, parsed from dags/ and run with ``dag.test()`` against a sandbox
running the encarta world with live changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sandbox.world.status import wait_until_ready
from tests.support.dag_runs import DagResult, run_dag_test, serialize
from tests.support.sandbox_fixtures import RunningSandbox, assert_contract_kept, start_sandbox

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def encarta_world(directory: Path, patch: pytest.MonkeyPatch) -> Iterator[RunningSandbox]:
    """A sandbox with the encarta world built and changing (5 changes/s) under ``directory``,
    connections and a private ledger pointed at it, fast polls; every exchange must keep the contract."""
    sandbox = start_sandbox(directory / "sandbox", world="encarta", changes_per_second=5.0)
    try:
        wait_until_ready(sandbox.url, sandbox.auth, timeout=300)
        for key, value in sandbox.connection_env().items():
            patch.setenv(key, value)
        patch.setenv("CONFLUENT_MIGRATION_LEDGER", f"file://{directory}/ledger")
        patch.setenv("CONFLUENT_MIGRATION_POLL_SECONDS", "1")
        patch.setenv("CONFLUENT_MIGRATION_CATCH_UP_TIMEOUT", "600")
        patch.setenv("AIRFLOW__CONFLUENT_MIGRATION__BACKUP_LOCATION", f"file://{directory}/schema-backups")
        yield sandbox
    finally:
        sandbox.process.stop()
    assert_contract_kept(sandbox)


@pytest.fixture
def encarta(tmp_path, monkeypatch) -> Iterator[RunningSandbox]:
    """A world of the test's own (see :func:`encarta_world`)."""
    with encarta_world(tmp_path, monkeypatch) as sandbox:
        yield sandbox


@pytest.fixture
def run_project_dag(airflow_db, encarta, capfd) -> Callable[..., DagResult]:
    """``run_project_dag(dag_id, **conf)``: parse dags/ as the DAG processor does, run one DAG with
    ``dag.test()``."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors

    def run(dag_id: str, logical_date: Any = None, **conf: Any) -> DagResult:
        dag = bag.dags[dag_id]
        serialize(dag)
        if logical_date is None:
            return run_dag_test(dag, capfd, run_conf=conf)
        return run_dag_test(dag, capfd, run_conf=conf, logical_date=logical_date)

    return run
