"""Exceptions that say what failed (which statement, subject or table) and what to do next.

All derive from :class:`AirflowException` so Airflow retries them like any task failure; the
``*Conflict*`` and ``StatementFailedError`` cases are not fixed by a retry and say so.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowException


class ConfluentApiError(AirflowException):
    """A Confluent Cloud API answered with an error (after any retries).

    :param what: the resource in domain words, e.g. ``Flink statement 'orders-v2-1a2b'``.
    :param status: the HTTP status, or None when no answer came (network, timeout).
    :param detail: the server's own message (never request headers or credentials).
    :param hint: what the operator of the DAG should do about it.
    """

    def __init__(self, what: str, status: int | None, detail: str, hint: str = "") -> None:
        self.what = what
        self.status = status
        self.detail = detail
        self.hint = hint
        answer = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"{what}: {answer}: {detail}" + (f". {hint}" if hint else ""))


class StatementFailedError(AirflowException):
    """A Flink statement ended FAILED (or another phase the task cannot accept)."""


class StatementConflictError(AirflowException):
    """A statement of the same name exists with different SQL or properties: never adopted."""


class StatementTimeoutError(AirflowException):
    """A statement did not reach the awaited phase within the task's timeout."""


class SchemaIncompatibleError(AirflowException):
    """A candidate schema is incompatible with a subject under its compatibility level."""


class SubjectReadOnlyError(AirflowException):
    """A subject (or the registry) is in READONLY mode, so the change was refused."""


class BackupVerificationError(AirflowException):
    """A subject backup read back differently from what was written."""
