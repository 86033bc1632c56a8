"""The encarta world: the guide's source CDC tables with a few thousand realistic rows, the four
derived tables created by the project's own v1 DDL and filled by its v1 pipelines (RUNNING under the
manifest's statement names), and a change generator making live traffic.

Everything goes through the sandbox's Flink engine exactly as an HTTP statement would: the world
submits the project's SQL files as statements and appends source records to the tables' topics.
Built once per data directory; a restart finds it in the store and only resumes the traffic (the
engine itself resumes its RUNNING statements).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any

from sandbox.world.changes import AppliedWatermark, ChangeGenerator, ChangeLog, Positions, row_key
from sandbox.world.layout import encarta_layout
from sandbox.world.rows import RowSynthesiser, TableSpec, referenced_table

log = logging.getLogger(__name__)

SEED = 20240917
# Rows per source table, by the table's short name; tables not named get DEFAULT_ROWS.
ROWS = {"products": 400, "skus": 1200, "uoms": 2400, "sku_classifications": 1200,
        "product_classifications": 600}
DEFAULT_ROWS = 600
BATCH = 500
STATEMENT_TIMEOUT = 60.0


class WorldBuildError(RuntimeError):
    """The world could not be built; the message names the statement or table and why."""


class EncartaWorld:
    """Builds (once) and runs the encarta world inside one sandbox."""

    def __init__(self, sandbox) -> None:  # noqa: ANN001 - sandbox.server.Sandbox
        self.sandbox = sandbox
        self.flink = sandbox.flink
        self.store = sandbox.store
        self.change_log = ChangeLog(self.store)
        self.store.execute("CREATE TABLE IF NOT EXISTS world_state (key VARCHAR PRIMARY KEY, value VARCHAR)")
        self.layout = encarta_layout(manifest=sandbox.config.manifest)
        derived = [f.table for f in self.layout.derived]
        self.applied = AppliedWatermark(self.change_log, derived, self._positions)
        self.sources: dict[str, TableSpec] = {}
        self.current: dict[str, dict[str, dict[str, Any]]] = {}
        self.synthesiser: RowSynthesiser | None = None
        self.generator: ChangeGenerator | None = None
        self.state = "building"
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Build the world in the background (or find it built) and start the traffic."""
        self._thread = threading.Thread(target=self._build_and_run, name="encarta-world", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self.generator is not None:
            self.generator.stop()

    def _build_and_run(self) -> None:
        try:
            if self._meta("built_at") is None:
                self._build()
            else:
                self._know_sources()
                self._load_current()
            self.generator = ChangeGenerator(
                tables=self.sources,
                current=self.current,
                synthesiser=self.synthesiser,
                produce=self._produce,
                log_=self.change_log,
                changes_per_second=self.sandbox.config.changes_per_second,
                applied=self.applied,
            )
            self.state = "ready"
            self.generator.start()
        except Exception as exc:  # noqa: BLE001 - reported through the status endpoint
            log.exception("the encarta world failed to build")
            self.state, self.error = "failed", f"{type(exc).__name__}: {exc}"

    # -- build --------------------------------------------------------------------------------
    def _build(self) -> None:
        started = time.monotonic()
        for ddl in self.layout.sources:
            self._run_to_completion(ddl.statement, ddl.sql)
        self._know_sources()
        rows = self._initial_rows()
        for name, table_rows in rows.items():
            for start in range(0, len(table_rows), BATCH):
                self.flink.produce(name, table_rows[start:start + BATCH])
        for ddl in self.layout.derived:
            self._run_to_completion(ddl.statement, ddl.sql)
        for pipeline in self.layout.pipelines:
            resource = self.flink.submit(pipeline.statement, pipeline.sql, self._properties())
            self._wait_for_phase(pipeline.statement, resource, {"RUNNING"})
        self.flink.wait_idle(timeout=STATEMENT_TIMEOUT)
        self._set_meta("built_at", datetime.now(timezone.utc).isoformat())
        self._set_meta("build_seconds", f"{time.monotonic() - started:.2f}")
        self._set_meta("initial_rows", json.dumps({n: len(r) for n, r in rows.items()}))
        log.info("encarta world built in %.1fs", time.monotonic() - started)

    def _know_sources(self) -> None:
        """The source tables as the engine's catalog holds them (after their DDL ran)."""
        self.sources = {f.table: TableSpec.of(self.flink.catalog.get(f.table)) for f in self.layout.sources}
        self.current = {name: {} for name in self.sources}
        self.synthesiser = RowSynthesiser(self.sources, seed=SEED, now=datetime.now(timezone.utc))

    def _parents_first(self) -> list[str]:
        """Source tables ordered so that a table comes after those its ``<x>_id`` columns refer to."""
        ordered: list[str] = []

        def visit(name: str, trail: tuple[str, ...] = ()) -> None:
            if name in ordered or name in trail:
                return
            for column in self.sources[name].columns:
                parent = referenced_table(column.name, self.sources)
                if parent is not None and parent.name != name:
                    visit(parent.name, (*trail, name))
            ordered.append(name)

        for name in self.sources:
            visit(name)
        return ordered

    def _initial_rows(self) -> dict[str, list[dict[str, Any]]]:
        """Parents before children, so ``<x>_id`` columns refer to existing keys."""
        rows: dict[str, list[dict[str, Any]]] = {}
        for name in self._parents_first():
            table = self.sources[name]
            rows[name] = []
            for _ in range(ROWS.get(table.short_name, DEFAULT_ROWS)):
                row = self.synthesiser.new_row(table)
                self.synthesiser.remember(table, row)
                rows[name].append(row)
                self.current[name][row_key(table, row)] = row
        return rows

    def _load_current(self) -> None:
        """After a restart: the source tables' rows as the engine holds them."""
        for name, table in self.sources.items():
            for row in self.flink.table_rows(name):
                self.synthesiser.remember(table, row)
                self.current[name][row_key(table, row)] = row

    def _properties(self) -> dict[str, str]:
        c = self.sandbox.config
        return {"sql.current-catalog": c.catalog, "sql.current-database": c.database}

    def _run_to_completion(self, name: str, sql: str) -> None:
        resource = self.flink.submit(name, sql, self._properties())
        self._wait_for_phase(name, resource, {"COMPLETED"})

    def _wait_for_phase(self, name: str, resource: dict, wanted: set[str]) -> None:
        deadline = time.monotonic() + STATEMENT_TIMEOUT
        while (phase := resource["status"]["phase"]) not in wanted:
            if phase in ("FAILED", "STOPPED", "COMPLETED") or time.monotonic() > deadline:
                raise WorldBuildError(
                    f"statement {name} is {phase}, expected {'/'.join(sorted(wanted))}: "
                    f"{resource['status'].get('detail', '')}\n{resource['spec']['statement']}"
                )
            time.sleep(0.05)
            resource = self.flink.get(name)

    def _produce(self, batches: dict[str, list[dict[str, Any]]]) -> None:
        """Append each source table's rows in one turn of the engine's lock: the pipelines' steps hold
        it for a while, so waiting once per batch rather than once per table keeps up the rate."""
        with self.flink.lock:
            for name, rows in batches.items():
                self.flink.produce(name, rows)

    def _positions(self) -> Positions:
        """The world tables' end offsets and the offsets read by the RUNNING statements writing the
        derived tables, at one instant (under the engine's lock, so no step is half done)."""
        derived = {f.table for f in self.layout.derived}
        with self.flink.lock:
            writers: dict[str, list[dict[str, dict[int, int]]]] = {}
            for record in self.flink.statements.in_phases(["RUNNING"]):
                sink = record.job.get("sink")
                if sink in derived:
                    consumed = record.job.get("offsets", {}).items()
                    writers.setdefault(sink, []).append(
                        {t: {int(p): o for p, o in offs.items()} for t, offs in consumed})
            ends = {t: self.flink.topics.end_offsets(t) for t in self.layout.table_names()}
        return Positions(ends, writers)

    # -- state --------------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self.store.query_one("SELECT value FROM world_state WHERE key = ?", [key])
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.store.execute("INSERT OR REPLACE INTO world_state VALUES (?, ?)", [key, value])

    def status(self, count_rows: bool = True) -> dict[str, Any]:
        """The document ``GET /sandbox/v1/world`` answers (``count_rows``: with rows per table)."""
        c = self.sandbox.config
        ready = self.state == "ready"
        applied = self.applied.poll() if ready else 0
        made = self.change_log.last_seq()  # read after applied: never below it
        tables = self.layout.table_names() if ready and count_rows else []
        return {
            "world": "encarta",
            "state": self.state,
            "error": self.error,
            "organization_id": c.organization_id,
            "environment_id": c.environment_id,
            "built_at": self._meta("built_at"),
            "build_seconds": float(self._meta("build_seconds") or 0) or None,
            "sources": [f.table for f in self.layout.sources],
            "pipelines": [{"statement": p.statement, "table": p.table} for p in self.layout.pipelines],
            "tables": {name: len(self.flink.table_rows(name)) for name in tables},
            "changes": {
                "made": made,
                "applied": applied,
                "paused": bool(self.generator and self.generator.paused),
                "per_second": self.generator.changes_per_second if self.generator else c.changes_per_second,
                "errors": list(self.generator.errors) if self.generator else [],
            },
        }
