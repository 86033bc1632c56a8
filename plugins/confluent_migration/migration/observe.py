"""Reading the pipelines' state: statements and their readers, subjects, table counts, metrics.

Used by pre-flight (the state before any change and the baseline), by the validation gates and
success criteria after the change, and by the daily health check. Read-only: nothing here changes
Confluent Cloud.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from confluent_migration.concurrent_calls import at_once
from confluent_migration.migration.criteria import Measurements
from confluent_migration.statements import FAILED_PHASES, STOPPED, Statement

if TYPE_CHECKING:
    from confluent_migration.hooks.flink_sql import FlinkSqlHook
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.hooks.metrics import ConfluentMetricsHook
    from confluent_migration.hooks.schema_registry import SchemaRegistryHook

RECORDS_IN = "io.confluent.flink/num_records_in"
OUTPUT_WATERMARK = "io.confluent.flink/current_output_watermark_milliseconds"
LIVE_PHASES = {"PENDING", "RUNNING", "DEGRADED"}
MAX_PROGRESS_MINUTES = 24 * 60  # a run's charts show its last day at most
# Granularities of the Metrics API, finest first, with the longest interval each may query (minutes).
BUCKET_MINUTES = {1: 6 * 60, 5: 24 * 60, 15: 4 * 24 * 60, 30: 7 * 24 * 60, 60: math.inf, 240: math.inf}
CATCH_UP_ALLOWANCE = timedelta(seconds=15)  # a new statement's first read of its sources, after its creation


def _mentions(sql: str, table: str) -> bool:
    return f"`{table}`" in sql


def writes(statement: Statement, table: str) -> bool:
    return re.search(rf"INSERT\s+INTO\s+`{re.escape(table)}`", statement.sql, flags=re.IGNORECASE) is not None


def reads(statement: Statement, table: str) -> bool:
    """The statement reads ``table`` (it names it, other than as its INSERT target)."""
    sql = re.sub(rf"INSERT\s+INTO\s+`{re.escape(table)}`", "", statement.sql, flags=re.IGNORECASE)
    return _mentions(sql, table) and not statement.sql.lstrip().upper().startswith(("CREATE", "DROP"))


def live(statements: Sequence[Statement]) -> list[Statement]:
    return [s for s in statements if s.phase in LIVE_PHASES]


def writers_of(statements: Sequence[Statement], table: str) -> list[Statement]:
    return [s for s in live(statements) if writes(s, table)]


def readers(statements: Sequence[Statement], tables: dict[str, str], own: set[str]) -> dict[str, dict[str, list[str]]]:
    """Per table: the live statements reading it, split into the project's own and external ones."""
    found = {}
    for name, flink_table in tables.items():
        reading = [s.name for s in live(statements) if reads(s, flink_table)]
        found[name] = {"own": sorted(n for n in reading if n in own),
                       "external": sorted(n for n in reading if n not in own)}
    return found


# -- table reads: one bounded statement per kind of read, whatever the number of tables ----------------

BATCH = 25  # reads combined into one statement: a bounded number of statements, none of them huge


@dataclass(frozen=True)
class Count:
    """A ``COUNT(*)`` of a table: its rows, those matching ``where``, or its distinct ``keys``."""

    table: str
    where: str = ""
    keys: tuple[str, ...] = ()

    def select(self, label: int) -> str:
        source = f"`{self.table}`"
        if self.keys:
            source = f"(SELECT DISTINCT {', '.join(f'`{c}`' for c in self.keys)} FROM {source}) AS `k`"
        return f"SELECT {label} AS `i`, COUNT(*) AS `n` FROM {source}{f' WHERE {self.where}' if self.where else ''}"


def violations(flink_table: str, checks: Sequence[str]) -> Count:
    """The rows of ``flink_table`` that fail one of ``checks`` (the manifest's conditions; a check
    that is NULL for a row fails it, as a NULL timestamp fails ``created_at <= updated_at``)."""
    return Count(flink_table, f"NOT COALESCE({' AND '.join(f'({c})' for c in checks)}, FALSE)")


def distinct_keys(flink_table: str, key: Sequence[str]) -> Count:
    return Count(flink_table, keys=tuple(key))


def union_all(selects: Sequence[str]) -> str:
    return "\nUNION ALL\n".join(selects)


def _combined(hook: FlinkSqlHook, selects: Sequence[str]) -> dict[int, Any]:
    """The value of each ``SELECT <label> AS i, <value>``, combined into one statement per :data:`BATCH`."""
    batches = [union_all(selects[start:start + BATCH]) for start in range(0, len(selects), BATCH)]
    return {int(label): value for rows in at_once(hook.get_records, batches) for label, value in rows}


def counts(hook: FlinkSqlHook, wanted: Iterable[Count]) -> dict[Count, int]:
    """Every count of ``wanted``, combined (``UNION ALL``) into one snapshot statement per :data:`BATCH`."""
    unique = list(dict.fromkeys(wanted))
    found = _combined(hook, [count.select(label) for label, count in enumerate(unique)])
    return {count: int(found.get(label) or 0) for label, count in enumerate(unique)}


def row_count(hook: FlinkSqlHook, flink_table: str) -> int:
    return counts(hook, [Count(flink_table)])[Count(flink_table)]


def _quoted_list(values: Sequence[str]) -> str:
    return ", ".join("'{}'".format(v.replace("'", "''")) for v in values)


def columns_sql(flink_tables: Sequence[str], only: Sequence[str] = ()) -> str:
    # ordered here, not by ORDER BY: a streaming query (no snapshot mode) can only sort on time attributes
    return ("SELECT `TABLE_NAME`, `COLUMN_NAME`, `ORDINAL_POSITION` FROM `INFORMATION_SCHEMA`.`COLUMNS` "
            f"WHERE `TABLE_NAME` IN ({_quoted_list(flink_tables)})"
            + (f" AND `COLUMN_NAME` IN ({_quoted_list(only)})" if only else ""))


def columns_of(hook: FlinkSqlHook, flink_tables: Sequence[str],
               only: Sequence[str] = ()) -> dict[str, list[str]]:
    """Each table's column names in order (``[]``: no such table), from one catalog read per
    :data:`BATCH`; ``only``: of those columns alone (a row per table, not one per column)."""
    found: dict[str, list[str]] = {table: [] for table in flink_tables}
    tables = list(found)
    batches = [columns_sql(tables[start:start + BATCH], only) for start in range(0, len(tables), BATCH)]
    rows = [row for batch in at_once(hook.get_records, batches) for row in batch]
    for table, column, _ in sorted(rows, key=lambda row: (row[0], int(row[2]))):
        found[table].append(column)
    return found


def column_count(label: int, flink_table: str) -> str:
    return (f"SELECT {label} AS `i`, COUNT(*) AS `n` FROM `INFORMATION_SCHEMA`.`COLUMNS` "
            f"WHERE `TABLE_NAME` = {_quoted_list([flink_table])}")


def column_counts(hook: FlinkSqlHook, flink_tables: Sequence[str]) -> dict[str, int]:
    """How many columns each table has (0: no such table): a ``COUNT(*)`` of the catalog per table,
    combined into one statement per :data:`BATCH` (a row per table, not one per column)."""
    tables = list(dict.fromkeys(flink_tables))
    found = _combined(hook, [column_count(label, table) for label, table in enumerate(tables)])
    return {table: int(found.get(label) or 0) for label, table in enumerate(tables)}


def column_names(hook: FlinkSqlHook, flink_table: str) -> list[str]:
    return columns_of(hook, [flink_table])[flink_table]


def newest_update(label: int, flink_table: str, column: str) -> str:
    return f"SELECT {label} AS `i`, MAX(`{column}`) AS `newest` FROM `{flink_table}`"


def newest_updates(hook: FlinkSqlHook, freshness: Mapping[str, str]) -> dict[str, datetime | None]:
    """Each table's newest value of its freshness column (table -> column; None: no row), combined
    into one statement per :data:`BATCH`."""
    tables = list(freshness)
    found = _combined(hook, [newest_update(label, table, freshness[table]) for label, table in enumerate(tables)])
    return {table: utc_time(found.get(label)) for label, table in enumerate(tables)}


def utc_time(value: Any) -> datetime | None:
    """A timestamp (a datetime, or ISO 8601 text, ``Z`` allowed) as an aware UTC datetime; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def subject_states(hook: SchemaRegistryHook, subjects: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each subject's versions and compatibility (its own level and the one in force), read at once."""
    def state(subject: str) -> dict[str, Any]:
        return {"versions": hook.versions(subject), "compatibility": hook.compatibility(subject),
                "subject_compatibility": hook.subject_compatibility(subject)}

    return dict(zip(subjects, at_once(state, subjects), strict=True))


def records_per_second(hook: ConfluentMetricsHook, statements: Sequence[str], minutes: int = 5) -> float | None:
    """Records read per second by ``statements`` together over the last ``minutes`` (Metrics API)."""
    if not statements:
        return None
    series = hook.statement_series(RECORDS_IN, statements, timedelta(minutes=minutes))
    values = [value for name, points in series.items() if name in set(statements) for _, value in points]
    return sum(values) / (minutes * 60) if values else None


def estimated_lag(pending: float | None, per_second: float | None) -> float | None:
    """Seconds to read what is pending at the rate records are read: 0 with nothing pending, None
    when neither tells (no rate and records pending, or no figures)."""
    if per_second:
        return (pending or 0) / per_second
    return 0.0 if pending == 0 else None


Points = list[tuple[str, float]]  # (timestamp, value) per bucket, oldest first


@dataclass(frozen=True)
class Progress:
    """Per statement, its pending records and the records it read, per bucket of ``bucket_seconds``."""

    bucket_seconds: int
    pending: dict[str, Points]
    read: dict[str, Points]

    def lag(self) -> dict[str, list[tuple[str, float | None]]]:
        """Per statement and bucket, the pending records over the rate it read at in that bucket."""
        rates = {name: dict(points) for name, points in self.read.items()}
        return {name: [(at, estimated_lag(value, rates.get(name, {}).get(at, 0) / self.bucket_seconds))
                       for at, value in points] for name, points in self.pending.items()}


def progress_since(hook: ConfluentMetricsHook, statements: Sequence[str], since: datetime) -> Progress:
    """The :class:`Progress` of ``statements`` since ``since`` (at most a day), in the finest buckets
    that keep each query (one per metric) within the API's point limit and interval lengths."""
    from confluent_migration.hooks.metrics import PENDING_RECORDS, QUERY_LIMIT

    if not statements:
        return Progress(60, {}, {})
    minutes = min(MAX_PROGRESS_MINUTES, max(1, math.ceil((datetime.now(timezone.utc) - since).total_seconds() / 60)))
    bucket = next((m for m, longest in BUCKET_MINUTES.items()
                   if minutes <= longest and len(statements) * math.ceil(minutes / m) <= QUERY_LIMIT), 240)
    granularity, lookback = (f"PT{bucket}M" if bucket < 60 else f"PT{bucket // 60}H"), timedelta(minutes=minutes)
    return Progress(bucket * 60, hook.statement_series(PENDING_RECORDS, statements, lookback, granularity),
                    hook.statement_series(RECORDS_IN, statements, lookback, granularity))


def unsteady(statements: Sequence[Statement], pending: dict[str, float], window: timedelta, threshold: float,
             now: datetime, resumed: dict[str, datetime] | None = None) -> list[str]:
    """Why the ``window`` before ``now`` is no steady rate of ``statements``: one created or
    ``resumed`` within it (or just before: :data:`CATCH_UP_ALLOWANCE`) counts its backfill or what it
    missed while stopped, one behind its sources by more than ``threshold`` pending records is still
    catching up."""
    reasons = []
    for statement in statements:
        created = datetime.fromisoformat(statement.created_at.replace("Z", "+00:00")) if statement.created_at else None
        if created and now - created < window + CATCH_UP_ALLOWANCE:
            reasons.append(f"{statement.name} was created {(now - created).total_seconds():.0f} s ago")
        back = (resumed or {}).get(statement.name)
        if back and now - back < window + CATCH_UP_ALLOWANCE:
            reasons.append(f"{statement.name} was resumed by a rollback {(now - back).total_seconds():.0f} s ago")
        if pending.get(statement.name, 0) > threshold:
            reasons.append(f"{statement.name} is {pending[statement.name]:.0f} records behind")
    return reasons


def watermark_latency(watermarks: dict[str, float], now: datetime) -> float | None:
    """Seconds the slowest statement's output watermark trails ``now`` (its event-time latency);
    None when no statement reports a watermark yet (the Metrics API sends Long.MIN_VALUE)."""
    marks = [v for v in watermarks.values() if v is not None and v > 0]
    if not marks:
        return None
    return max(0.0, now.timestamp() - min(marks) / 1000)


def measure(statements: Sequence[str], freshness: Mapping[str, str | None], *, window_minutes: int,
            data_errors: tuple[int, int] | None = None, sql: FlinkSqlHook | None = None) -> Measurements:
    """Throughput over the last ``window_minutes`` and latency (output watermarks) from the Metrics
    API, freshness (the newest value of each table's freshness column, ``freshness``: table ->
    column, where the table has it) and the error rate (rows failing the checks / rows, when
    ``data_errors`` is given)."""
    from confluent_migration.hooks.flink_sql import FlinkSqlHook
    from confluent_migration.hooks.metrics import ConfluentMetricsHook

    sql = sql or FlinkSqlHook()
    now = datetime.now(timezone.utc)
    named = sorted({c for c in freshness.values() if c})
    present = columns_of(sql, [t for t, c in freshness.items() if c], only=named) if named else {}
    newest = newest_updates(sql, {t: c for t, c in freshness.items() if c and c in present[t]})
    freshness = [max(0.0, (now - n).total_seconds()) for n in newest.values() if n is not None]
    errors, rows = data_errors or (0, 0)
    metrics = ConfluentMetricsHook()
    watermarks = metrics.statement_metric(OUTPUT_WATERMARK, list(statements)) if statements else {}
    return Measurements(
        throughput=records_per_second(metrics, statements, minutes=window_minutes),
        latency_seconds=watermark_latency(watermarks, now),
        error_rate=(errors / rows) if data_errors and rows else None,
        freshness_seconds=max(freshness) if freshness else None,
    )


def statement_phases(hook: FlinkStatementsHook, names: Sequence[str]) -> dict[str, str]:
    found = {}
    for name in names:
        statement = hook.find_statement(name)
        found[name] = statement.phase if statement else "ABSENT"
    return found


def unhealthy(phases: dict[str, str]) -> dict[str, str]:
    return {n: p for n, p in phases.items() if p in FAILED_PHASES or p in (STOPPED, "ABSENT")}
