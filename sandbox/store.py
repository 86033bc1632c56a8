"""The sandbox's durable state: one DuckDB file under ``--data-dir``, shared by every API.

DuckDB connections are not safe to share between threads without care, so every access goes
through one lock. Each API module owns its own tables (prefixed ``sr_``, ``flink_``, ...) and
creates them in its ``__init__``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb


GIVE_WAY_SECONDS = 0.25  # the longest a background step waits for the API calls waiting before it


class ApiFirstLock:
    """A reentrant lock that background work gives way to: before each step, the statements'
    runner lets the API calls waiting for the lock go first (:meth:`give_way`), so that a call waits
    for one step at most, not for every step the runner takes again first. On Confluent Cloud the
    API's answers do not slow down with the work of the statements."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._count = threading.Lock()
        self.waiting = 0  # threads blocked in acquire

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        with self._count:
            self.waiting += 1
        try:
            return self._lock.acquire(timeout=timeout)
        finally:
            with self._count:
                self.waiting -= 1

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def give_way(self, limit: float = GIVE_WAY_SECONDS) -> None:
        """Wait (at most ``limit`` seconds) until no thread is blocked acquiring the lock."""
        deadline = time.monotonic() + limit
        while self.waiting and time.monotonic() < deadline:
            time.sleep(0.001)


class Store:
    """A locked DuckDB connection on ``<data_dir>/sandbox.duckdb``."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "sandbox.duckdb"
        # one thread: every access is serialised by the lock, and parallel scans of tables this
        # small cost more CPU than they save (the whole sandbox used 16 % less side by side)
        self._conn = duckdb.connect(str(self.path), config={"threads": 1})
        self.lock = ApiFirstLock()
        self._on_rollback: list[Callable[[], None]] = []

    def on_rollback(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after a transaction rolls back (e.g. to drop a cache of what it wrote)."""
        self._on_rollback.append(callback)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        """Run one statement and return all its rows (empty for statements without a result)."""
        with self.lock:
            cursor = self._conn.execute(sql, params or [])
            return cursor.fetchall() if cursor.description else []

    def query_one(self, sql: str, params: Sequence[Any] | None = None) -> tuple | None:
        rows = self.execute(sql, params)
        return rows[0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Hold the lock and run the block in one transaction; roll back if it raises."""
        with self.lock:
            self._conn.execute("BEGIN TRANSACTION")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                for callback in self._on_rollback:
                    callback()
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self._conn.close()


def insert_rows(conn: duckdb.DuckDBPyConnection, target: str, types: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """``INSERT INTO target`` the rows in one statement, a list per column of DuckDB type ``types[i]``
    (``executemany`` runs one statement per row: 50 times slower for 200 rows here)."""
    if rows:
        unnested = ", ".join(f"unnest(${i + 1}::{duck}[])" for i, duck in enumerate(types))
        conn.execute(f"INSERT INTO {target} SELECT {unnested}", [list(column) for column in zip(*rows)])
