"""A time series of the Flink statements' counters (table ``metrics_samples``), sampled about once a
second by the executor thread and at every query, kept for six hours."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sandbox.store import Store, insert_rows

SAMPLE_SECONDS = 1.0
RETENTION = timedelta(hours=6)


class MetricSeries:
    def __init__(self, store: Store, progress: Callable[[], list[dict[str, Any]]]) -> None:
        self.store = store
        self.progress = progress
        self._last = 0.0
        store.execute(
            "CREATE TABLE IF NOT EXISTS metrics_samples (ts TIMESTAMPTZ, statement VARCHAR, compute_pool VARCHAR,"
            " records_in BIGINT, records_out BIGINT, pending BIGINT)"
        )

    def sample(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < SAMPLE_SECONDS:
            return
        self._last = now
        moment = datetime.now(timezone.utc)
        rows = [(moment, p["name"], p["compute_pool_id"], p["records_in"], p["records_out"], p["pending_records"])
                for p in self.progress()]
        with self.store.transaction() as conn:
            insert_rows(conn, "metrics_samples", ("TIMESTAMPTZ", "VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "BIGINT"),
                        rows)
            conn.execute("DELETE FROM metrics_samples WHERE ts < ?", [moment - RETENTION])

    def samples(self, start: datetime, end: datetime) -> list[tuple]:
        """(ts, statement, compute_pool, records_in, records_out, pending) from the last sample before
        ``start`` (the baseline of counters) up to ``end``, ordered by time."""
        return self.store.execute(
            "SELECT ts, statement, compute_pool, records_in, records_out, pending FROM metrics_samples"
            " WHERE ts < ? AND (ts >= ? OR ts = (SELECT max(ts) FROM metrics_samples m"
            "   WHERE m.statement = metrics_samples.statement AND m.ts < ?)) ORDER BY ts",
            [end, start, start],
        )
