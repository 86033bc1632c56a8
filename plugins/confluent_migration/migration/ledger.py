"""The migration's record (ledger): what each run did, step by step, so rollback knows what to undo.

One folder per run under the ledger location, written through ``ObjectStoragePath`` (a local
folder by default, object storage by configuration):

- ``run.json``: the header (DAG, option, tables, params, start, end, outcome);
- ``steps/<time>-<task>-<map index>-<started|done>.json``: one small JSON file per event, so tasks
  running in parallel never rewrite each other's records (no read-modify-write).

A step that changes something is recorded *before* it acts (``started``, with what it will do)
and again when it completed (``done``, with the result). A run that failed half way therefore
shows the step it was in, and rollback undoes ``started`` steps too, tolerantly.

Location: env ``CONFLUENT_MIGRATION_LEDGER``, else Airflow Variable ``confluent_migration_ledger``,
else ``file://$AIRFLOW_HOME/confluent-migration/ledger``; ``CONFLUENT_MIGRATION_LEDGER_CONN_ID`` /
Variable ``confluent_migration_ledger_conn_id`` names the storage connection (none for local files).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import ObjectStoragePath

from confluent_migration.settings import setting

LEDGER_ENV, LEDGER_VARIABLE = "CONFLUENT_MIGRATION_LEDGER", "confluent_migration_ledger"
CONN_ENV, CONN_VARIABLE = "CONFLUENT_MIGRATION_LEDGER_CONN_ID", "confluent_migration_ledger_conn_id"
STARTED, DONE = "started", "done"
# The kinds of change a migration records (and a rollback undoes).
COMPATIBILITY_SET, SCHEMA_REGISTERED = "compatibility_set", "schema_registered"
STATEMENT_STOPPED, STATEMENT_CREATED = "statement_stopped", "statement_created"
TABLE_DROPPED, TABLE_CREATED, TABLE_BACKED_UP = "table_dropped", "table_created", "table_backed_up"


def ledger_base() -> ObjectStoragePath:
    """The configured ledger location (read at run time, never at parse time)."""
    home = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
    location = setting(LEDGER_ENV, LEDGER_VARIABLE) or f"file://{home}/confluent-migration/ledger"
    return ObjectStoragePath(location, conn_id=setting(CONN_ENV, CONN_VARIABLE))


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def safe_name(text: str) -> str:
    """A file-name-safe form of a run id or task id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str)


@dataclass(frozen=True)
class Step:
    """One recorded action: what it was, on what, and (once done) what came of it."""

    kind: str
    task_id: str
    map_index: int
    status: str  # "started" or "done"
    data: dict[str, Any]
    result: Any = None
    at: str = ""
    done_at: str | None = None

    @property
    def done(self) -> bool:
        return self.status == DONE

    @property
    def key(self) -> tuple[str, int]:
        return (self.task_id, self.map_index)


@dataclass
class Ledger:
    """The record of one migration or rollback run."""

    base: ObjectStoragePath
    run_id: str
    _seq: int = field(default=0, repr=False)

    @property
    def folder(self) -> ObjectStoragePath:
        return self.base / "runs" / safe_name(self.run_id)

    @property
    def header_path(self) -> ObjectStoragePath:
        return self.folder / "run.json"

    def exists(self) -> bool:
        return self.header_path.exists()

    def start(self, *, dag_id: str, option: str, tables: Sequence[str], params: dict[str, Any],
              kind: str = "migration", target_run: str | None = None,
              moves: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
        """Write the header (kept as it is if this run was started before: a re-run of the task).

        :param moves: a migration's moves per table: ``from`` and ``to`` version, the statement it
            ``replaces``, the ``statement`` writing the table after it and its ``flink_table`` then
            (the history reads them)."""
        if self.exists():
            return self.header()
        header = {"run_id": self.run_id, "dag_id": dag_id, "kind": kind, "option": option, "tables": list(tables),
                  "params": params, "started_at": now_iso(), "finished_at": None, "outcome": None,
                  "target_run": target_run, "moves": {t: dict(m) for t, m in (moves or {}).items()}}
        self.folder.mkdir(parents=True, exist_ok=True)
        self.header_path.write_text(_dumps(header))
        return header

    def header(self) -> dict[str, Any]:
        if not self.exists():
            raise FileNotFoundError(f"no migration record for run '{self.run_id}' at {self.folder}: "
                                    "check the run id and the ledger location (CONFLUENT_MIGRATION_LEDGER)")
        return json.loads(self.header_path.read_text())

    def finish(self, outcome: str, **extra: Any) -> dict[str, Any]:
        header = {**self.header(), "finished_at": now_iso(), "outcome": outcome, **extra}
        self.header_path.write_text(_dumps(header))
        return header

    def record(self, kind: str, status: str, *, task_id: str, map_index: int = -1,
               data: dict[str, Any] | None = None, result: Any = None) -> Step:
        """Append one event; returns it as a :class:`Step`."""
        if status not in (STARTED, DONE):
            raise ValueError(f"status must be {STARTED!r} or {DONE!r}, not {status!r}")
        self._seq += 1
        event = {"kind": kind, "task_id": task_id, "map_index": map_index, "status": status, "data": data or {},
                 "result": result, "at": now_iso()}
        name = f"{time.time_ns():020d}-{self._seq:04d}-{safe_name(task_id)}-{map_index}-{status}.json"
        path = self.folder / "steps" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dumps(event))
        return Step(kind, task_id, map_index, status, event["data"], result, event["at"])

    def events(self) -> list[dict[str, Any]]:
        """Every event in the order written."""
        folder = self.folder / "steps"
        if not folder.exists():
            return []
        return [json.loads(p.read_text()) for p in sorted(folder.iterdir(), key=lambda p: p.name)
                if p.name.endswith(".json")]

    def steps(self, kinds: Iterable[str] | None = None) -> list[Step]:
        """One :class:`Step` per (task, map index, kind), in the order the actions started.

        The first ``done`` wins: a task retried after it acted records the state it left itself
        as its "before" (a compatibility level it set, a schema it registered), so later events
        never overwrite a recorded result (pre-flight's ``preflight_state`` included). Until a
        ``done``, the step is ``started`` with the data of its first start.
        """
        wanted = set(kinds) if kinds is not None else None
        merged: dict[tuple[str, int, str], Step] = {}
        first_seen: dict[tuple[str, int, str], int] = {}
        for index, event in enumerate(self.events()):
            if wanted is not None and event["kind"] not in wanted:
                continue
            key = (event["task_id"], event["map_index"], event["kind"])
            first_seen.setdefault(key, index)
            previous = merged.get(key)
            if previous is not None and (previous.done or event["status"] != DONE):
                continue
            if event["status"] == DONE:
                data = {**(previous.data if previous else {}), **event["data"]}
                merged[key] = Step(event["kind"], event["task_id"], event["map_index"], DONE, data,
                                   event["result"], previous.at if previous else event["at"], event["at"])
            else:
                merged[key] = Step(event["kind"], event["task_id"], event["map_index"], STARTED, event["data"],
                                   None, event["at"])
        return [merged[key] for key in sorted(merged, key=first_seen.__getitem__)]

    def write_report(self, name: str, text: str) -> ObjectStoragePath:
        path = self.folder / name
        self.folder.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path


def run_ids(base: ObjectStoragePath, kind: str = "migration") -> list[str]:
    """Recorded runs of ``kind``, oldest first (by their start)."""
    folder = base / "runs"
    if not folder.exists():
        return []
    headers = []
    for run in folder.iterdir():
        header = run / "run.json"
        if header.exists():
            doc = json.loads(header.read_text())
            if doc.get("kind") == kind:
                headers.append((doc["started_at"], doc["run_id"]))
    return [run_id for _, run_id in sorted(headers)]


def runs_to_undo(base: ObjectStoragePath, change_kinds: Iterable[str]) -> list[str]:
    """Migration runs that recorded a step of ``change_kinds`` and were not rolled back, newest first."""
    kinds = list(change_kinds)
    return [run for run in reversed(run_ids(base)) if not Ledger(base, run).header().get("rolled_back_by")
            and Ledger(base, run).steps(kinds)]


def resumed_since(base: ObjectStoragePath, since: datetime) -> dict[str, datetime]:
    """Statements a rollback resumed at ``since`` or later (name -> when): a resume restarts them
    from their savepoint, and their first minutes read what they missed while stopped."""
    found: dict[str, datetime] = {}
    for run in run_ids(base, "rollback"):
        ledger = Ledger(base, run)
        finished = ledger.header().get("finished_at")
        if finished and datetime.fromisoformat(finished) < since:
            continue
        for step in ledger.steps():
            result = step.result if isinstance(step.result, dict) else {}
            when = datetime.fromisoformat(step.done_at) if step.done and step.done_at else None
            if when and when >= since and str(result.get("action", "")).startswith("resumed"):
                found[result["statement_name"]] = when
    return found


def latest_run(base: ObjectStoragePath, kind: str = "migration") -> str:
    runs = run_ids(base, kind)
    if not runs:
        raise FileNotFoundError(f"no {kind} run is recorded at {base}/runs: nothing to roll back")
    return runs[-1]


def ledger_for(context: Any) -> Ledger:
    """The ledger of the running DAG run."""
    return Ledger(ledger_base(), context["run_id"])


def task_data(task: Any, fields: Sequence[str]) -> dict[str, Any]:
    """What the ledger keeps of an operator's action: its (rendered) ``fields``."""
    return {name: getattr(task, name, None) for name in fields}


def change_allowed(context: Any) -> Ledger:
    """The run's ledger, once the run may change something: a run whose params were never checked
    fails, and a dry run skips the task, whatever the DAG's wiring says."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    ti, ledger = context["ti"], ledger_for(context)
    try:
        header = ledger.header()
    except FileNotFoundError as missing:
        raise AirflowFailException(f"{ti.task_id} would change something, but this run's params were never "
                                   f"checked: {missing}") from None
    if header["params"].get("dry_run", True):
        raise AirflowSkipException(f"dry run: {ti.task_id} changes nothing")
    return ledger


def record_step(context: Any, kind: str, status: str, data: Mapping[str, Any], result: Any = None,
                ledger: Ledger | None = None, map_index: int | None = None) -> None:
    """Record a step of the running task (``started`` before it acts, ``done`` with its result).

    :param map_index: the step's index (default: the task's map index); an item of a batch records
        its index in the plan's list, so each item is a step of its own."""
    ti = context["ti"]
    (ledger or ledger_for(context)).record(kind, status, task_id=ti.task_id,
                                           map_index=ti.map_index if map_index is None else map_index,
                                           data=dict(data), result=result)


def recorded(kind: str, fields: Sequence[str]) -> dict[str, Callable[..., None]]:
    """``pre_execute``/``post_execute`` kwargs for an operator whose action rollback must know about.

    Before the operator acts, the ledger gets ``started`` with ``fields`` of the (rendered)
    operator; after it succeeded, ``done`` with its result. A failing ledger write fails the task,
    so nothing changes unrecorded. It is also the last guard before a change
    (:func:`change_allowed`).
    """

    def pre(context: Any) -> None:
        record_step(context, kind, STARTED, task_data(context["task"], fields), ledger=change_allowed(context))

    def post(context: Any, result: Any) -> None:
        record_step(context, kind, DONE, task_data(context["task"], fields), result)

    return {"pre_execute": pre, "post_execute": post}


def recorded_items(kind: str, fields: Sequence[str]) -> dict[str, Callable[..., Any]]:
    """:func:`recorded` for an operator acting on a batch of ``items``
    (:class:`~confluent_migration.operators.batch.BatchOperator`): each item is its own step, under
    its index in the plan's list (what its own mapped task's map index would be), ``started`` with
    its ``fields`` before it acts and ``done`` with its result. The guard (:func:`change_allowed`)
    runs once, before any item; an item a previous try recorded ``done`` is adopted, not redone.
    """

    def pre(context: Any) -> None:
        change_allowed(context)

    def before(context: Any, index: int, item: Mapping[str, Any]) -> None:
        record_step(context, kind, STARTED, {f: item.get(f) for f in fields}, map_index=index)

    def after(context: Any, index: int, item: Mapping[str, Any], result: Any) -> None:
        record_step(context, kind, DONE, {f: item.get(f) for f in fields}, result, map_index=index)

    return {"pre_execute": pre, "before_item": before, "after_item": after, "done_items": done_items(kind, fields)}


def done_items(kind: str, fields: Sequence[str]) -> Callable[[Any, Mapping[int, Mapping[str, Any]]], dict[int, Any]]:
    """``done_items`` of a batch operator: the items of the running task (index -> item) that a
    previous try recorded ``done`` as ``kind``, with the same ``fields`` (index -> its recorded result)."""

    def done(context: Any, items: Mapping[int, Mapping[str, Any]]) -> dict[int, Any]:
        task_id = context["ti"].task_id
        return {s.map_index: s.result for s in ledger_for(context).steps([kind])
                if s.done and s.task_id == task_id and s.map_index in items
                and all(s.data.get(f) == items[s.map_index].get(f) for f in fields)}

    return done
