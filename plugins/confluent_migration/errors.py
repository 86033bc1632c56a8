"""Exceptions that say what failed (which statement, subject or table) and what to do next.

API errors and timeouts derive from :class:`AirflowException`, so Airflow retries them like any
task failure; verdicts a retry cannot change (a FAILED statement, a name taken by another
statement, an incompatible schema, a READONLY subject, a backup that read back wrong) derive from
:class:`AirflowFailException` and fail the task at once.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowException, AirflowFailException


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


class StatementFailedError(AirflowFailException):
    """A Flink statement ended FAILED (or another phase the task cannot accept)."""


class StatementConflictError(AirflowFailException):
    """A statement of the same name exists with different SQL or properties: never adopted."""


class StatementTimeoutError(AirflowException):
    """A statement did not reach the awaited phase within the task's timeout."""


class SchemaIncompatibleError(AirflowFailException):
    """A candidate schema is incompatible with a subject under its compatibility level."""


class SubjectReadOnlyError(AirflowFailException):
    """A subject (or the registry) is in READONLY mode, so the change was refused."""


class BackupVerificationError(AirflowFailException):
    """A subject backup read back differently from what was written."""
