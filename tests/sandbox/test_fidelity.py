"""Fidelity: each pipeline file of include/sql/v1 and v2, over the same small input, leaves the same
final table contents in real Apache Flink (PyFlink, one JVM for the module) and in the sandbox (HTTP
statements through Confluent's confluent-sql driver). Rows are compared as sets of normalised rows:
timestamps to the millisecond in UTC, decimals exactly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import confluent_sql
import pytest

from confluent_migration import flink_ddl
from sandbox.world.layout import Layout, encarta_layout
from sandbox.world.rows import RowSynthesiser, TableSpec, referenced_table
from tests.support import flink_harness
from tests.support.sandbox_fixtures import RunningSandbox

pytestmark = pytest.mark.flink

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
ROWS_PER_TABLE = 30
VERSIONS = ("v1", "v2")


def table_spec(sql: str) -> TableSpec:
    definition = flink_ddl.parse_create_table(sql)
    return TableSpec(definition.name, tuple(definition.columns), tuple(definition.primary_key))


def referenced_first(tables: dict[str, TableSpec]) -> list[str]:
    """Table names with each table after the tables its ``<x>_id`` columns refer to."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name not in ordered:
            for column in tables[name].columns:
                parent = referenced_table(column.name, tables)
                if parent is not None and parent.name != name:
                    visit(parent.name)
            ordered.append(name)

    for name in tables:
        visit(name)
    return ordered


def small_input() -> dict[str, list[dict[str, Any]]]:
    """Thirty related rows per source table (seeded), then an update of a third of them."""
    sources = {s.name: s for s in (table_spec(f.sql) for f in encarta_layout().sources)}
    synth = RowSynthesiser(sources, seed=5, now=NOW)
    rows: dict[str, list[dict[str, Any]]] = {}
    for name in referenced_first(sources):
        rows[name] = []
        for _ in range(ROWS_PER_TABLE):
            row = synth.new_row(sources[name])
            synth.remember(sources[name], row)
            rows[name].append(row)
    for name, table_rows in rows.items():
        table_rows += [synth.updated_row(sources[name], r, NOW) for r in table_rows[::3]]
    return {name: [without_empty_arrays(r) for r in table_rows] for name, table_rows in rows.items()}


def without_empty_arrays(row: dict[str, Any]) -> dict[str, Any]:
    """Flink SQL has no empty ARRAY literal (``ARRAY[]`` needs an element), so the sandbox side's
    INSERT ... VALUES could not write one: the input says NULL instead, on both sides."""
    return {k: None if v == [] else v for k, v in row.items()}


def normalised(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value.replace(microsecond=value.microsecond // 1000 * 1000).isoformat()
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    if isinstance(value, (list, tuple)):
        return tuple(normalised(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((normalised(k), normalised(v)) for k, v in value.items()))
    if isinstance(value, date):
        return value.isoformat()
    return value


def row_set(rows: list[dict[str, Any]]) -> set[tuple]:
    return {tuple(sorted((k, normalised(v)) for k, v in row.items())) for row in rows}


# -- the sandbox side: plain HTTP statements through confluent-sql ------------------------------

def flink_literal(value: Any, flink_type: str) -> str:
    """A Flink SQL literal of ``value`` typed as ``flink_type``."""
    if value is None:
        return f"CAST(NULL AS {flink_type})"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return f"TO_TIMESTAMP_LTZ({int(value.timestamp() * 1000)}, 3)"
    if isinstance(value, Decimal):
        return f"CAST('{value}' AS {flink_type})"
    if isinstance(value, int):
        return f"CAST({value} AS {flink_type})"
    if isinstance(value, float):
        return f"CAST({value!r} AS {flink_type})"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, list):
        element = flink_ddl.parse_type(flink_type).elements[0]
        return f"ARRAY[{', '.join(flink_literal(v, str(element)) for v in value)}]"
    if isinstance(value, dict):
        key, item = flink_ddl.parse_type(flink_type).elements
        pairs = (f"{flink_literal(k, str(key))}, {flink_literal(v, str(item))}" for k, v in value.items())
        return f"MAP[{', '.join(pairs)}]"
    return "'" + str(value).replace("'", "''") + "'"


def sandbox_run(sandbox: RunningSandbox, layout: Layout, inputs: dict[str, list[dict]]) -> dict:
    c = sandbox.config
    conn = confluent_sql.connect(
        flink_api_key=c.api_key, flink_api_secret=c.api_secret, organization_id=c.organization_id,
        environment_id=c.environment_id, compute_pool_id=c.compute_pool_id, database=c.database,
        endpoint=sandbox.url, result_page_fetch_pause_millis=20,
    )
    with closing(conn):
        specs = {}
        for ddl in layout.sources + layout.derived:
            conn.execute_snapshot_ddl(ddl.sql)
            specs[ddl.table] = table_spec(ddl.sql)
        for name, rows in inputs.items():
            types = {col.name: col.type for col in specs[name].columns}
            for batch in rounds(rows, specs[name].primary_key):  # a key's upserts in order
                values = ", ".join(
                    "(" + ", ".join(flink_literal(row[col], types[col]) for col in types) + ")" for row in batch)
                with conn.closing_cursor() as cur:
                    cur.execute(f"INSERT INTO `{name}` VALUES {values}")
        for pipeline in layout.pipelines:
            conn.execute_streaming_ddl(pipeline.sql, statement_name=pipeline.statement)
        return {p.table: settled_contents(conn, p.table) for p in layout.pipelines}


def rounds(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[list[dict[str, Any]]]:
    """``rows`` in as few consecutive batches as keep each key at most once per batch."""
    batches: list[list[dict[str, Any]]] = []
    seen: set[tuple] = set()
    for row in rows:
        k = tuple(row[c] for c in key)
        if not batches or k in seen:
            batches.append([])
            seen = set()
        batches[-1].append(row)
        seen.add(k)
    return batches


def settled_contents(conn: confluent_sql.Connection, table: str, quiet: float = 2.0) -> list[dict]:
    """The table's contents once they stopped changing for ``quiet`` seconds (bounded input).

    Compared as sets: a table's snapshot has no order, so two reads of the same contents may list
    the rows differently.
    """
    last, since, deadline = None, time.monotonic(), time.monotonic() + 120
    while time.monotonic() < deadline:
        with conn.closing_cursor(as_dict=True) as cur:
            cur.execute(f"SELECT * FROM `{table}`")
            rows = cur.fetchall()
        if last is None or row_set(rows) != row_set(last):
            last, since = rows, time.monotonic()
        elif rows and time.monotonic() - since > quiet:
            return rows
        time.sleep(0.3)
    pytest.fail(f"{table} never settled in the sandbox; last contents: {last}")


@pytest.fixture(scope="module")
def inputs() -> dict[str, list[dict]]:
    return small_input()


@pytest.fixture(scope="module")
def flink_results(inputs) -> Iterator[dict]:
    """Real Flink's final contents per version, one JVM for the module."""
    started = time.monotonic()
    results = {
        version: flink_harness.run_bounded(inputs, [p.path for p in encarta_layout(version).pipelines])
        for version in VERSIONS
    }
    print(f"\nreal Flink: {time.monotonic() - started:.1f}s for {len(VERSIONS)} versions")
    for version, tables in results.items():  # the input reaches every column: the comparison means something
        for table, rows in tables.items():
            unset = [c for c in rows[0] if all(r[c] is None for r in rows)] if rows else ["(no rows)"]
            assert not unset, f"{version} {table}: the input leaves {unset} empty in real Flink"
    yield results


@pytest.mark.parametrize("version", VERSIONS)
def test_sandbox_matches_real_flink(version, inputs, flink_results, sandbox_factory):
    sandbox_results = sandbox_run(sandbox_factory(), encarta_layout(version), inputs)
    assert set(sandbox_results) == set(flink_results[version])
    for table, rows in sandbox_results.items():
        expected = row_set(flink_results[version][table])
        actual = row_set(rows)
        assert actual == expected, (
            f"{version} {table}: only in the sandbox {sorted(actual - expected)[:3]}, "
            f"only in Flink {sorted(expected - actual)[:3]}")
