"""Sensors on Flink statements: a statement's phase, and pipelines caught up (Metrics API).

Both poke in the worker for the first ``defer_after`` seconds (a wait that ends in seconds never
defers: see ``operators.flink``), then defer (``deferrable=True``, the default) so a long wait
holds no worker slot. ``timeout`` (seconds, as for every Airflow sensor) bounds the wait either way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, Context

from confluent_migration.errors import StatementFailedError
from confluent_migration.hooks import FLINK_CONN_ID, METRICS_CONN_ID
from confluent_migration.links import STATEMENT_URL_KEY, ConfluentStatementLink, statement_url
from confluent_migration.operators.flink import DEFER_AFTER_SECONDS, statement_event_result
from confluent_migration.statements import DEGRADED, FAILURE, RUNNING, SUCCESS, describe_failure, judge, stalled
from confluent_migration.triggers.flink import PendingRecordsTrigger, StatementPhaseTrigger

if TYPE_CHECKING:
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook


def poked_briefly(sensor: BaseSensorOperator, context: Context, defer_after: float) -> bool:
    """Poke in the worker for up to ``defer_after`` seconds; True as soon as the condition holds."""
    give_up = time.monotonic() + defer_after
    while not sensor.poke(context):
        if time.monotonic() + sensor.poke_interval > give_up:
            return False
        time.sleep(sensor.poke_interval)
    return True


class StatementPhaseSensor(BaseSensorOperator):
    """Wait until a statement is in one of ``target_phases``; FAILED (or another terminal phase) fails.

    :param statement_name: the statement.
    :param target_phases: default ``("RUNNING",)``; DEGRADED satisfies RUNNING with a warning.
    :param flink_conn_id: the Flink connection.
    :param deferrable: wait in the triggerer once the wait outlasts ``defer_after`` (default True).
    :param defer_after: seconds to poke in the worker before deferring (default 60).
    :return: the statement snapshot.
    """

    template_fields: Sequence[str] = ("statement_name", "target_phases")
    operator_extra_links = (ConfluentStatementLink(),)

    def __init__(self, *, statement_name: str, target_phases: Sequence[str] = (RUNNING,),
                 flink_conn_id: str = FLINK_CONN_ID, deferrable: bool = True,
                 defer_after: float = DEFER_AFTER_SECONDS, **kwargs: Any) -> None:
        kwargs.setdefault("poke_interval", 10)
        kwargs.setdefault("timeout", 3600)
        super().__init__(**kwargs)
        self.statement_name = statement_name
        self.target_phases = target_phases
        self.flink_conn_id = flink_conn_id
        self.deferrable = deferrable
        self.defer_after = defer_after

    @cached_property
    def hook(self) -> FlinkStatementsHook:
        from confluent_migration.hooks.flink_statements import FlinkStatementsHook

        return FlinkStatementsHook(self.flink_conn_id)

    def execute(self, context: Context) -> Any:
        context["ti"].xcom_push(key=STATEMENT_URL_KEY,
                                value=statement_url(self.hook.extra["environment_id"], self.statement_name))
        if not self.deferrable:
            super().execute(context)
            return self.hook.get_statement(self.statement_name).snapshot()
        if poked_briefly(self, context, self.defer_after):
            return self.hook.get_statement(self.statement_name).snapshot()
        self.defer(trigger=StatementPhaseTrigger(self.statement_name, list(self.target_phases),
                                                 time.time() + self.timeout, self.flink_conn_id, self.poke_interval),
                   method_name="execute_complete", timeout=timedelta(seconds=self.timeout + 60))

    def poke(self, context: Context) -> bool:
        statement = self.hook.get_statement(self.statement_name)
        verdict = judge(statement.phase, set(self.target_phases))
        if verdict == FAILURE:
            message = describe_failure(statement, self.hook.get_exceptions(statement.name) if statement.is_failed else [])
            self.log.error(message)
            raise StatementFailedError(message + f"\n(awaited {', '.join(self.target_phases)})")
        if verdict == SUCCESS and statement.phase == DEGRADED:
            self.log.warning("Flink statement '%s' is DEGRADED: %s", statement.name, statement.detail)
        self.log.info("Flink statement '%s' is %s", statement.name, statement.phase)
        return verdict == SUCCESS

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        return statement_event_result(self.log, event)


class StatementsCaughtUpSensor(BaseSensorOperator):
    """Wait until every statement has at most ``threshold`` pending records ("Messages Behind").

    One Metrics API query per poke for all statements; a statement without metrics is not caught up.
    A statement that FAILED or stopped can never catch up (a failed one reports no pending records
    at all): the wait fails at once, naming it with its detail and exceptions.

    :param statement_names: the statements.
    :param threshold: the largest acceptable ``pending_records`` (default 0).
    :param metrics_conn_id: the Metrics connection (``confluent_metrics_default``).
    :param flink_conn_id: the Flink connection (the statements' phases).
    :param deferrable: wait in the triggerer once the wait outlasts ``defer_after`` (default True).
    :param defer_after: seconds to poke in the worker before deferring (default 60).
    :return: ``{statement: pending_records}``.
    """

    template_fields: Sequence[str] = ("statement_names", "threshold")

    def __init__(self, *, statement_names: Sequence[str], threshold: float = 0,
                 metrics_conn_id: str = METRICS_CONN_ID,
                 flink_conn_id: str = FLINK_CONN_ID, deferrable: bool = True,
                 defer_after: float = DEFER_AFTER_SECONDS, **kwargs: Any) -> None:
        kwargs.setdefault("poke_interval", 30)
        kwargs.setdefault("timeout", 6 * 3600)
        super().__init__(**kwargs)
        self.statement_names = statement_names
        self.threshold = threshold
        self.metrics_conn_id = metrics_conn_id
        self.flink_conn_id = flink_conn_id
        self.deferrable = deferrable
        self.defer_after = defer_after
        self._pending: dict[str, float] = {}

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            super().execute(context)
            return self._pending
        if poked_briefly(self, context, self.defer_after):
            return self._pending
        self.defer(trigger=PendingRecordsTrigger(list(self.statement_names), float(self.threshold),
                                                 time.time() + self.timeout, self.metrics_conn_id, self.poke_interval,
                                                 self.flink_conn_id),
                   method_name="execute_complete", timeout=timedelta(seconds=self.timeout + 60))

    def poke(self, context: Context) -> bool:
        from confluent_migration.hooks.flink_statements import FlinkStatementsHook
        from confluent_migration.hooks.metrics import PENDING_RECORDS, ConfluentMetricsHook, lagging

        flink = FlinkStatementsHook(self.flink_conn_id)
        for name in self.statement_names:
            statement = flink.get_statement(name)
            if stalled(statement.phase):
                message = describe_failure(statement, flink.get_exceptions(name) if statement.is_failed else [])
                self.log.error(message)
                raise StatementFailedError(message + "\n(it can never catch up: the wait for caught up fails)")
        self._pending = ConfluentMetricsHook(self.metrics_conn_id).statement_metric(PENDING_RECORDS,
                                                                                    list(self.statement_names))
        behind = lagging(self._pending, list(self.statement_names), float(self.threshold))
        self.log.info("Pending records %s; behind (threshold %s): %s", self._pending, self.threshold, behind or "none")
        return not behind

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, float]:
        statement_event_result(self.log, event)
        return event.get("pending_records") or {}
