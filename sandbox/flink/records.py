"""Statement records: what the statements API knows of each statement, persisted in
``flink_statements`` (one JSON document per statement, written behind each change: see
:meth:`StatementTable.save`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from sandbox.store import Store

MAX_EXCEPTIONS = 10
FINISHED = ("COMPLETED", "FAILED")  # phases a statement never leaves


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class StatementRecord:
    name: str
    uid: str
    spec: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int = 1
    phase: str = "PENDING"
    detail: str = ""
    traits: dict[str, Any] | None = None
    latest_offsets: dict[str, str] | None = None
    latest_offsets_timestamp: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    exceptions: list[dict[str, str]] = field(default_factory=list)
    job: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # metadata.labels given on create

    def add_exception(self, name: str, message: str) -> None:
        self.exceptions.insert(0, {"name": name, "message": message, "timestamp": rfc3339(datetime.now(timezone.utc))})
        del self.exceptions[MAX_EXCEPTIONS:]

    def to_json(self) -> str:
        doc = {f.name: getattr(self, f.name) for f in fields(self)}  # asdict's deep copy cost every save
        for key in ("created_at", "updated_at", "latest_offsets_timestamp", "start_time", "end_time"):
            doc[key] = rfc3339(doc[key])
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> StatementRecord:
        doc = json.loads(text)
        for key in ("created_at", "updated_at", "latest_offsets_timestamp", "start_time", "end_time"):
            doc[key] = _parse(doc[key])
        return cls(**doc)


PAGE_READ = 200  # records read per query while a page of the list is gathered


class StatementTable:
    """Persistence of statement records."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._decoded: dict[str, tuple[str, StatementRecord]] = {}  # name -> (document, record): in_phases
        self._saved: dict[str, str] = {}  # name -> document as last saved, until it ends: read lock-free
        # name -> (created_at, document, phase) saved, not yet written to the store
        self._unwritten: dict[str, tuple[datetime, str, str]] = {}
        self._unwritten_lock = threading.Lock()
        store.execute(
            "CREATE TABLE IF NOT EXISTS flink_statements ("
            " name VARCHAR PRIMARY KEY, created_at TIMESTAMPTZ, doc VARCHAR)"
        )
        # the phase beside the document, so a tick reads the live statements only (a data dir of an
        # older sandbox gets the column filled from its documents)
        store.execute("ALTER TABLE flink_statements ADD COLUMN IF NOT EXISTS phase VARCHAR")
        store.execute("UPDATE flink_statements SET phase = json_extract_string(doc, '$.phase') WHERE phase IS NULL")

    def save(self, record: StatementRecord) -> None:
        """Save a record (new or not): read from memory at once, written to the store behind, by the
        next read of the table here (the runner reads it every tick) or :meth:`flush`. A save does
        not wait for the store (a step's transaction holds it), and a burst of creates or stops is
        written in one statement. Callers save each statement's changes in order (the service's
        ``records`` lock)."""
        doc = record.to_json()
        self._keep(record, doc)
        with self._unwritten_lock:
            self._unwritten[record.name] = (record.created_at, doc, record.phase)

    def flush(self) -> None:
        """Write every document saved since the last write."""
        if self._unwritten:
            with self.store.lock:
                with self._unwritten_lock:
                    unwritten, self._unwritten = self._unwritten, {}
                if not unwritten:  # another thread wrote them while this one waited for the lock
                    return
                self.store.execute(
                    "INSERT OR REPLACE INTO flink_statements (name, created_at, doc, phase) SELECT"
                    " unnest(?::VARCHAR[]), unnest(?::TIMESTAMPTZ[]), unnest(?::VARCHAR[]),"
                    " unnest(?::VARCHAR[])",
                    [list(unwritten), *(list(column) for column in zip(*unwritten.values()))])

    def _keep(self, record: StatementRecord, doc: str) -> None:
        """Keep the document of a statement that may still change (a finished one is read from the
        store: the checks leave thousands of them over a sandbox's life)."""
        if record.phase in FINISHED:
            self._saved.pop(record.name, None)
        else:
            self._saved[record.name] = doc

    def _select(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        """Rows of the table with every save in it."""
        self.flush()
        return self.store.execute(sql, params)

    def delete(self, name: str) -> None:
        with self.store.lock:
            self.flush()
            self.store.execute("DELETE FROM flink_statements WHERE name = ?", [name])
        self._saved.pop(name, None)

    def get(self, name: str) -> StatementRecord | None:
        """The record as last saved (a copy): a statement that has not finished is read without
        waiting for the store's lock (a step in progress does not delay it); others from the store."""
        unwritten = self._unwritten.get(name)
        doc = unwritten[1] if unwritten else self._saved.get(name)
        if doc is None:  # written: a flush swaps the unwritten ones out under the store's lock, then writes
            row = self.store.query_one("SELECT doc FROM flink_statements WHERE name = ?", [name])
            doc = None if row is None else row[0]
        return None if doc is None else StatementRecord.from_json(doc)

    def page(self, after: str | None, limit: int, compute_pool: str | None = None,
             keep: Callable[[StatementRecord], bool] | None = None) -> list[StatementRecord]:
        """Up to ``limit + 1`` records named after ``after``, in name order (the extra one says "more"),
        of those in ``compute_pool`` that ``keep`` accepts; read a few hundred at a time, not all."""
        found: list[StatementRecord] = []
        cursor = after or ""
        while len(found) <= limit:
            rows = self._select("SELECT name, doc FROM flink_statements WHERE name > ? ORDER BY name LIMIT ?",
                                [cursor, PAGE_READ])
            if not rows:
                break
            for _, doc in rows:
                record = StatementRecord.from_json(doc)
                if (not compute_pool or record.spec.get("compute_pool_id") == compute_pool) and (
                        keep is None or keep(record)):
                    found.append(record)
            cursor = rows[-1][0]
        return found[: limit + 1]

    def all(self) -> list[StatementRecord]:
        return [StatementRecord.from_json(r[0]) for r in self._select(
            "SELECT doc FROM flink_statements ORDER BY created_at", [])]

    def in_phases(self, phases: Sequence[str]) -> list[StatementRecord]:
        """The records in one of ``phases``, oldest first, without reading the others. To be read, not
        changed: a record whose stored document has not changed since the last call is the same object
        (the executor's ticks and the world's polls ask several times a second; decoding every running
        statement's document each time was most of what an idle sandbox did)."""
        records = []
        for name, doc in self._select(
                f"SELECT name, doc FROM flink_statements WHERE phase IN ({', '.join('?' * len(phases))})"
                " ORDER BY created_at", list(phases)):
            cached = self._decoded.get(name)
            if cached is None or cached[0] != doc:
                cached = self._decoded[name] = (doc, StatementRecord.from_json(doc))
            records.append(cached[1])
        if len(self._decoded) > 2 * len(records) + 100:  # statements long gone
            self._decoded = {r.name: self._decoded[r.name] for r in records}
        return records
