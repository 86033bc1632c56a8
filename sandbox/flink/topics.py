"""Kafka topics as the sandbox keeps them: per partition, an append-only log of records with offsets.

A record is ``(op, key, value)``: ``op`` is the changelog kind (``+I``, ``-U``, ``+U``, ``-D``; a
``-D`` on an upsert topic is a tombstone), ``key`` the JSON of the primary-key columns (or null) and
``value`` the JSON of the row by column name. Rows are stored by field name, so a row written before
a column existed reads that column's default. Keyed records go to ``hash(key) % partitions``;
unkeyed ones are spread round-robin, as Kafka's producers do.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from sandbox.store import Store, insert_rows

Offsets = dict[int, int]  # partition -> next offset to read
RECORD_TYPES = ("VARCHAR", "INTEGER", "BIGINT", "VARCHAR", "VARCHAR", "VARCHAR")  # topic, part, off, op, rkey, value


@dataclass(frozen=True)
class Record:
    op: str
    key: str | None
    value: str | None


def format_offsets(offsets: Offsets) -> str:
    """``{0: 100, 1: 200}`` -> ``"partition:0,offset:100;partition:1,offset:200"`` (Confluent's form)."""
    return ";".join(f"partition:{p},offset:{o}" for p, o in sorted(offsets.items()))


def parse_offsets(text: str) -> Offsets:
    offsets: Offsets = {}
    for part in filter(None, text.split(";")):
        fields = dict(item.split(":", 1) for item in part.split(","))
        offsets[int(fields["partition"])] = int(fields["offset"])
    return offsets


class Topics:
    """All topics of the sandbox's Kafka cluster, in tables ``flink_partitions`` and ``flink_records``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.execute(
            "CREATE TABLE IF NOT EXISTS flink_partitions ("
            " topic VARCHAR, part INTEGER, end_offset BIGINT, PRIMARY KEY (topic, part))"
        )
        store.execute(
            "CREATE TABLE IF NOT EXISTS flink_records ("
            " topic VARCHAR, part INTEGER, off BIGINT, op VARCHAR, rkey VARCHAR, value VARCHAR,"
            " ts TIMESTAMPTZ DEFAULT current_timestamp)"
        )
        self._round_robin: dict[str, int] = {}
        # every topic's end offsets, read once and kept in step with each write (every read of the
        # world's and the statements' positions asks for them); dropped when a transaction rolls back
        self._ends: dict[str, Offsets] | None = None
        store.on_rollback(self._forget_ends)
        self._generations: dict[str, int] = {}  # bumped when a topic is created or deleted

    def generation(self, topic: str) -> int:
        """Changes when ``topic`` is created or deleted (within this process): a cache of its
        contents made at another generation is stale."""
        return self._generations.get(topic, 0)

    def _forget_ends(self) -> None:
        self._ends = None

    def _all_ends(self) -> dict[str, Offsets]:
        if self._ends is None:
            ends: dict[str, Offsets] = {}
            for topic, part, end in self.store.execute("SELECT topic, part, end_offset FROM flink_partitions"):
                ends.setdefault(topic, {})[part] = end
            self._ends = ends
        return self._ends

    def create(self, topic: str, partitions: int) -> None:
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT INTO flink_partitions VALUES (?, ?, 0)", [(topic, p) for p in range(partitions)]
            )
            self._all_ends()[topic] = {p: 0 for p in range(partitions)}
            self._generations[topic] = self.generation(topic) + 1

    def delete(self, topic: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM flink_partitions WHERE topic = ?", [topic])
            conn.execute("DELETE FROM flink_records WHERE topic = ?", [topic])
            self._all_ends().pop(topic, None)
            self._generations[topic] = self.generation(topic) + 1

    def exists(self, topic: str) -> bool:
        with self.store.lock:
            return topic in self._all_ends()

    def end_offsets(self, topic: str) -> Offsets:
        """The next offset of each partition of ``topic`` (empty if it does not exist)."""
        with self.store.lock:
            return dict(self._all_ends().get(topic, {}))

    def append(self, topic: str, records: Sequence[Record], conn: duckdb.DuckDBPyConnection | None = None) -> Offsets:
        """Append records (inside the caller's transaction if ``conn`` is given); return new end offsets."""
        if conn is None:
            with self.store.transaction() as own:
                return self.append(topic, records, own)
        ends = self.end_offsets(topic)
        if not ends:
            raise KeyError(topic)
        count = len(ends)
        changed: set[int] = set()
        rows = []
        for record in records:
            if record.key is not None:
                part = zlib.crc32(record.key.encode()) % count
            else:
                part = self._round_robin.get(topic, 0) % count
                self._round_robin[topic] = part + 1
            rows.append((topic, part, ends[part], record.op, record.key, record.value))
            ends[part] += 1
            changed.add(part)
        if rows:
            insert_rows(conn, "flink_records (topic, part, off, op, rkey, value)", RECORD_TYPES, rows)
            conn.execute(
                "UPDATE flink_partitions SET end_offset = u.e FROM (SELECT unnest($1::INTEGER[]) AS p,"
                " unnest($2::BIGINT[]) AS e) AS u WHERE topic = $3 AND part = u.p",
                [sorted(changed), [ends[p] for p in sorted(changed)], topic])
            self._all_ends()[topic] = dict(ends)
        return ends

    @staticmethod
    def range_condition(start: Offsets, end: Offsets) -> str:
        """SQL condition selecting records at ``start <= offset < end`` per partition."""
        terms = [
            f"(part = {p} AND off >= {start.get(p, 0)} AND off < {o})"
            for p, o in end.items()
            if o > start.get(p, 0)
        ]
        return " OR ".join(terms) if terms else "FALSE"
