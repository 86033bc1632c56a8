"""The Flink SQL service behind the statements API and the Python API (see :mod:`sandbox.flink`)."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from collections.abc import Callable
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.errors import ApiError
from sandbox.flink.catalog import Catalog
from sandbox.flink.engine import Context, Engine, StatementFailed
from sandbox.flink.records import StatementRecord, StatementTable, rfc3339
from sandbox.flink.catalog import Column
from sandbox.flink.topics import Record, Topics, format_offsets
from sandbox.flink.types import dumps
from sandbox.store import ApiFirstLock, Store

log = logging.getLogger(__name__)

NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
MAX_NAME = 100
MAX_STATEMENT = 131072
RESULTS_PAGE = 100
ACTIVE = ("PENDING", "RUNNING", "DEGRADED", "STOPPING")
CHANGING = ("STOPPING", "PENDING")  # a stop or a start the control plane carries out, whatever the data does
# A running INSERT consumes what arrived at most this often: Flink groups records in mini-batches and
# its exactly-once Kafka sinks commit at checkpoints, so output lags its input by seconds on Confluent
# Cloud too. Stepping on every tick re-ran each pipeline's whole query for every single change.
INSERT_STEP_SECONDS = 2.0


def _not_found(name: str) -> ApiError:
    return ApiError(404, f"Statement '{name}' was not found in this environment.", code="not_found",
                    title="Not Found")


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, detail, code="bad_request", title="Bad Request")


def parse_label_selector(selector: str) -> list[Callable[[dict[str, str]], bool]]:
    """Kubernetes-style equality-based label selector: requirements joined by commas, each
    ``key=value`` / ``key==value``, ``key!=value``, ``key`` (present) or ``!key`` (absent)."""
    requirements: list[Callable[[dict[str, str]], bool]] = []
    for part in filter(None, (p.strip() for p in selector.split(","))):
        match = re.fullmatch(r"(!?)\s*([^=!\s]+)\s*(?:(!=|==|=)\s*(\S*))?", part)
        if not match or (match.group(1) and match.group(3)):
            raise _bad_request(f"Invalid label_selector {selector!r}.")
        negated, key, op, value = match.groups()
        if op == "!=":
            requirements.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif op:
            requirements.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif negated:
            requirements.append(lambda labels, k=key: k not in labels)
        else:
            requirements.append(lambda labels, k=key: k in labels)
    return requirements


class FlinkService:
    """Statements over the sandbox's catalog and topics. ``lock`` serialises the engine's work (steps,
    creates, reads of data); ``records`` the changes of statement documents, so that a stop or a
    resume waits for no step (on Confluent Cloud the control plane does not wait for the data)."""

    def __init__(self, store: Store, schema_registry: Any, config: SandboxConfig) -> None:
        self.config = config
        self.store = store
        self.topics = Topics(store)
        self.catalog = Catalog(store, self.topics, schema_registry)
        self.engine = Engine(store, self.topics, self.catalog)
        self.engine.catalog_name = config.catalog
        self.engine.database_name = config.database
        self.engine.environment_id = config.environment_id
        self.engine.database_id = config.database_id
        self.statements = StatementTable(store)
        self.lock = ApiFirstLock()  # the runner's steps give way to the API calls waiting for it
        self.records = threading.RLock()  # held to read, change and save a statement's document
        self._stepped: dict[str, float] = {}  # statement uid -> when its INSERT last stepped
        self.phase_asked = threading.Event()  # a statement entered a CHANGING phase (wakes the runner)

    # -- Python API ------------------------------------------------------------------------------

    def submit(self, name: str, sql: str, properties: dict[str, str] | None = None) -> dict:
        """Create a statement, as ``POST .../statements`` does; returns the statement resource."""
        return self.create({"name": name, "spec": {"statement": sql, "properties": properties or {}}})

    def get(self, name: str) -> dict:
        """The statement as last saved: read without the lock, so a step or a call in progress does
        not delay it (on Confluent Cloud a read does not wait for the statements' work)."""
        record = self.statements.get(name)
        if record is None:
            raise _not_found(name)
        return self.resource(record)

    def produce(self, table: str, rows: list[dict[str, Any]], op: str = "upsert") -> None:
        """Append rows to a table's topic as a source CDC writer would (``op="delete"``: tombstones)."""
        with self.lock:
            definition = self.catalog.get(table)
            if op not in ("upsert", "insert", "delete"):
                raise ValueError(f"op must be 'upsert', 'insert' or 'delete', not {op!r}")
            upsert = definition.changelog_mode == "upsert"
            if op == "delete" and not upsert:
                raise ValueError(f"table {table!r} is append-only ({definition.changelog_mode}); it has no deletes")
            names = {c.name for c in definition.columns}
            records = []
            for row in rows:
                unknown = set(row) - names
                if unknown:
                    raise ValueError(f"table {table!r} has no columns {sorted(unknown)}")
                key = dumps({k: row.get(k) for k in definition.key_columns}) if definition.key_columns else None
                if op == "delete":
                    records.append(Record("-D", key, None))
                else:
                    records.append(Record("+U" if upsert else "+I", key, dumps(row)))
            self.topics.append(table, records)

    def table_rows(self, table: str) -> list[dict[str, Any]]:
        """A table's current contents: its log folded (last record per key for upsert tables)."""
        with self.lock:
            try:
                return self.engine.table_rows(table)
            except StatementFailed as err:
                raise KeyError(err.detail) from err

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every RUNNING statement has consumed its sources to their end; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(self.pending_records(r) == 0 for r in self.statements.in_phases(["RUNNING"])):
                    return True
            time.sleep(0.05)
        return False

    # -- statements API --------------------------------------------------------------------------

    def create(self, body: dict) -> dict:
        name = body.get("name") or ""
        spec = dict(body.get("spec") or {})
        sql = spec.get("statement")
        if not NAME.fullmatch(name) or len(name) > MAX_NAME:
            raise _bad_request(f"Invalid statement name '{name}': at most {MAX_NAME} characters matching "
                               "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*.")
        if not isinstance(sql, str) or not sql.strip():
            raise _bad_request("spec.statement is required.")
        if len(sql) > MAX_STATEMENT:
            raise _bad_request(f"spec.statement is longer than {MAX_STATEMENT} characters.")
        properties = {str(k): str(v) for k, v in (spec.get("properties") or {}).items()}
        labels = (body.get("metadata") or {}).get("labels") or {}
        if not isinstance(labels, dict):
            raise _bad_request("metadata.labels must be an object of label names to values.")
        now = datetime.now(timezone.utc)
        record = StatementRecord(
            name=name,
            uid=str(uuid.uuid4()),
            spec={
                "statement": sql,
                "properties": properties,
                "compute_pool_id": spec.get("compute_pool_id") or self.config.compute_pool_id,
                "principal": spec.get("principal") or "u-sandbox",
                "stopped": bool(spec.get("stopped", False)),
            },
            created_at=now,
            updated_at=now,
            labels={str(k): str(v) for k, v in labels.items()},
        )
        dry_run = properties.get("sql.dry-run", "").lower() == "true"
        with self.lock:  # creates and deletes take it: the name stays free or taken until it is inserted
            if self.statements.get(name) is not None:
                raise ApiError(409, f"Statement name '{name}' is already used in this environment.",
                               code="resource_already_exists", title="Resource Already exists")
            context = self._context(properties)
            if dry_run:
                return self.resource(self._dry_run(record, context))
            try:
                self.engine.start(record, context)
            except Exception as err:  # noqa: BLE001 - an unforeseen error fails the statement, never the API
                log.exception("statement %s failed to start", record.name)
                self.engine.fail(record, f"Statement submission failed: {type(err).__name__}: {err}",
                                 "java.lang.RuntimeException")
            if record.phase == "COMPLETED" and record.traits and record.traits["sql_kind"] == "SHOW_JOBS":
                self._show_jobs(record)
            with self.records:  # inserted as started: no stop can come between its start and its save
                self.statements.save(record)
            if record.phase in CHANGING:
                self.phase_asked.set()
            return self.resource(record)

    def _dry_run(self, record: StatementRecord, context: Context) -> StatementRecord:
        """Validate and plan only: nothing is created, written or kept."""
        context.dry_run = True
        self.engine.start(record, context)
        if record.phase != "FAILED":
            record.phase = "COMPLETED"
            record.detail = "Dry run succeeded: the statement is valid."
        return record

    def _context(self, properties: dict[str, str]) -> Context:
        catalog = properties.get("sql.current-catalog")
        database = properties.get("sql.current-database")
        catalogs = {self.config.catalog, self.config.environment_id}
        databases = {self.config.database, self.config.database_id}
        if catalog and catalog not in catalogs:
            raise _bad_request(f"sql.current-catalog '{catalog}' is not this environment "
                               f"({self.config.catalog} / {self.config.environment_id}).")
        if database and database not in databases:
            raise _bad_request(f"sql.current-database '{database}' is not a database of this environment "
                               f"({self.config.database}).")
        return Context(catalogs, databases, properties)

    def _record(self, name: str) -> StatementRecord:
        record = self.statements.get(name)
        if record is None:
            raise _not_found(name)
        return record

    def list(self, page_size: int, page_token: str | None, compute_pool: str | None,
             label_selector: str | None = None, name_contains: str | None = None) -> tuple[list[dict], str | None]:
        """A page of statements in name order: of ``compute_pool``, matching every requirement of
        ``label_selector`` (comma-separated ``key=value``, ``key!=value``, ``key``, ``!key``), and
        whose name contains ``name_contains`` (case-sensitive)."""
        requirements = parse_label_selector(label_selector) if label_selector else []

        def keep(record: StatementRecord) -> bool:
            if name_contains and name_contains not in record.name:
                return False
            return all(requirement(record.labels) for requirement in requirements)

        with self.lock:
            records = self.statements.page(page_token, page_size, compute_pool, keep)
        more = len(records) > page_size
        records = records[:page_size]
        return [self.resource(r) for r in records], (records[-1].name if more else None)

    def update(self, name: str, body: dict) -> dict:
        """PUT: only ``spec.stopped`` (and on resume ``principal``, ``compute_pool_id``) may change."""
        with self.records:
            record = self._record(name)
            if body.get("name") not in (None, name):
                raise _bad_request(f"The name in the body ('{body.get('name')}') is not the statement's ('{name}').")
            version = (body.get("metadata") or {}).get("resource_version")
            if version != str(record.version):
                raise ApiError(409, f"Statement '{name}' has changed since it was read (resource_version "
                               f"{version!r}, now {str(record.version)!r}): read it again and retry.",
                               code="conflict", title="Conflict")
            spec = body.get("spec") or {}
            return self._apply(record, spec)

    def patch(self, name: str, operations: list[dict]) -> dict:
        """JSON Patch on ``/spec/stopped`` (and ``/spec/principal``, ``/spec/compute_pool_id``)."""
        with self.records:
            record = self._record(name)
            spec = dict(record.spec)
            for operation in operations:
                op = str(operation.get("op", "")).lower()
                path = operation.get("path", "")
                field = path.removeprefix("/spec/")
                if op not in ("add", "replace") or field not in ("stopped", "principal", "compute_pool_id"):
                    raise _bad_request(f"Only 'replace' of /spec/stopped, /spec/principal and /spec/compute_pool_id "
                                       f"is supported, not {op} {path}.")
                spec[field] = operation.get("value")
            return self._apply(record, spec)

    def _apply(self, record: StatementRecord, spec: dict) -> dict:
        for immutable in ("statement", "properties"):
            if immutable in spec and spec[immutable] != record.spec[immutable] and not (
                    immutable == "properties" and not spec[immutable] and not record.spec[immutable]):
                raise _bad_request(f"spec.{immutable} of statement '{record.name}' cannot be changed; "
                                   "create a new statement instead.")
        stopped = bool(spec.get("stopped", record.spec["stopped"]))
        resuming = record.spec["stopped"] and not stopped
        for field in ("principal", "compute_pool_id"):
            if spec.get(field) and spec[field] != record.spec[field]:
                if not resuming:
                    raise _bad_request(f"spec.{field} may only change when the statement is resumed.")
                record.spec[field] = spec[field]
        if stopped != record.spec["stopped"]:
            record.spec["stopped"] = stopped
            if stopped and record.phase in ("PENDING", "RUNNING", "DEGRADED"):
                record.phase = "STOPPING"
                record.detail = "Statement is being stopped."
            elif not stopped and record.phase in ("STOPPED", "STOPPING"):
                record.phase = "PENDING"
                record.detail = "Statement is being resumed."
                record.end_time = None
            self.phase_asked.set()
        record.version += 1
        record.updated_at = datetime.now(timezone.utc)
        self.statements.save(record)
        return self.resource(record)

    def delete(self, name: str) -> None:
        with self.lock, self.records:
            record = self._record(name)
            self.statements.delete(name)
            self.engine.forget(record)

    def results(self, name: str, page_token: str | None) -> tuple[list[dict], int | None]:
        """One page of results and the next token (None when a bounded statement has no more)."""
        with self.lock:
            record = self._record(name)
            try:
                start = int(page_token or 0)
            except ValueError:
                raise _bad_request(f"Invalid page_token {page_token!r}.") from None
            rows = self.engine.results(record.uid, start, RESULTS_PAGE)
            finished = record.phase in ("COMPLETED", "FAILED", "STOPPED") or (record.traits or {}).get("is_bounded")
            end = start + len(rows)
            more = len(rows) == RESULTS_PAGE or not finished or end < record.job.get("result_seq", 0)
            return rows, (end if more else None)

    def exceptions(self, name: str) -> list[dict]:
        with self.lock:
            return list(self._record(name).exceptions)

    # -- background steps ------------------------------------------------------------------------

    def tick(self) -> bool:
        """Advance every statement one step; True if any consumed input or changed phase. Stops and
        starts come first, and again between the running statements' steps whenever one was asked
        for: on Confluent Cloud a stop or a start does not wait for the other statements' data."""
        busy = self._change_phases()
        with self.lock:
            records = self.statements.in_phases(ACTIVE)
        for record in records:
            busy |= self._step(record)
            if self.phase_asked.is_set():
                busy |= self._change_phases()
        return busy

    def _step(self, record: StatementRecord) -> bool:
        """One step of one statement, unless it waits for its next mini-batch or has nothing to read."""
        if self._waiting(record):
            return False
        if self._caught_up(record):  # its step would consume nothing: not read again, not stepped
            if record.job.get("kind") == "insert":
                self._stepped[record.uid] = time.monotonic()
            return False
        self.lock.give_way()
        self.store.lock.give_way()
        with self.lock:  # the calls let in first may have asked for stops and starts: they come first
            changed = self._change_phases() if self.phase_asked.is_set() else False
            current = self.statements.get(record.name)
            if current is None or current.phase not in ("RUNNING", "DEGRADED"):
                changing = current is not None and current.phase in CHANGING
                return (changing and self._change_phases()) or changed
            return self._run(current) or changed

    def _change_phases(self) -> bool:
        """Advance every statement being stopped or started (a start waiting for the statement it
        carries state over from stays PENDING)."""
        self.phase_asked.clear()
        busy = False
        with self.lock:
            for record in self.statements.in_phases(CHANGING):
                with self.records:
                    current = self.statements.get(record.name)
                    if current is not None and current.phase in CHANGING:
                        busy |= self._change_phase(current)
        return busy

    def _change_phase(self, record: StatementRecord) -> bool:
        if record.phase == "STOPPING":
            record.latest_offsets = {t: format_offsets({int(p): o for p, o in offs.items()})
                                     for t, offs in record.job.get("offsets", {}).items()}
            record.latest_offsets_timestamp = datetime.now(timezone.utc)
            record.phase = "STOPPED"
            record.detail = "Statement was stopped."
            record.end_time = datetime.now(timezone.utc)
            self._save(record)
            return True
        if record.phase == "PENDING" and "plan" not in record.job:  # never planned: nothing can run
            self.engine.fail(record, "Statement execution failed: the statement was never planned.",
                             "java.lang.RuntimeException")
            self._save(record)
            return True
        waiting_for = record.job.get("wait_for")  # PENDING: started, or resumed
        if waiting_for:
            previous = self.statements.get(waiting_for)
            if previous is None or previous.phase != "STOPPED":
                return False
            self.engine.apply_carry_over(record, previous)
        else:
            record.phase = "RUNNING"
            record.detail = ""
        self._save(record)
        return True

    def _run(self, record: StatementRecord) -> bool:
        """One step of a running statement. A stop asked meanwhile is kept: the step's progress is
        saved into the statement's document as it is now."""
        if record.job.get("kind") == "insert":  # tick() skips it until INSERT_STEP_SECONDS have passed
            self._stepped[record.uid] = time.monotonic()
        consumed, failed = False, None
        try:
            consumed = self.engine.step(record)
        except StatementFailed as failure:
            failed = (failure.detail, failure.name)
        except Exception as err:  # noqa: BLE001 - a runtime error fails the statement, as in Flink
            log.exception("statement %s failed", record.name)
            failed = (f"Statement execution failed: {err}", "java.lang.RuntimeException")
        if not consumed and failed is None:
            return False
        with self.records:
            current = self.statements.get(record.name) or record
            current.job = record.job
            if failed is not None:
                self.engine.fail(current, *failed)
            self._save(current, changed=failed is not None)
        return True

    def _caught_up(self, record: StatementRecord) -> bool:
        """A running statement that has consumed every record of its sources (read from ``record``,
        which may be older than the stored one: its offsets only grow). A source whose topic is gone
        counts as not caught up, so that the step fails the statement."""
        offsets = record.job.get("offsets")
        if record.phase not in ("RUNNING", "DEGRADED") or not offsets:
            return False
        for topic, consumed in offsets.items():
            ends = self.topics.end_offsets(topic)
            if not ends or any(ends.get(int(p), 0) > o for p, o in consumed.items()):
                return False
        return True

    def _waiting(self, record: StatementRecord) -> bool:
        """A running INSERT that stepped less than ``INSERT_STEP_SECONDS`` ago."""
        return (record.phase in ("RUNNING", "DEGRADED") and record.job.get("kind") == "insert"
                and time.monotonic() - self._stepped.get(record.uid, 0.0) < INSERT_STEP_SECONDS)

    def _save(self, record: StatementRecord, changed: bool = True) -> None:
        """Store a record; a change of what the API shows bumps ``resource_version`` and ``updated_at``
        (processing records does not: a running statement's resource stays as it was, so a stop's
        read-then-PUT does not race the data flowing through it)."""
        if changed:
            record.version += 1
            record.updated_at = datetime.now(timezone.utc)
        self.statements.save(record)

    # -- progress (the Metrics API reads these) ----------------------------------------------------

    def pending_records(self, record: StatementRecord) -> int:
        """Records in the sources not consumed yet (the console's "Messages Behind")."""
        pending = 0
        for table, offsets in record.job.get("offsets", {}).items():
            ends = self.topics.end_offsets(table)
            pending += sum(max(0, ends.get(int(p), 0) - o) for p, o in offsets.items())
        return pending

    def progress(self) -> list[dict[str, Any]]:
        """Counters of every statement with a job: name, compute pool, records in/out, pending."""
        with self.lock:
            return [
                {
                    "name": r.name,
                    "compute_pool_id": r.spec["compute_pool_id"],
                    "phase": r.phase,
                    "records_in": r.job.get("records_in", 0),
                    "records_out": r.job.get("records_out", 0),
                    "pending_records": self.pending_records(r) if r.phase in ACTIVE + ("STOPPED",) else 0,
                    "last_record_at": r.job.get("last_record_at"),
                }
                for r in self.statements.all()
                if "offsets" in r.job
            ]

    # -- SHOW JOBS -------------------------------------------------------------------------------

    def _show_jobs(self, record: StatementRecord) -> None:
        names = ["Name", "Phase", "Statement", "Compute Pool", "Creation Time", "Detail"]
        rows = [(r.name, r.phase, r.spec["statement"], r.spec["compute_pool_id"], rfc3339(r.created_at), r.detail)
                for r in self.statements.all() if r.job.get("kind") in ("insert", "select")]
        columns = [Column(n, "STRING", False) for n in names]
        self.engine._complete(record, "SHOW_JOBS", columns, rows)  # noqa: SLF001 - same package

    # -- resource documents ------------------------------------------------------------------------

    def statement_url(self, name: str = "") -> str:
        c = self.config
        base = f"{c.url}/sql/v1/organizations/{c.organization_id}/environments/{c.environment_id}/statements"
        return f"{base}/{name}" if name else base

    def resource(self, record: StatementRecord) -> dict:
        status: dict[str, Any] = {"phase": record.phase, "detail": record.detail, "network_kind": "PUBLIC"}
        if record.traits is not None:
            status["traits"] = record.traits
        if record.latest_offsets is not None:
            status["latest_offsets"] = record.latest_offsets
            status["latest_offsets_timestamp"] = rfc3339(record.latest_offsets_timestamp)
        if record.end_time is not None and record.phase in ("COMPLETED", "FAILED", "STOPPED"):
            status["end_time"] = rfc3339(record.end_time)
            if record.start_time is not None:
                seconds = max(0.0, (record.end_time - record.start_time).total_seconds())
                status["duration"] = f"PT{seconds:.3f}S"
        return {
            "api_version": "sql/v1",
            "kind": "Statement",
            "metadata": {
                "self": self.statement_url(record.name),
                "created_at": rfc3339(record.created_at),
                "updated_at": rfc3339(record.updated_at),
                "uid": record.uid,
                "resource_version": str(record.version),
                "labels": dict(record.labels),
            },
            "name": record.name,
            "organization_id": self.config.organization_id,
            "environment_id": self.config.environment_id,
            "spec": {**record.spec, "statement_name": record.name, "execution_mode": "streaming"},
            "status": status,
        }
