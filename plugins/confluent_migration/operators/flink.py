"""Flink statement operators: submit (idempotent, waits for a phase), stop, resume, delete, list, dry run.

All share :class:`FlinkStatementOperator`: the connection, the console link, and the wait for a
phase (polled in the worker for the first ``defer_after`` seconds, then deferred to
:class:`~confluent_migration.triggers.flink.StatementPhaseTrigger`, or polled in the worker throughout
with ``deferrable=False``). A wait that ends in seconds (a stop, a start) never defers: a trigger
that fires while the executor still reports the deferring process is a race in Airflow 3 that
fails a task which succeeded. A wait ends in success, in
``StatementFailedError`` carrying ``status.detail`` and the statement's exceptions, or in
``StatementTimeoutError`` after ``wait_timeout`` seconds. Bounded queries use common-sql's
``SQLExecuteQueryOperator`` on the Flink connection (type ``confluent_flink``: ``FlinkSqlHook``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence, Set as AbstractSet
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from confluent_migration.errors import StatementFailedError, StatementTimeoutError
from confluent_migration.hooks import FLINK_CONN_ID
from confluent_migration.links import MAP_LABEL, STATEMENT_URL_KEY, ConfluentStatementLink, statement_url
from confluent_migration.operators.batch import BatchOperator
from confluent_migration.statements import (
    COMPLETED,
    DEGRADED,
    FAILURE,
    RUNNING,
    STOPPED,
    SUCCESS,
    Statement,
    describe_failure,
    judge,
    parse_offsets,
    statement_name,
)
from confluent_migration.triggers.flink import StatementPhaseTrigger, StatementsPhaseTrigger, poll_intervals

if TYPE_CHECKING:
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook

DEFAULT_WAIT_SECONDS = 3600.0
DEFER_AFTER_SECONDS = 60.0
# a wait while a table has no writer polls at this pace, for this long, before it backs off: each
# pause past the stop's end is added to the gap
GAP_POLL_SECONDS, GAP_STEADY_SECONDS = 1.0, 30.0


def statement_event_result(log: Any, event: Mapping[str, Any]) -> dict[str, Any]:
    """A trigger's event as the statement snapshot (success) or a clear failure."""
    status, message = event.get("status"), event.get("message", "")
    if status == "success":
        (log.warning if event.get("phase") == DEGRADED else log.info)(message)
        return event.get("statement") or {}
    log.error(message)
    if status == "failed":
        raise StatementFailedError(message)
    if status == "timeout":
        raise StatementTimeoutError(message + ": raise wait_timeout, or look at the statement in the console")
    raise AirflowException(message)


def stopped_offsets(log: Any, name: str, snapshot: Mapping[str, Any], push: bool = True) -> dict[str, Any]:
    """Where a stopped statement stopped (also XCom ``latest_offsets``, unless ``push`` is False):
    ``{"statement_name", "phase", "latest_offsets", "latest_offsets_timestamp", "offsets"}`` (topic ->
    {partition: offset})."""
    from airflow.sdk import get_current_context

    offsets = {
        "statement_name": snapshot.get("name", name),
        "phase": snapshot.get("phase"),
        "latest_offsets": snapshot.get("latest_offsets") or {},
        "latest_offsets_timestamp": snapshot.get("latest_offsets_timestamp"),
        "offsets": {t: {str(p): o for p, o in parts.items()}
                    for t, parts in parse_offsets(snapshot.get("latest_offsets")).items()},
    }
    if push:
        get_current_context()["ti"].xcom_push(key="latest_offsets", value=offsets["latest_offsets"])
    log.info("Flink statement '%s' stopped at offsets %s (%s)", offsets["statement_name"],
             offsets["latest_offsets"], offsets["latest_offsets_timestamp"])
    return offsets


class FlinkStatementOperator(BatchOperator):
    """Shared parameters of the statement operators.

    :param flink_conn_id: the Flink connection (``confluent_flink_default``).
    :param wait_timeout: seconds to wait for the awaited phase before failing.
    :param poll_interval: seconds between the first polls (later polls back off, to 60 s).
    :param deferrable: wait in the triggerer (no worker slot held) once the wait outlasts ``defer_after``.
    :param defer_after: seconds to poll in the worker before deferring (default 60).
    :param acts_on: what a mapped task acts on, its name in the UI (default: its table or statement name).
    """

    operator_extra_links = (ConfluentStatementLink(),)
    gap_poll: float | None = None  # the pace of its first polls, when shorter than poll_interval

    def __init__(self, *, flink_conn_id: str = FLINK_CONN_ID,
                 wait_timeout: float = DEFAULT_WAIT_SECONDS, poll_interval: float = 5.0, deferrable: bool = True,
                 defer_after: float = DEFER_AFTER_SECONDS, acts_on: str | None = None,
                 map_index_template: str | None = MAP_LABEL, **kwargs: Any) -> None:
        super().__init__(map_index_template=map_index_template, **kwargs)
        self.acts_on = acts_on
        self.flink_conn_id = flink_conn_id
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self.defer_after = defer_after

    @property
    def map_label(self) -> str:
        """The mapped task's name in the UI: ``acts_on``, else the table or statement it acts on (of a
        batch: its first item's, and how many more)."""
        if self.items is not None:
            return super().map_label
        return str(self.acts_on or getattr(self, "table", None) or getattr(self, "statement_name", None) or "")

    def item_label(self, item: Mapping[str, Any]) -> str:
        return str(item.get("acts_on") or item.get("table") or item.get("statement_name") or "")

    def prepare(self) -> None:
        self.hook.prepare()

    @cached_property
    def hook(self) -> FlinkStatementsHook:
        from confluent_migration.hooks.flink_statements import FlinkStatementsHook

        return FlinkStatementsHook(self.flink_conn_id)

    def push_statement_link(self, context: Context, name: str) -> None:
        url = statement_url(self.hook.extra["environment_id"], name)
        context["ti"].xcom_push(key=STATEMENT_URL_KEY, value=url)
        self.log.info("Confluent console (also the task's extra link): %s", url)

    def wait_for(self, statement: Statement, targets: AbstractSet[str], resume: str = "execute_complete", *,
                 when_long: Literal["defer", "return", "poll"] = "defer") -> dict[str, Any] | None:
        """Wait until ``statement`` reaches one of ``targets``: polled in the worker, deferred once the
        wait outlasts ``defer_after`` (when deferrable; the trigger's event goes to ``resume``).

        :param when_long: what happens where the wait would defer: ``defer``; ``return`` None (a
            replacement of a batch: the task defers once for all of its tables' waits); ``poll`` on in
            the worker (an item of a batch whose waits end in seconds: a stop, a start, a DDL)."""
        name, deadline = statement.name, time.time() + self.wait_timeout
        pauses = poll_intervals(min(self.poll_interval, self.gap_poll or self.poll_interval),
                                self.poll_interval, GAP_STEADY_SECONDS if self.gap_poll else 0.0)
        defer_at = time.time() + self.defer_after
        while True:
            verdict = judge(statement.phase, targets)
            if verdict == SUCCESS:
                return statement_event_result(self.log, {"status": "success", "phase": statement.phase,
                                                         "statement": statement.snapshot(),
                                                         "message": f"Flink statement '{name}' is {statement.phase}"
                                                         + (f": {statement.detail}" if statement.detail else "")})
            if verdict == FAILURE:
                exceptions = self.hook.get_exceptions(name) if statement.is_failed else []
                return statement_event_result(self.log, {
                    "status": "failed", "message": describe_failure(statement, exceptions)
                    + f"\n(awaited {', '.join(sorted(targets))})"})
            if self.deferrable and when_long != "poll" and time.time() >= defer_at:
                if when_long == "return":
                    return None
                self.defer(trigger=StatementPhaseTrigger(name, sorted(targets), deadline, self.flink_conn_id,
                                                         self.poll_interval),
                           method_name=resume, timeout=timedelta(seconds=self.wait_timeout + 60))
            if time.time() >= deadline:
                return statement_event_result(self.log, {
                    "status": "timeout", "message": f"Flink statement '{name}' was still {statement.phase} when "
                                                    f"the wait for {', '.join(sorted(targets))} timed out"})
            self.log.info("Flink statement '%s' is %s; waiting for %s", name, statement.phase, sorted(targets))
            time.sleep(max(0.0, min(next(pauses), deadline - time.time())))
            statement = self.hook.get_statement(name)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        return self.result(statement_event_result(self.log, event))

    def result(self, snapshot: dict[str, Any]) -> Any:
        """The task's return value once the wait succeeded (default: the statement snapshot)."""
        return snapshot


class SubmitStatementOperator(FlinkStatementOperator):
    """Submit a Flink SQL statement and wait for RUNNING (continuous) or COMPLETED (bounded).

    The name is deterministic: ``statement_name`` if given, else derived from ``table``,
    ``pipeline_version`` and ``migration_run``, so a retried task finds its statement instead of
    creating a second one. An existing statement of that name is adopted when its SQL and
    properties are the ones submitted, and refused (``StatementConflictError``) otherwise.

    :param sql: the statement, or a ``.sql`` file path (Jinja-templated).
    :param table: the table the statement writes (for the name).
    :param pipeline_version: the pipeline version (for the name).
    :param migration_run: the migration run (for the name; default the DAG run id).
    :param statement_name: an explicit name instead (validated).
    :param properties: ``spec.properties`` (catalog and database default from the connection), e.g.
        ``sql.tables.scan.startup.mode`` or ``sql.tables.initial-offset-from``.
    :param target_phase: ``RUNNING`` (default) or ``COMPLETED``.
    :param wait: False returns right after submitting.
    :param compute_pool_id: / ``principal``: override the connection's.
    :param stop_on_kill: stop the statement when the task is killed while waiting.
    :param items: instead, a batch of ``{"statement_name", "sql", "properties"}`` (and ``table``, for
        the UI), each submitted and awaited at once, polled in the worker (a start or a DDL ends in seconds).
    :return: the statement snapshot (name, sql, phase, properties, offsets); XCom ``statement_name``
        (of a batch: the list of snapshots).
    """

    template_fields: Sequence[str] = ("sql", "table", "pipeline_version", "migration_run", "statement_name",
                                      "properties", "items")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "properties": "json"}
    item_fields = ("statement_name", "sql", "properties", "table")
    takes_items = True

    def __init__(self, *, sql: str | None = None, table: str | None = None, pipeline_version: str | int | None = None,
                 migration_run: str = "{{ run_id }}", statement_name: str | None = None,
                 properties: Mapping[str, str] | None = None, target_phase: str = RUNNING, wait: bool = True,
                 compute_pool_id: str | None = None, principal: str | None = None, stop_on_kill: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.items is None and statement_name is None and (table is None or pipeline_version is None):
            raise ValueError(f"{kwargs.get('task_id')}: give statement_name, or table and pipeline_version")
        if self.items is None and sql is None:
            raise ValueError(f"{kwargs.get('task_id')}: give sql")
        if target_phase not in (RUNNING, COMPLETED):
            raise ValueError(f"target_phase must be RUNNING or COMPLETED, not {target_phase!r}")
        self.sql = sql
        self.table = table
        self.pipeline_version = pipeline_version
        self.migration_run = migration_run
        self.statement_name = statement_name
        self.properties = properties
        self.target_phase = target_phase
        self.wait = wait
        self.compute_pool_id = compute_pool_id
        self.principal = principal
        self.stop_on_kill = stop_on_kill
        self._submitted: list[str] = []  # what on_kill stops

    def resolved_name(self) -> str:
        if self.statement_name:
            return self.statement_name
        return statement_name(str(self.table), str(self.pipeline_version), self.migration_run)

    def execute(self, context: Context) -> Any:
        if self.items is not None:
            return super().execute(context)
        name = self.resolved_name()
        statement = self.submit_item({"statement_name": name, "sql": self.sql, "properties": self.properties})
        context["ti"].xcom_push(key="statement_name", value=name)
        self.push_statement_link(context, name)
        if not self.wait:
            return statement.snapshot()
        return self.wait_for(statement, {self.target_phase})

    def submit_item(self, item: Mapping[str, Any], note: str = "") -> Statement:
        """Submit ``item``'s statement (or adopt its own), remembered for :meth:`on_kill`; logged with ``note``."""
        name = item["statement_name"]
        statement, adopted = self.hook.submit_statement(name, item["sql"], item.get("properties"),
                                                        compute_pool_id=self.compute_pool_id, principal=self.principal)
        self._submitted.append(name)
        self.log.info("%s Flink statement '%s' (phase %s)%s; console: %s", "Adopted existing" if adopted else
                      "Submitted", name, statement.phase or "(none yet)", note,
                      statement_url(self.hook.extra["environment_id"], name))
        return statement

    def act(self, context: Context, item: dict[str, Any]) -> dict[str, Any]:
        statement = self.submit_item(item)
        return self.wait_for(statement, {self.target_phase}, when_long="poll") if self.wait else statement.snapshot()

    def on_kill(self) -> None:
        for name in self._submitted if self.stop_on_kill else ():
            self.log.info("Task killed: stopping Flink statement '%s'", name)
            self.hook.set_stopped(name, True)


STOP_TARGETS = frozenset({STOPPED, COMPLETED})


class StopStatementOperator(FlinkStatementOperator):
    """Stop a statement (PUT with ``resource_version``, re-read on 409) and wait for STOPPED.

    :param statement_name: the statement.
    :param items: instead, a batch of ``{"statement_name"}``, stopped at once (polled in the worker).
    :return: ``{"statement_name", "phase", "latest_offsets", "latest_offsets_timestamp", "offsets"}``
        (``offsets``: topic -> {partition: offset}); also XCom ``latest_offsets`` (of a batch: the list,
        no XCom).
    """

    template_fields: Sequence[str] = ("statement_name", "items")
    item_fields = ("statement_name",)
    takes_items = True

    def __init__(self, *, statement_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statement_name = statement_name
        self.require_own_fields("statement_name")

    def execute(self, context: Context) -> Any:
        if self.items is not None:
            return super().execute(context)
        self.push_statement_link(context, self.statement_name)
        statement = self.hook.set_stopped(self.statement_name, True)
        return self.result(self.wait_for(statement, STOP_TARGETS))

    def act(self, context: Context, item: dict[str, Any]) -> dict[str, Any]:
        name = item["statement_name"]
        stopped = self.wait_for(self.hook.set_stopped(name, True), STOP_TARGETS, when_long="poll")
        return stopped_offsets(self.log, name, stopped, push=False)

    def result(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        return stopped_offsets(self.log, self.statement_name, snapshot)


def carried_error(type_name: str, message: str, final: bool) -> Exception:
    """An item's error carried across a deferral (as text), raised again under its own class name."""
    return type(type_name, (AirflowFailException if final else AirflowException,), {})(message)


class ReplaceStatementOperator(SubmitStatementOperator):
    """Stop the statement ``replaces`` (offsets kept; not deleted), then at once submit this one and
    wait for RUNNING, in one task: the table they write is without a writer for the stop's end and
    the create only, not also for a scheduling round trip between two tasks (which grows with the
    number of tables waiting for a task slot). A retry finds the old statement stopped (stopping it
    again changes nothing) and adopts the new one.

    With ``items`` (``{"replaces", "statement_name", "sql", "properties"}`` each) the task replaces a
    batch of tables at once: each table's stop, STOPPED and create still paired, the tables side by
    side (threads). Waits that outlast ``defer_after`` defer the task once for all of them
    (:class:`~confluent_migration.triggers.flink.StatementsPhaseTrigger`, which fires as soon as a
    stop the next create waits for has ended); it resumes each table where it was. A table that fails
    does not stop the others; the task fails once every table ended, naming each failed one. The
    offsets go to ``on_stopped`` only (no ``latest_offsets`` XCom of a batch).

    :param replaces: the statement to stop first.
    :param on_stopped: ``f(context, offsets)`` once ``replaces`` is STOPPED, before the submit (to
        record the stop; ``offsets`` as :class:`StopStatementOperator` returns them); of a batch,
        ``f(context, offsets, index=..., item=...)`` for each table.
    :return: the new statement's snapshot, as :class:`SubmitStatementOperator` (of a batch, the list).

    Its waits (the stop, the create) are a table's write gap: they poll every ``GAP_POLL_SECONDS``
    (at most ``poll_interval``) for ``GAP_STEADY_SECONDS`` before backing off, not first after
    ``poll_interval`` (10 s by default) and then half again as long each time.

    A killed task leaves the new statements it started running (``stop_on_kill`` defaults to
    False): their old ones are stopped, so stopping them too would leave their tables without a
    writer. A retry adopts them; a rollback stops them (each is recorded ``started`` first).
    """

    template_fields: Sequence[str] = (*SubmitStatementOperator.template_fields, "replaces")
    item_fields = ("replaces", "statement_name", "sql", "properties")
    takes_items = True
    gap_poll = GAP_POLL_SECONDS

    def __init__(self, *, replaces: str | None = None, on_stopped: Callable[..., None] | None = None,
                 stop_on_kill: bool = False, **kwargs: Any) -> None:
        super().__init__(stop_on_kill=stop_on_kill, **kwargs)
        self.replaces = replaces
        self.on_stopped = on_stopped
        self.require_own_fields("replaces")

    def item_label(self, item: Mapping[str, Any]) -> str:
        return str(item.get("statement_name") or "")

    def execute(self, context: Context) -> Any:
        if self.items is not None:
            items = [dict(item) for item in self.items]
            done = self.adopted(context, items)
            work = {self.first_index + n: ("stop", None) for n in range(len(items)) if self.first_index + n not in done}
            self.log.info("Replacing %d statements (%d adopted): %s, %d at a time", len(work), len(done),
                          [(item["replaces"], item["statement_name"]) for item in items],
                          min(self.max_concurrency, len(work) or 1))
            return self.replace_items(context, items, done, [], work)
        stopped = self.wait_for(self.hook.set_stopped(self.replaces, True), STOP_TARGETS, resume="after_stop")
        return self.submit(context, stopped)

    def after_stop(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        return self.submit(context, statement_event_result(self.log, event))

    def submit(self, context: Context, stopped: dict[str, Any]) -> dict[str, Any]:
        offsets = stopped_offsets(self.log, self.replaces, stopped)
        if self.on_stopped is not None:
            self.on_stopped(context, offsets)
        return super().execute(context)

    # -- a batch ---------------------------------------------------------------------------------------
    def replace_item(self, context: Context, index: int, item: dict[str, Any], stage: str,
                     snapshot: dict[str, Any] | None) -> Any:
        """Advance one table from ``stage`` (``stop``; ``stopped``/``running``: that wait, ended with
        ``snapshot`` or still to poll): its new statement's snapshot, or ``("waiting", stage, name)``."""
        if stage == "stop":
            if self.before_item is not None:
                self.before_item(context, index, item)
            stopping = self.hook.set_stopped(item["replaces"], True)
            snapshot = self.wait_for(stopping, STOP_TARGETS, when_long="return")
            stage = "stopped"
        elif snapshot is None:  # a wait the trigger had not seen end: poll it again
            name = item["replaces"] if stage == "stopped" else item["statement_name"]
            targets = STOP_TARGETS if stage == "stopped" else {self.target_phase}
            snapshot = self.wait_for(self.hook.get_statement(name), targets, when_long="return")
        if snapshot is None:
            return ("waiting", stage, item["replaces"] if stage == "stopped" else item["statement_name"])
        if stage == "stopped":
            offsets = stopped_offsets(self.log, item["replaces"], snapshot, push=False)
            if self.on_stopped is not None:
                self.on_stopped(context, offsets, index=index, item=item)
            statement = self.submit_item(item, note=f", replacing '{item['replaces']}'")
            snapshot = self.wait_for(statement, {self.target_phase}, when_long="return")
            if snapshot is None:
                return ("waiting", "running", item["statement_name"])
        if self.after_item is not None:
            self.after_item(context, index, item, snapshot)
        return snapshot

    def replace_items(self, context: Context, items: list[dict[str, Any]], results: dict[int, Any],
                      failures: list[tuple[int, BaseException]], work: dict[int, tuple[str, Any]]) -> list[Any]:
        """One round: every table of ``work`` advanced at once; defer while some wait, else finish."""
        by_index = {self.first_index + n: item for n, item in enumerate(items)}
        ended, failed = self.concurrently(
            [(index, by_index[index]) for index in sorted(work)],
            lambda index, item: self.replace_item(context, index, item, *work[index]))
        failures = [*failures, *failed]
        waiting = {index: r for index, r in ended.items() if isinstance(r, tuple) and r[:1] == ("waiting",)}
        results = {**results, **{index: r for index, r in ended.items() if index not in waiting}}
        if not waiting:
            return self.finish(items, results, failures)
        state = {"results": [[index, r] for index, r in results.items()],
                 "failures": [[index, type(e).__name__, str(e), isinstance(e, AirflowFailException)]
                              for index, e in failures],
                 "waiting": [[index, stage, name] for index, (_, stage, name) in sorted(waiting.items())]}
        waits = [{"statement_name": name, "urgent": stage == "stopped",
                  "target_phases": sorted(STOP_TARGETS) if stage == "stopped" else [self.target_phase]}
                 for _, (_, stage, name) in sorted(waiting.items())]
        self.log.info("Deferring while %d statements are waited on: %s", len(waits), [w["statement_name"] for w in waits])
        self.defer(trigger=StatementsPhaseTrigger(waits, time.time() + self.wait_timeout, self.flink_conn_id,
                                                  self.poll_interval, carry=state),
                   method_name="resume_items", timeout=timedelta(seconds=self.wait_timeout + 60))
        raise AssertionError("unreachable: defer raises")

    def resume_items(self, context: Context, event: dict[str, Any]) -> list[Any]:
        if event.get("status") != "success":  # the trigger itself failed: every wait is unknown
            statement_event_result(self.log, event)
        state = event["carry"]
        items = [dict(item) for item in self.items or []]
        results = {int(index): r for index, r in state["results"]}
        failures: list[tuple[int, BaseException]] = [(int(index), carried_error(name, message, final))
                                                     for index, name, message, final in state["failures"]]
        work: dict[int, tuple[str, Any]] = {}
        for index, stage, name in state["waiting"]:
            ended = (event.get("events") or {}).get(name)
            if ended is None:
                work[int(index)] = (stage, None)
                continue
            try:
                work[int(index)] = (stage, statement_event_result(self.log, ended))
            except Exception as error:  # noqa: BLE001 - that table failed; the others go on
                failures.append((int(index), error))
        return self.replace_items(context, items, results, failures, work)


class ResumeStatementOperator(FlinkStatementOperator):
    """Resume a stopped statement (from its own savepoint) and wait for RUNNING.

    :param statement_name: the statement.
    """

    template_fields: Sequence[str] = ("statement_name",)

    def __init__(self, *, statement_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statement_name = statement_name

    def execute(self, context: Context) -> dict[str, Any]:
        self.push_statement_link(context, self.statement_name)
        return self.wait_for(self.hook.set_stopped(self.statement_name, False), {RUNNING})


class DeleteStatementOperator(FlinkStatementOperator):
    """Delete a statement.

    :param statement_name: the statement.
    :param missing_ok: succeed when there is no statement of that name (default True).
    :return: True when a statement was deleted.
    """

    template_fields: Sequence[str] = ("statement_name",)

    def __init__(self, *, statement_name: str, missing_ok: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statement_name = statement_name
        self.missing_ok = missing_ok

    def execute(self, context: Context) -> bool:
        deleted = self.hook.delete_statement(self.statement_name)
        if not deleted and not self.missing_ok:
            raise AirflowException(f"Flink statement '{self.statement_name}' does not exist, so it cannot be deleted")
        self.log.info("Flink statement '%s' %s", self.statement_name, "deleted" if deleted else "was already gone")
        return deleted


class ListStatementsOperator(FlinkStatementOperator):
    """A snapshot of the pipeline state: the statements' names, SQL, phase, offsets, properties.

    :param statement_names: only these (missing ones are reported as absent).
    :param name_prefix: only names starting with this.
    :param label_selector: the API's label selector.
    :return: a list of statement snapshots (and ``missing``: names asked for but absent, in the log).
    """

    template_fields: Sequence[str] = ("statement_names", "name_prefix", "label_selector")

    def __init__(self, *, statement_names: Sequence[str] | None = None, name_prefix: str | None = None,
                 label_selector: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statement_names = statement_names
        self.name_prefix = name_prefix
        self.label_selector = label_selector

    def execute(self, context: Context) -> list[dict[str, Any]]:
        statements = self.hook.list_statements(label_selector=self.label_selector)
        wanted = set(self.statement_names) if self.statement_names is not None else None
        snapshot = [s.snapshot() for s in statements
                    if (wanted is None or s.name in wanted) and s.name.startswith(self.name_prefix or "")]
        missing = sorted((wanted or set()) - {s["name"] for s in snapshot})
        if missing:
            self.log.warning("Flink statements not found: %s", missing)
        for s in snapshot:
            self.log.info("%s: %s %s", s["name"], s["phase"], s["latest_offsets"] or "")
        return snapshot


class DryRunStatementOperator(FlinkStatementOperator):
    """Validate a statement with ``sql.dry-run`` (planned, never run or stored): the plan step.

    :param sql: the statement, or a ``.sql`` file path (Jinja-templated).
    :param properties: ``spec.properties`` as they will be submitted.
    :param items: instead of the two above, a batch of ``{"sql", "properties", "acts_on"}`` (each
        validated at once; a rejected one fails the task naming its ``acts_on``, after every other
        was validated).
    :return: ``{"phase", "detail", "traits"}`` (traits: ``sql_kind``, ``is_bounded``, ``schema``, ...);
        of a batch, the list of them.
    """

    template_fields: Sequence[str] = ("sql", "properties", "items")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "properties": "json"}
    item_fields = ("sql", "properties", "acts_on")
    takes_items = True

    def __init__(self, *, sql: str | None = None, properties: Mapping[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sql = sql
        self.properties = properties
        self.require_own_fields("sql")

    def act(self, context: Context, item: dict[str, Any]) -> dict[str, Any]:
        label = self.item_label(item)
        statement = self.hook.dry_run(item["sql"], item.get("properties"))
        self.log.info("Dry run%s: %s (%s)", f" of {label}" if label else "", statement.phase,
                      statement.traits.get("sql_kind"))
        return {"phase": statement.phase, "detail": statement.detail, "traits": statement.traits}
