"""What every DAG of the package shares: its tags, its retries, its Python tasks (light: DAG files import it)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from confluent_migration import DAG_TAG
from confluent_migration.operators.step import StepIfOperator, StepOperator

if TYPE_CHECKING:
    from airflow.sdk.definitions.xcom_arg import XComArg

TAGS = ["confluent", "flink", DAG_TAG]
# Every step is safe to retry (a stop of a stopped statement keeps its offsets, a create adopts its
# own statement, a registration finds its schema, the ledger keeps the first "before" state), so a
# 429 storm, an outage of a minute or a killed worker costs a retry, not the run. Verdicts that a
# retry cannot change (bad params, a held lock, a failed gate, a rejection) fail at once.
RETRIES = {"retries": 3, "retry_delay": timedelta(seconds=20)}
LEVELS_ENV, DEFAULT_LEVELS = "CONFLUENT_MIGRATION_LEVELS", 4
OPTION_A, OPTION_B, OPTION_C = "A", "B", "C"  # schema evolution, dual write, drop and recreate


def level_slots() -> int:
    """How many dependency levels the migration DAGs have room for: env ``CONFLUENT_MIGRATION_LEVELS``
    (read when a DAG file is parsed; default 4). A DAG's shape cannot wait for the manifest, which a
    run reads; a run whose tables need more levels fails its first task, saying so."""
    value = os.environ.get(LEVELS_ENV, str(DEFAULT_LEVELS))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{LEVELS_ENV}={value!r}: expected a whole number of dependency levels, at least 1")
    return int(value)


def call(task_id: str, fn: Callable[..., Any], *args: Any, **operator_kwargs: Any) -> XComArg:
    """A task running ``fn(*args)`` (XComArgs resolved, the context passed as ``@task`` passes it);
    its return value. A :class:`StepOperator`, not ``@task``: Airflow copies the DAG's params in each
    ``__init__`` of an operator's class chain, four for a ``@task``, and a DAG file is parsed again for
    every task run."""
    return StepOperator(task_id=task_id, python_callable=fn, op_args=args, **operator_kwargs).output


def call_if(task_id: str, fn: Callable[..., Any], *args: Any) -> XComArg:
    """:func:`call` as a short-circuit: a false result skips the tasks right after it; those further
    downstream follow their own trigger rules."""
    return StepIfOperator(task_id=task_id, python_callable=fn, op_args=args).output
