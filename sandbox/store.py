"""The sandbox's durable state: one DuckDB file under ``--data-dir``, shared by every API.

DuckDB connections are not safe to share between threads without care, so every access goes
through one lock. Each API module owns its own tables (prefixed ``sr_``, ``flink_``, ...) and
creates them in its ``__init__``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb


class Store:
    """A locked DuckDB connection on ``<data_dir>/sandbox.duckdb``."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "sandbox.duckdb"
        # one thread: every access is serialised by the lock, and parallel scans of tables this
        # small cost more CPU than they save (the whole sandbox used 16 % less side by side)
        self._conn = duckdb.connect(str(self.path), config={"threads": 1})
        self.lock = threading.RLock()

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
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self._conn.close()
