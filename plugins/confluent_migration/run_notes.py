"""Dry runs marked where runs are listed: a listener the scheduler calls as a run starts gives a dry
run of this package's DAGs a run note (shown in the run's header and the grid), keeping a note the
person typed in the trigger form after the mark.

A run is a dry run when its ``dry_run`` param resolves true: the value in the run's conf, else the
DAG's default (the migrations default to a dry run, the rollback does not).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.listeners import hookimpl

from confluent_migration import DAG_TAG

DRY_RUN_NOTE = "**DRY RUN**: plans and checks only; nothing was changed."
NOTE_LIMIT = 1000  # characters Airflow stores of a run note


def is_dry_run(conf: Mapping[str, Any] | None, default: Any) -> bool:
    """The run's ``dry_run``: its conf's value, else the DAG's default; only a real ``True`` counts."""
    return (conf or {}).get("dry_run", default) is True


def marked(note: str | None) -> str:
    """The note of a dry run: the mark, then what the person wrote (once, however often it is marked)."""
    if note and note.startswith(DRY_RUN_NOTE):
        return note
    return (DRY_RUN_NOTE + (f"\n\n{note}" if note else ""))[:NOTE_LIMIT]


@hookimpl
def on_dag_run_running(dag_run: Any, msg: str) -> None:
    """Mark a starting dry run of a DAG tagged :data:`~confluent_migration.DAG_TAG` (the scheduler
    commits the note with the run's RUNNING state)."""
    dag = getattr(dag_run, "dag", None)
    if dag is None or DAG_TAG not in (dag.tags or ()) or "dry_run" not in dag.params:
        return
    if is_dry_run(dag_run.conf, dag.params.get_param("dry_run").value):
        dag_run.note = marked(dag_run.note)
