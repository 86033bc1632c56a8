"""The world's live traffic: a background thread inserting and updating source rows at a steady rate,
and the durable log of every change it made (table ``world_changes``), so a test can check that each
one reached the derived tables.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sandbox.store import Store, insert_rows
from sandbox.world.rows import RowSynthesiser, TableSpec

log = logging.getLogger(__name__)

INSERT_SHARE = 0.25  # of the changes; the rest update an existing row
# the generator's period: each tick appends its changes in one transaction per table (a shorter one
# spent more on transactions than on changes; the pipelines' steps come every 2 s anyway)
TICK_SECONDS = 0.25


@dataclass(frozen=True)
class Change:
    """One change the generator made to a source table."""

    seq: int
    table: str
    key: str
    op: str  # "insert" | "update"
    updated_at: datetime | None
    wall_time: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "table": self.table,
            "key": self.key,
            "op": self.op,
            "updated_at": _iso(self.updated_at),
            "wall_time": _iso(self.wall_time),
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


CHANGE_TYPES = ("BIGINT", "VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMPTZ", "TIMESTAMPTZ")  # of world_changes' columns


class ChangeLog:
    """Every change the generator made, in order, in the sandbox store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.execute(
            "CREATE TABLE IF NOT EXISTS world_changes (seq BIGINT PRIMARY KEY, table_name VARCHAR NOT NULL,"
            " key VARCHAR NOT NULL, op VARCHAR NOT NULL, updated_at TIMESTAMPTZ, wall_time TIMESTAMPTZ NOT NULL)"
        )

    def last_seq(self) -> int:
        return self.store.query_one("SELECT COALESCE(MAX(seq), 0) FROM world_changes")[0]

    def record(self, changes: list[tuple[str, str, str, datetime | None]]) -> list[Change]:
        """Append ``(table, key, op, updated_at)`` changes with the next sequence numbers."""
        wall = datetime.now(timezone.utc)
        with self.store.transaction() as conn:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM world_changes").fetchone()[0]
            recorded = [Change(seq + i, t, k, op, u, wall) for i, (t, k, op, u) in enumerate(changes, 1)]
            insert_rows(conn, "world_changes", CHANGE_TYPES,
                        [(c.seq, c.table, c.key, c.op, c.updated_at, c.wall_time) for c in recorded])
        return recorded

    def since(self, seq: int, limit: int = 1000) -> list[Change]:
        """Changes with a sequence number above ``seq``, oldest first."""
        rows = self.store.execute(
            "SELECT seq, table_name, key, op, updated_at, wall_time FROM world_changes"
            " WHERE seq > ? ORDER BY seq LIMIT ?",
            [seq, limit],
        )
        return [Change(*row) for row in rows]


Offsets = dict[int, int]  # partition -> offset


@dataclass(frozen=True)
class Positions:
    """Where the world's topics end and how far the pipelines writing the derived tables have read
    them, all read at one instant (a pipeline's step consumes its input and writes its output at once).

    ``ends``: every world table's end offsets. ``writers``: per derived table, the consumed offsets
    (per table read) of each RUNNING statement writing it, whatever its name (v1 or v2).
    """

    ends: dict[str, Offsets]
    writers: dict[str, list[dict[str, Offsets]]]


class _Probe:
    """Follows the changes recorded up to ``seq`` through the pipelines, upstream first.

    ``targets`` holds, per world table, the offsets up to which that table holds those changes:
    for the source tables their end offsets when the probe started; for a derived table its end
    offsets at the first instant every pipeline writing it had read its inputs up to their targets.
    """

    def __init__(self, seq: int, derived: tuple[str, ...], positions: Positions) -> None:
        self.seq = seq
        self.derived = derived
        self.targets = {t: ends for t, ends in positions.ends.items() if t not in derived}

    def reached(self, positions: Positions) -> bool:
        """Settle the derived tables that caught up; True once every derived table holds the changes."""
        settled = True
        while settled:
            settled = False
            for table in self.derived:
                writers = positions.writers.get(table, [])
                if table not in self.targets and writers and all(map(self._caught_up, writers)):
                    self.targets[table] = positions.ends.get(table, {})
                    settled = True
        return all(t in self.targets for t in self.derived)

    def outdated(self, positions: Positions) -> bool:
        """A table ends before its target: it was dropped and created again since the probe started."""
        return any(positions.ends.get(t, {}).get(p, 0) < o
                   for t, offs in self.targets.items() for p, o in offs.items())

    def _caught_up(self, consumed: dict[str, Offsets]) -> bool:
        for table, offsets in consumed.items():
            if table in self.derived and table not in self.targets:
                return False  # its upstream pipeline has not caught up yet
            target = self.targets.get(table, {})
            if any(offsets.get(p, 0) < o for p, o in target.items()):
                return False
        return True


class AppliedWatermark:
    """The highest change sequence number whose effect is visible in every derived table.

    Each poll reads the pipelines' positions at one instant. A probe starts from the last recorded
    change (its records are in the source topics before it is recorded) and the source tables' end
    offsets; it completes when the pipelines writing the derived tables, upstream first, have read
    past them; then the watermark moves to the probe's change and a new probe starts. So it never
    exceeds the changes made, does not need the pipelines ever to be idle, and stalls while a derived
    table has no RUNNING writer (e.g. in the middle of a migration's cut-over) or one falls behind.
    """

    def __init__(self, log_: ChangeLog, derived: list[str], positions: Callable[[], Positions]) -> None:
        self.log = log_
        self.derived = tuple(derived)
        self.positions = positions
        self.seq = 0
        self._probe: _Probe | None = None
        self._lock = threading.Lock()

    def poll(self) -> int:
        with self._lock:
            if self._probe is None:
                seq = self.log.last_seq()  # read first: its records are in the source topics already
                positions = self.positions()
                self._probe = _Probe(seq, self.derived, positions)
            else:
                positions = self.positions()
                if self._probe.outdated(positions):
                    self._probe = None
                    return self.seq
            if self._probe.reached(positions):
                self.seq, self._probe = self._probe.seq, None
            return self.seq


class ChangeGenerator:
    """Inserts and updates source rows at ``changes_per_second`` on a daemon thread.

    ``produce({table: rows})`` appends upsert records to the source tables (the engine's topics);
    ``current`` holds each source table's rows by key, as the generator last wrote them.
    """

    def __init__(
        self,
        *,
        tables: dict[str, TableSpec],
        current: dict[str, dict[str, dict[str, Any]]],
        synthesiser: RowSynthesiser,
        produce: Callable[[dict[str, list[dict[str, Any]]]], object],
        log_: ChangeLog,
        changes_per_second: float,
        applied: AppliedWatermark,
    ) -> None:
        self.tables = tables
        self.current = current
        self.synthesiser = synthesiser
        self.produce = produce
        self.log = log_
        self.changes_per_second = changes_per_second
        self.applied = applied
        self._paused = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="world-change-generator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        owed, last = 0.0, time.monotonic()
        while not self._stopping.wait(TICK_SECONDS):
            self._poll_applied()
            now = time.monotonic()
            if self.paused:
                owed, last = 0.0, now
                continue
            owed += (now - last) * max(self.changes_per_second, 0.0)
            last = now
            count = int(owed)
            if count == 0:
                continue
            owed -= count
            try:
                self.make_changes(count)
            except Exception as exc:  # noqa: BLE001 - keep the traffic going, report the failure
                log.exception("world change generator: %d change(s) failed", count)
                self.errors.append(f"{type(exc).__name__}: {exc}")
                del self.errors[:-10]

    def _poll_applied(self) -> None:
        try:
            self.applied.poll()
        except Exception as exc:  # noqa: BLE001 - e.g. the store closing at shutdown
            log.warning("world change generator: cannot read the pipelines' progress: %s", exc)

    def make_changes(self, count: int) -> list[Change]:
        """Make ``count`` changes now: produce them to the source tables, then record them."""
        rng = self.synthesiser.rng
        names = [n for n in self.tables if self.current[n]] or list(self.tables)
        weights = [max(len(self.current[n]), 1) for n in names]
        by_table: dict[str, list[dict[str, Any]]] = {}
        entries: list[tuple[str, str, str, datetime | None]] = []
        for _ in range(count):
            name = rng.choices(names, weights)[0]
            table = self.tables[name]
            moment = datetime.now(timezone.utc)
            rows = self.current[name]
            if not rows or rng.random() < INSERT_SHARE:
                row, op = self.synthesiser.new_row(table, created_at=moment), "insert"
                self.synthesiser.remember(table, row)
            else:
                row = self.synthesiser.updated_row(table, rows[rng.choice(list(rows))], moment)
                op = "update"
            key = row_key(table, row)
            rows[key] = row
            by_table.setdefault(name, []).append(row)
            entries.append((name, key, op, row.get("updated_at")))
        self.produce(by_table)
        return self.log.record(entries)


def row_key(table: TableSpec, row: dict[str, Any]) -> str:
    """The row's primary key as text (parts joined with ``|``)."""
    return "|".join(str(row[c]) for c in table.primary_key)
