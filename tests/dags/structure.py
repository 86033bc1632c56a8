"""Reading a DAG's shape: parse one DAG file as the DAG processor does, and walk its dependencies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def load_dag(dag_id: str) -> Any:
    """The DAG ``dag_id`` parsed from ``dags/<dag_id>.py``, failing on any import error."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / f"{dag_id}.py"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def upstream_closure(dag: Any, task_id: str) -> set[str]:
    """Every task that runs before ``task_id``."""
    seen, todo = set(), [task_id]
    while todo:
        for up in dag.get_task(todo.pop()).upstream_task_ids:
            if up not in seen:
                seen.add(up)
                todo.append(up)
    return seen
