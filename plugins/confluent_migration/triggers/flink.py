"""Triggers: asynchronous waits on Flink statements, for deferred operators and sensors.

Each polls through the hooks' async methods, backs off between polls (the HTTP base honours 429
``Retry-After`` and retries 5xx), and yields exactly one ``TriggerEvent``:
``{"status": "success" | "failed" | "timeout" | "error", "message": str, ...}``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from confluent_migration.hooks import FLINK_CONN_ID, METRICS_CONN_ID
from confluent_migration.statements import DEGRADED, FAILURE, SUCCESS, describe_failure, judge, stalled

MAX_POLL_SECONDS = 60.0


def poll_intervals(first: float, poll_interval: float, steady_for: float = 0.0) -> Iterator[float]:
    """The pauses between a wait's polls: ``first`` until the pauses add up to ``steady_for`` seconds,
    then each half again as long as the last, up to ``MAX_POLL_SECONDS`` (or ``poll_interval`` if larger)."""
    interval, waited = first, 0.0
    while True:
        yield interval
        waited += interval
        if waited >= steady_for:
            interval = min(interval * 1.5, max(MAX_POLL_SECONDS, poll_interval))


class StatementPhaseTrigger(BaseTrigger):
    """Wait until a statement reaches one of ``target_phases`` (FAILED, or another terminal phase, ends it).

    :param statement_name: the statement.
    :param target_phases: e.g. ``["RUNNING"]`` or ``["COMPLETED"]`` (DEGRADED satisfies RUNNING, with a warning).
    :param end_time: epoch seconds after which the wait ends with status ``timeout``.
    :param poll_interval: seconds before the second poll; later polls back off.
    """

    def __init__(self, statement_name: str, target_phases: Sequence[str], end_time: float,
                 conn_id: str = FLINK_CONN_ID, poll_interval: float = 5.0) -> None:
        super().__init__()
        self.statement_name = statement_name
        self.target_phases = list(target_phases)
        self.end_time = end_time
        self.conn_id = conn_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {
            "statement_name": self.statement_name, "target_phases": self.target_phases, "end_time": self.end_time,
            "conn_id": self.conn_id, "poll_interval": self.poll_interval})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from confluent_migration.hooks.flink_statements import FlinkStatementsHook

        hook = FlinkStatementsHook(self.conn_id)
        name, phase = self.statement_name, "(not read yet)"
        pauses = poll_intervals(self.poll_interval, self.poll_interval)
        try:
            while True:
                statement = await hook.aget_statement(name)
                phase = statement.phase
                verdict = judge(phase, set(self.target_phases))
                if verdict == SUCCESS:
                    message = f"Flink statement '{name}' is {phase}"
                    if phase == DEGRADED:
                        message += f" (degraded: {statement.detail or 'no detail'})"
                    yield TriggerEvent({"status": "success", "statement_name": name, "phase": phase,
                                        "statement": statement.snapshot(), "message": message})
                    return
                if verdict == FAILURE:
                    exceptions = await hook.aget_exceptions(name) if statement.is_failed else []
                    yield TriggerEvent({"status": "failed", "statement_name": name, "phase": phase,
                                        "statement": statement.snapshot(),
                                        "message": describe_failure(statement, exceptions)
                                        + f"\n(awaited {', '.join(self.target_phases)})"})
                    return
                if time.time() >= self.end_time:
                    yield TriggerEvent({"status": "timeout", "statement_name": name, "phase": phase,
                                        "message": f"Flink statement '{name}' was still {phase} when the wait for "
                                                   f"{', '.join(self.target_phases)} timed out"})
                    return
                await asyncio.sleep(max(0.0, min(next(pauses), self.end_time - time.time())))
        except Exception as exc:  # noqa: BLE001 - one event, always: the task turns it into a clear failure
            yield TriggerEvent({"status": "error", "statement_name": name, "phase": phase,
                                "message": f"waiting for Flink statement '{name}' failed: {exc}"})


async def first_event(trigger: BaseTrigger) -> dict[str, Any]:
    """The payload of a trigger that yields exactly one event."""
    async for event in trigger.run():
        return event.payload
    raise RuntimeError(f"{trigger!r} ended without an event")


class StatementsPhaseTrigger(BaseTrigger):
    """Wait on several statements at once, each until one of its ``target_phases`` (as
    :class:`StatementPhaseTrigger` waits on one), for an operator acting on a batch.

    Fires once every wait ended, or as soon as an ``urgent`` one ended (a statement whose stop the
    next action waits for: its table has no writer), with the waits ended so far; the operator waits
    again on the others. Event: ``{"status": "success", "events": {statement_name: event}}``, each
    event as :class:`StatementPhaseTrigger` yields it (``success``, ``failed``, ``timeout``, ``error``).

    :param waits: ``[{"statement_name", "target_phases", "urgent"}]``.
    :param end_time: epoch seconds after which each wait ends with status ``timeout``.
    :param carry: returned as it is in the event's ``carry`` (the operator's state across the
        deferral: it reaches the resumed task whether or not the runner keeps the deferral's kwargs).
    """

    def __init__(self, waits: Sequence[dict[str, Any]], end_time: float, conn_id: str = FLINK_CONN_ID,
                 poll_interval: float = 5.0, carry: Any = None) -> None:
        super().__init__()
        self.waits = [dict(w) for w in waits]
        self.end_time = end_time
        self.conn_id = conn_id
        self.poll_interval = poll_interval
        self.carry = carry

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {
            "waits": self.waits, "end_time": self.end_time, "conn_id": self.conn_id,
            "poll_interval": self.poll_interval, "carry": self.carry})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        tasks = {asyncio.ensure_future(first_event(StatementPhaseTrigger(
            w["statement_name"], w["target_phases"], self.end_time, self.conn_id, self.poll_interval))): w
            for w in self.waits}
        events: dict[str, Any] = {}
        pending = set(tasks)
        try:
            while pending:
                ended, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in ended:
                    events[tasks[task]["statement_name"]] = task.result()
                if any(tasks[task].get("urgent") for task in ended):
                    break
        finally:
            for task in pending:
                task.cancel()
        yield TriggerEvent({"status": "success", "events": events, "carry": self.carry})


class PendingRecordsTrigger(BaseTrigger):
    """Wait until every statement has at most ``threshold`` pending records (Metrics API).

    A statement without data points counts as not caught up; one that FAILED or stopped never
    catches up (a failed statement reports no pending records at all), so it ends the wait with
    status ``failed``, its detail and exceptions in the message.

    :param statement_names: the statements.
    :param threshold: the largest acceptable ``pending_records`` ("Messages Behind").
    :param end_time: epoch seconds after which the wait ends with status ``timeout``.
    :param flink_conn_id: the Flink connection, for the statements' phases.
    """

    def __init__(self, statement_names: Sequence[str], threshold: float, end_time: float,
                 conn_id: str = METRICS_CONN_ID, poll_interval: float = 30.0,
                 flink_conn_id: str = FLINK_CONN_ID) -> None:
        super().__init__()
        self.statement_names = list(statement_names)
        self.threshold = threshold
        self.end_time = end_time
        self.conn_id = conn_id
        self.poll_interval = poll_interval
        self.flink_conn_id = flink_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {
            "statement_names": self.statement_names, "threshold": self.threshold, "end_time": self.end_time,
            "conn_id": self.conn_id, "poll_interval": self.poll_interval, "flink_conn_id": self.flink_conn_id})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from confluent_migration.hooks.flink_statements import FlinkStatementsHook
        from confluent_migration.hooks.metrics import PENDING_RECORDS, ConfluentMetricsHook, lagging

        hook, flink = ConfluentMetricsHook(self.conn_id), FlinkStatementsHook(self.flink_conn_id)
        pauses, behind = poll_intervals(self.poll_interval, self.poll_interval), {}
        try:
            while True:
                for name in self.statement_names:
                    statement = await flink.aget_statement(name)
                    if stalled(statement.phase):
                        exceptions = await flink.aget_exceptions(name) if statement.is_failed else []
                        yield TriggerEvent({"status": "failed", "statement_name": name, "phase": statement.phase,
                                            "message": describe_failure(statement, exceptions)
                                            + "\n(it can never catch up: the wait for caught up fails)"})
                        return
                pending = await hook.astatement_metric(PENDING_RECORDS, self.statement_names)
                behind = lagging(pending, self.statement_names, self.threshold)
                if not behind:
                    yield TriggerEvent({"status": "success", "pending_records": pending,
                                        "message": f"statements caught up (pending records {pending} "
                                                   f"<= {self.threshold})"})
                    return
                if time.time() >= self.end_time:
                    yield TriggerEvent({"status": "timeout", "pending_records": behind,
                                        "message": f"statements still behind when the wait timed out: {behind} "
                                                   f"(threshold {self.threshold}; None = no metrics)"})
                    return
                await asyncio.sleep(max(0.0, min(next(pauses), self.end_time - time.time())))
        except Exception as exc:  # noqa: BLE001 - one event, always
            yield TriggerEvent({"status": "error", "pending_records": behind,
                                "message": f"reading pending records of {self.statement_names} failed: {exc}"})
