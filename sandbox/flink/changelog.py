"""Folding topic logs into relations, and diffing query outputs into changelogs, inside DuckDB.

A statement's view of a source table is the table's log folded from the statement's start offsets
up to what it has consumed: for an upsert table the last record per key (a ``-D`` removes the key),
for an append table every row. Each time new records arrive the query runs again over the folded
sources, and its new output is compared with the previous one to get the changes to emit: by the
sink's key (``+I`` new key, ``+U`` changed row, ``-D`` vanished key; result changelogs of keyed
queries add ``-U`` before each ``+U``), or as a multiset for unkeyed output. Columns computed from
the clock (``CURRENT_TIMESTAMP``) do not count as a change, and keep the value they had when their
row last changed, as a streaming job that evaluates them per record would.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from sandbox.flink.catalog import Column
from sandbox.flink.topics import Offsets, Topics
from sandbox.flink.types import split_type

INSERT, UPDATE_BEFORE, UPDATE_AFTER, DELETE = 0, 1, 2, 3
OP_NAMES = {INSERT: "+I", UPDATE_BEFORE: "-U", UPDATE_AFTER: "+U", DELETE: "-D"}
KEY_COLUMN = "__k"


def q(name: str) -> str:
    """A quoted DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return json.dumps(value)


def _path(column: Column) -> str:
    return "'$." + q(column.name).replace("'", "''") + "'"


def _nested(duck: str) -> bool:
    return duck.endswith("[]") or duck.startswith("MAP(")


def _as_json(column: Column) -> bool:
    """The column's value is read from its field's JSON (arrays, maps, timestamps), not its text."""
    duck = column.duckdb_type
    return _nested(duck) or duck in ("TIMESTAMP", "TIMESTAMPTZ")


def value_expression(column: Column, i: int) -> str:
    """The typed value of ``column`` (the ``i``-th of :func:`typed_values`, from 1) read from a
    record's parsed JSON ``value`` (its default if absent)."""
    duck, text, fragment = column.duckdb_type, f"__s[{i}]", f"__j[{i}]"
    if _nested(duck):
        expr = f"CAST({fragment} AS {duck})"
    elif duck == "BLOB":
        expr = f"from_base64({text})"
    elif duck in ("TIMESTAMP", "TIMESTAMPTZ"):  # ISO text, or epoch milliseconds as Avro's timestamp-millis
        expr = (f"CASE WHEN json_type({fragment}) IN ('BIGINT', 'UBIGINT') "
                f"THEN CAST(epoch_ms(CAST({fragment} AS BIGINT)) AS {duck}) ELSE CAST({text} AS {duck}) END")
    else:
        expr = f"CAST({text} AS {duck})"
    if column.default is None:
        return expr
    return f"CASE WHEN json_exists(value, {_path(column)}) THEN {expr} ELSE {default_expression(column)} END"


def typed_values(columns: Sequence[Column], source: str, first: str = "") -> str:
    """``SELECT {first}<each column's typed value> FROM source``, ``source`` holding records
    (``value``: the row's JSON). Each record's JSON is parsed once for all the columns (a list of
    paths), not once per column."""
    paths = "[" + ", ".join(_path(c) for c in columns) + "]"
    parsed = f"json_extract_string(value, {paths}) AS __s"
    if any(_as_json(c) for c in columns):
        parsed += f", json_extract(value, {paths}) AS __j"
    values = ", ".join(value_expression(c, i) for i, c in enumerate(columns, start=1))
    return f"SELECT {first}{values} FROM (SELECT *, {parsed} FROM {source})"


def default_expression(column: Column) -> str:
    """The column's Avro default as a typed DuckDB value. Avro gives defaults of logical types in
    their underlying type: timestamps as epoch milliseconds (``timestamp-millis``) or microseconds,
    dates as days since the epoch, ``time-millis`` as milliseconds of the day, bytes and decimals
    as strings of code points 0-255 (a decimal's big-endian two's-complement unscaled value)."""
    duck = column.duckdb_type
    default = column.default
    name, params, _ = ("", [], True) if _nested(duck) else split_type(column.type)
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        if duck in ("TIMESTAMP", "TIMESTAMPTZ"):
            precision = int(params[0]) if params else 6
            moment = (f"epoch_ms(CAST({int(default)} AS BIGINT))" if precision <= 3
                      else f"make_timestamp(CAST({int(default)} AS BIGINT))")
            return f"CAST({moment} AS {duck})"
        if duck == "DATE":
            return f"CAST(DATE '1970-01-01' + INTERVAL ({int(default)}) DAY AS DATE)"
        if duck == "TIME":
            return f"CAST(TIME '00:00:00' + INTERVAL ({int(default)}) MILLISECOND AS TIME)"
    if isinstance(default, str) and (duck == "BLOB" or duck.startswith("DECIMAL")):
        raw = default.encode("latin-1")
        if duck == "BLOB":
            return f"from_hex('{raw.hex()}')"
        unscaled = int.from_bytes(raw, "big", signed=True) if raw else 0
        scale = int(params[1]) if len(params) > 1 else 0
        return f"CAST({Decimal(unscaled).scaleb(-scale)} AS {duck})"
    if isinstance(default, (list, dict)):
        return f"CAST({_literal(json.dumps(default))}::JSON AS {duck})"
    return f"CAST({_literal(default)} AS {duck})"


def create_state_table(conn: duckdb.DuckDBPyConnection, table: str, view: str, columns: Sequence[Column],
                       temp: bool = False) -> None:
    """An empty folded-source table (with the record key) and the view the query reads; ``temp``: a
    new pair in memory, else kept in the store (and left as it is if it exists)."""
    cols = ", ".join(f"{q(c.name)} {c.duckdb_type}" for c in columns)
    create = "CREATE OR REPLACE TEMP" if temp else "CREATE"
    conn.execute(f"{create} TABLE {'' if temp else 'IF NOT EXISTS '}{q(table)} ({q(KEY_COLUMN)} VARCHAR, {cols})")
    names = ", ".join(q(c.name) for c in columns)
    conn.execute(f"CREATE OR REPLACE {'TEMP ' if temp else ''}VIEW {q(view)} AS SELECT {names} FROM {q(table)}")


def fold(
    conn: duckdb.DuckDBPyConnection,
    state_table: str,
    topic: str,
    columns: Sequence[Column],
    upsert: bool,
    start: Offsets,
    end: Offsets,
    touched: tuple[str, Sequence[str]] | None = None,
) -> int:
    """Apply the records ``start <= offset < end`` of ``topic`` to ``state_table``; return their count.

    ``touched`` = (table, columns): also append to that table the values of those columns of every
    row the records add or remove (a superset of the groups whose rows changed)."""
    condition = Topics.range_condition(start, end)
    if condition == "FALSE":
        return 0
    count = conn.execute(  # the log is scanned once; CREATE TABLE AS answers its row count
        "CREATE OR REPLACE TEMP TABLE __new AS SELECT part, off, op, rkey, value FROM flink_records"
        f" WHERE topic = {_literal(topic)} AND ({condition})").fetchone()[0]
    target = q(state_table)
    if touched is not None:
        touched_table, names = touched
        by_name = {c.name: c for c in columns}
        conn.execute(f"INSERT INTO {q(touched_table)} "  # rows added, and the rows -U/-D retract
                     + typed_values([by_name[n] for n in names], "__new WHERE value IS NOT NULL"))
        if upsert:  # the rows the records replace or delete
            conn.execute(f"INSERT INTO {q(touched_table)} SELECT {', '.join(q(n) for n in names)} FROM {target}"
                         f" WHERE {q(KEY_COLUMN)} IN (SELECT rkey FROM __new)")
    if upsert:
        conn.execute(f"DELETE FROM {target} WHERE {q(KEY_COLUMN)} IN (SELECT rkey FROM __new)")
        conn.execute(f"INSERT INTO {target} " + typed_values(columns, (
            "(SELECT *, row_number() OVER (PARTITION BY rkey ORDER BY off DESC) AS rn FROM __new)"
            " WHERE rn = 1 AND op <> '-D'"), first="rkey, "))
        return count
    inserted = typed_values(columns, "__new WHERE op IN ('+I', '+U')", first="rkey, ")
    conn.execute(f"INSERT INTO {target} {inserted}")
    retractions = conn.execute(typed_values(columns, "__new WHERE op IN ('-U', '-D')")
                               + " ORDER BY part, off").fetchall()
    for row in retractions:
        match = " AND ".join(f"{q(c.name)} IS NOT DISTINCT FROM ?" for c in columns)
        conn.execute(
            f"DELETE FROM {target} WHERE rowid = (SELECT min(rowid) FROM {target} WHERE {match})", list(row)
        )
    return count


@dataclass(frozen=True)
class Change:
    op: int
    row: tuple


def diff(
    conn: duckdb.DuckDBPyConnection,
    previous: str,
    current: str,
    columns: Sequence[str],
    key: Sequence[str],
    clock_columns: Sequence[str] = (),
    retract: bool = False,
    scope: str | None = None,
) -> list[Change]:
    """Changes that turn ``previous`` into ``current``, then make ``previous`` the new output.

    ``key`` empty means a multiset comparison. ``retract`` emits ``-U`` before each ``+U``.
    ``scope`` (keyed only): a condition on ``previous``'s rows (aliased ``p``); ``current`` holds the
    new rows of those keys only, and the rows outside it stay as they are.
    """
    prev, cur = q(previous), q(current)
    cols = ", ".join(q(c) for c in columns)
    changes: list[Change] = []
    if not key:
        assert scope is None, "a scoped diff needs a key"
        for (op, *row) in conn.execute(
            f"SELECT 3, * FROM (SELECT {cols} FROM {prev} EXCEPT ALL SELECT {cols} FROM {cur})"
            f" UNION ALL SELECT 0, * FROM (SELECT {cols} FROM {cur} EXCEPT ALL SELECT {cols} FROM {prev})"
        ).fetchall():
            changes.append(Change(op, tuple(row)))
        _replace(conn, previous, current)
        return changes
    if scope and not clock_columns:
        return _diff_scoped(conn, previous, current, columns, key, scope, retract)
    if not scope and not clock_columns and len(columns) > WIDE:
        changes = _diff_wide(conn, previous, current, columns, key, retract)
        if changes is not None:
            return changes
    keys = ", ".join(q(k) for k in key)
    on = " AND ".join(f"c.{q(k)} IS NOT DISTINCT FROM p.{q(k)}" for k in key)
    compared = [c for c in columns if c not in clock_columns]
    same = " AND ".join(f"c.{q(c)} IS NOT DISTINCT FROM p.{q(c)}" for c in compared) or "TRUE"
    new_cols = [f"__n{i}" for i in range(len(columns))]
    old_cols = [f"__o{i}" for i in range(len(columns))]
    aliased = ", ".join(f"c.{q(c)} AS {n}, p.{q(c)} AS {o}" for c, n, o in zip(columns, new_cols, old_cols))
    # one row per key (an upsert sink keeps one), matched with the previous output in one join: a
    # key only in the new output is +I, in both with other values +U, only in the previous -D
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE __changed AS SELECT CASE WHEN p.__hit IS NULL THEN {INSERT}"
        f" WHEN c.__hit IS NULL THEN {DELETE} ELSE {UPDATE_AFTER} END AS __kind, {aliased}"
        f" FROM (SELECT DISTINCT ON ({keys}) *, TRUE AS __hit FROM {cur}) c"
        f" FULL JOIN (SELECT *, TRUE AS __hit FROM {prev} p{f' WHERE {scope}' if scope else ''}) p ON {on}"
        f" WHERE p.__hit IS NULL OR c.__hit IS NULL OR NOT ({same})"
    )
    for kind, *values in conn.execute(
            f"SELECT __kind, {', '.join(new_cols)}, {', '.join(old_cols)} FROM __changed ORDER BY __kind").fetchall():
        new_row, old_row = tuple(values[:len(columns)]), tuple(values[len(columns):])
        if kind == UPDATE_AFTER and retract:
            changes.append(Change(UPDATE_BEFORE, old_row))
        changes.append(Change(kind, old_row if kind == DELETE else new_row))
    # the previous output takes the changed rows only: a row equal but for its clock columns keeps
    # their old values
    old_key = ", ".join(f"{o} AS {q(c)}" for c, o in zip(columns, old_cols) if c in key)
    match = " AND ".join(f"p.{q(k)} IS NOT DISTINCT FROM x.{q(k)}" for k in key)
    conn.execute(f"DELETE FROM {prev} p USING (SELECT {old_key} FROM __changed WHERE __kind <> {INSERT}) x"
                 f" WHERE {match}")
    conn.execute(f"INSERT INTO {prev} SELECT {', '.join(new_cols)} FROM __changed WHERE __kind <> {DELETE}")
    return changes


WIDE = 16  # columns from which a keyed diff compares whole rows (see _diff_wide)


def _diff_wide(conn: duckdb.DuckDBPyConnection, previous: str, current: str, columns: Sequence[str],
               key: Sequence[str], retract: bool) -> list[Change] | None:
    """:func:`diff` of wide rows without clock columns: DuckDB plans a join carrying every column of
    both sides in tens of milliseconds, so the join carries the keys and compares whole rows (a
    table's name is its row), and only the changed rows are read. None when ``current`` repeats a key
    (the full diff keeps one row per key)."""
    prev, cur = q(previous), q(current)
    keys = ", ".join(q(k) for k in key)
    if conn.execute(f"SELECT count(*) = count(DISTINCT ({keys})) FROM {cur}").fetchone()[0] is False:
        return None
    on = " AND ".join(f"c.{q(k)} IS NOT DISTINCT FROM p.{q(k)}" for k in key)
    count = conn.execute(
        f"CREATE OR REPLACE TEMP TABLE __changed AS SELECT CASE WHEN p.__hit IS NULL THEN {INSERT}"
        f" WHEN c.__hit IS NULL THEN {DELETE} ELSE {UPDATE_AFTER} END AS __kind, "
        + ", ".join(f"COALESCE(c.{q(k)}, p.{q(k)}) AS {q(k)}" for k in key)
        + f" FROM (SELECT {keys}, {cur} AS __r, TRUE AS __hit FROM {cur}) c"
        f" FULL JOIN (SELECT {keys}, {prev} AS __r, TRUE AS __hit FROM {prev}) p ON {on}"
        " WHERE p.__hit IS NULL OR c.__hit IS NULL OR c.__r IS DISTINCT FROM p.__r").fetchone()[0]
    if not count:
        return []
    cols = ", ".join(q(c) for c in columns)
    positions = [list(columns).index(k) for k in key]
    match = " AND ".join(f"x.{q(k)} IS NOT DISTINCT FROM t.{q(k)}" for k in key)
    new = {tuple(row[i] for i in positions): tuple(row) for row in conn.execute(
        f"SELECT {cols} FROM {cur} t WHERE EXISTS (SELECT 1 FROM __changed x WHERE x.__kind <> {DELETE}"
        f" AND {match})").fetchall()}
    old = {tuple(row[i] for i in positions): tuple(row) for row in conn.execute(
        f"SELECT {cols} FROM {prev} t WHERE EXISTS (SELECT 1 FROM __changed x WHERE x.__kind <> {INSERT}"
        f" AND {match})").fetchall()}
    inserted = [Change(INSERT, row) for k, row in new.items() if k not in old]
    updated: list[Change] = []
    for k, row in new.items():
        if k in old:
            updated.extend([Change(UPDATE_BEFORE, old[k]), Change(UPDATE_AFTER, row)] if retract
                           else [Change(UPDATE_AFTER, row)])
    deleted = [Change(DELETE, row) for k, row in old.items() if k not in new]
    conn.execute(f"DELETE FROM {prev} t USING (SELECT * FROM __changed WHERE __kind <> {INSERT}) x WHERE {match}")
    conn.execute(f"INSERT INTO {prev} SELECT {cols} FROM {cur} t WHERE EXISTS"
                 f" (SELECT 1 FROM __changed x WHERE x.__kind <> {DELETE} AND {match})")
    return inserted + updated + deleted


def _same(a: object, b: object) -> bool:
    """``a IS NOT DISTINCT FROM b`` for the values DuckDB hands to Python (NaN equals NaN)."""
    return a == b or (a != a and b != b)  # noqa: PLR0124 - NaN


def _diff_scoped(conn: duckdb.DuckDBPyConnection, previous: str, current: str, columns: Sequence[str],
                 key: Sequence[str], scope: str, retract: bool) -> list[Change]:
    """:func:`diff` of the few rows in ``scope``, compared in Python: a join of wide rows costs DuckDB
    tens of milliseconds to plan, whatever their number. The previous rows in scope are then replaced
    by ``current`` (no clock column keeps an old value)."""
    cols = ", ".join(q(c) for c in columns)
    positions = [list(columns).index(k) for k in key]
    new: dict[tuple, tuple] = {}
    for row in conn.execute(f"SELECT {cols} FROM {q(current)}").fetchall():
        new.setdefault(tuple(row[i] for i in positions), tuple(row))  # one row per key, as DISTINCT ON
    old = {tuple(row[i] for i in positions): tuple(row)
           for row in conn.execute(f"SELECT {cols} FROM {q(previous)} p WHERE {scope}").fetchall()}
    inserted, updated, deleted = [], [], []
    for k, row in new.items():
        before = old.get(k)
        if before is None:
            inserted.append(Change(INSERT, row))
        elif not all(_same(a, b) for a, b in zip(row, before)):
            updated.extend([Change(UPDATE_BEFORE, before)] if retract else [])
            updated.append(Change(UPDATE_AFTER, row))
    deleted = [Change(DELETE, row) for k, row in old.items() if k not in new]
    if inserted or updated or deleted:
        conn.execute(f"DELETE FROM {q(previous)} p WHERE {scope}")
        # the key holds the group columns, one output row per group: ``current`` has one row per key
        conn.execute(f"INSERT INTO {q(previous)} SELECT {cols} FROM {q(current)}")
    return inserted + updated + deleted


def as_update(changes: list[Change]) -> list[Change]:
    """A one-row result's change as Flink emits it: its old row retracted (``-U``) and its new row
    (``+U``), where a multiset comparison sees a delete and an insert."""
    deleted = [c for c in changes if c.op == DELETE]
    inserted = [c for c in changes if c.op == INSERT]
    if len(deleted) == 1 and len(inserted) == 1:
        return [Change(UPDATE_BEFORE, deleted[0].row), Change(UPDATE_AFTER, inserted[0].row)]
    return changes


def _replace(conn: duckdb.DuckDBPyConnection, target: str, source: str) -> None:
    conn.execute(f"DELETE FROM {q(target)}")
    conn.execute(f"INSERT INTO {q(target)} SELECT * FROM {q(source)}")
