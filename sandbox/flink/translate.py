"""Flink SQL queries translated to DuckDB: parsed with sqlglot (``hive`` dialect, whose backticked
identifiers, functions and joins match Flink's), table references resolved against the catalog and
replaced by relations, Flink-only functions and casts rewritten, and the output schema planned by
DuckDB itself (so a wrong column or function fails at planning, with DuckDB's message).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from sandbox.flink.catalog import Catalog, Column, TableNotFound
from sandbox.flink import flink_sql
from sandbox.flink.changelog import q
from sandbox.flink.types import from_duckdb, to_duckdb
from sandbox.store import insert_rows

DIALECT = "hive"
INFORMATION_SCHEMA = "INFORMATION_SCHEMA"
_CLOCK_FUNCTIONS = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime)
_CLOCK_NAMES = {"NOW", "LOCALTIMESTAMP", "CURRENT_ROW_TIMESTAMP", "PROCTIME"}


class PlanError(ValueError):
    """The query cannot run: its message is the statement's ``status.detail``."""


@dataclass
class SourceRef:
    """A table a query reads, with the columns it had when the statement was planned."""

    table: str
    columns: list[Column]
    upsert: bool

    def to_json(self) -> dict:
        return {"table": self.table, "columns": [c.to_json() for c in self.columns], "upsert": self.upsert}

    @classmethod
    def from_json(cls, doc: dict) -> SourceRef:
        return cls(doc["table"], [Column(**c) for c in doc["columns"]], doc["upsert"])


@dataclass
class QueryPlan:
    """A SELECT ready to run: DuckDB SQL over placeholder relations ``__src<i>__`` (see :meth:`bind`)."""

    sql: str
    sources: list[SourceRef]
    columns: list[Column]  # output columns, Flink-typed
    clock_columns: list[int] = field(default_factory=list)  # positions computed from the clock
    group_key: list[int] = field(default_factory=list)  # positions keying an updating result
    append_only: bool = True
    information_schema: bool = False
    stateless: bool = True  # each record processed independently: no join, aggregate or upsert source
    global_aggregate: bool = False  # an aggregate without GROUP BY: one row, updated in place
    # [output position, source column] per GROUP BY column when the query is one aggregate over one
    # source grouped by plain columns it outputs: each output row then depends only on the source
    # rows of its group, and a step recomputes only the groups its new records touched
    group_columns: list[list] = field(default_factory=list)
    # [source index, its column, source 0's column] per joined source when the query is source 0
    # joined (LEFT or INNER) to each other source on one equality with a column of source 0, without
    # aggregates: ``group_columns`` then lists the columns of source 0 it outputs as they are, and an
    # output row depends only on the source-0 rows of its value of one of them and the rows they
    # join, so a step recomputes only the values its records reach
    lookups: list[list] = field(default_factory=list)

    def bind(self, relations: list[str]) -> str:
        sql = self.sql
        for i, relation in enumerate(relations):
            sql = sql.replace(q(f"__src{i}__"), q(relation))
        return sql

    def to_json(self) -> dict:
        return {
            "sql": self.sql,
            "sources": [s.to_json() for s in self.sources],
            "columns": [c.to_json() for c in self.columns],
            "clock_columns": self.clock_columns,
            "group_key": self.group_key,
            "append_only": self.append_only,
            "information_schema": self.information_schema,
            "stateless": self.stateless,
            "global_aggregate": self.global_aggregate,
            "group_columns": self.group_columns,
            "lookups": self.lookups,
        }

    @classmethod
    def from_json(cls, doc: dict) -> QueryPlan:
        return cls(
            doc["sql"],
            [SourceRef.from_json(s) for s in doc["sources"]],
            [Column(**c) for c in doc["columns"]],
            doc["clock_columns"],
            doc["group_key"],
            doc["append_only"],
            doc["information_schema"],
            doc["stateless"],
            doc.get("global_aggregate", False),
            doc.get("group_columns", []),
            doc.get("lookups", []),
        )


def parse(sql: str) -> exp.Expression:
    try:
        expressions = [e for e in sqlglot.parse(flink_sql.preprocess(sql), read=DIALECT) if e is not None]
    except sqlglot.errors.ParseError as err:
        raise PlanError(f"SQL parse failed. {err}") from err
    if len(expressions) != 1:
        raise PlanError(f"Exactly one SQL statement is expected, got {len(expressions)}.")
    return expressions[0]


class Planner:
    """Plans queries against the catalog, for one statement's current catalog and database."""

    def __init__(self, catalog: Catalog, catalog_names: set[str], database_names: set[str]) -> None:
        self.catalog = catalog
        self.catalog_names = catalog_names
        self.database_names = database_names

    def table_name(self, table: exp.Table) -> str:
        """The catalog's name of a table reference, checking its catalog and database qualifiers."""
        name = table.name
        if table.catalog and table.catalog not in self.catalog_names:
            raise PlanError(f"Catalog '{table.catalog}' does not exist (this environment is "
                            f"{' or '.join(sorted(self.catalog_names))}).")
        if table.db and table.db not in self.database_names:
            raise PlanError(f"Database '{table.db}' does not exist in the current catalog (this cluster is "
                            f"{' or '.join(sorted(self.database_names))}).")
        return name

    def plan(self, query: exp.Expression, conn: duckdb.DuckDBPyConnection) -> QueryPlan:
        """The plan of ``query``, which it rewrites in place (the callers' parse is theirs alone:
        copying a wide query's tree cost a fifth of a create)."""
        if not isinstance(query, exp.Query):
            raise PlanError(f"Expected a query, got: {query.sql(DIALECT)[:200]}")
        ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
        sources: list[SourceRef] = []
        index: dict[str, int] = {}
        information_schema = False
        for table in list(query.find_all(exp.Table)):
            if not table.db and table.name in ctes:
                continue
            if table.db.upper() == INFORMATION_SCHEMA or table.name.upper() == INFORMATION_SCHEMA:
                information_schema = True
                what = table.name.upper()
                what = INFORMATION_SCHEMA_ALIASES.get(what, what)
                if what not in INFORMATION_SCHEMA_VIEWS:
                    raise PlanError(f"INFORMATION_SCHEMA.{what} is not modelled by the sandbox (it models "
                                    f"{', '.join(sorted([*INFORMATION_SCHEMA_VIEWS, *INFORMATION_SCHEMA_ALIASES]))}).")
                table.replace(_aliased(table, information_schema_relation(what), table.alias_or_name))
                continue
            name = self.table_name(table)
            if name not in index:
                try:
                    definition = self.catalog.get(name)
                except TableNotFound as err:
                    raise PlanError(f"Object '{name}' not found") from err
                index[name] = len(sources)
                sources.append(SourceRef(name, list(definition.columns), definition.changelog_mode == "upsert"))
            table.replace(_aliased(table, f"__src{index[name]}__", table.alias_or_name))
        _name_expressions(query)
        hints = _output_hints(query, sources)
        _rewrite_functions(query)
        flink_sql.rewrite(query)
        sql = query.sql("duckdb")
        columns = _apply_hints(_describe(conn, sql, sources, information_schema), hints)
        outputs = query.selects if isinstance(query, exp.Select) else []
        join_columns, lookups = _join_scope(query, sources)
        return QueryPlan(
            sql=sql,
            sources=sources,
            columns=columns,
            clock_columns=[i for i, e in enumerate(outputs) if _reads_clock(e)],
            group_key=_group_key(query),
            append_only=_append_only(query, sources),
            information_schema=information_schema,
            stateless=_append_only(query, sources) and not any(True for _ in query.find_all(exp.Join)),
            global_aggregate=isinstance(query, exp.Select) and not query.args.get("group")
            and any(True for e in query.selects for _ in e.find_all(exp.AggFunc)),
            group_columns=_group_columns(query, sources) or join_columns,
            lookups=lookups,
        )


def _outermost_select(query: exp.Expression) -> exp.Select | None:
    while isinstance(query, exp.SetOperation):
        query = query.this
    return query if isinstance(query, exp.Select) else None


def _name_expressions(query: exp.Expression) -> None:
    """Flink names an unaliased output expression ``EXPR$<position>`` (a column keeps its name)."""
    select = _outermost_select(query)
    if select is None:
        return
    for i, item in enumerate(select.expressions):
        if not isinstance(item, (exp.Alias, exp.Column, exp.Star)):
            item.replace(exp.alias_(item.copy(), f"EXPR${i}", quoted=True))


def _output_hints(query: exp.Expression, sources: list[SourceRef]) -> list[flink_sql.Hint] | None:
    """What the outermost SELECT's expressions say of the output types (None: nothing known)."""
    select = _outermost_select(query)
    if select is None or isinstance(query, exp.SetOperation):
        return None
    outer_join = any(j.side for j in query.find_all(exp.Join))
    not_null = set() if outer_join else {c.name for s in sources for c in s.columns if not c.nullable}
    items = select.expressions
    if len(items) == 1 and isinstance(items[0], exp.Star):
        source = select.args.get("from_") and select.args["from_"].this
        joined = bool(select.args.get("joins"))
        if isinstance(source, exp.Table) and not joined and source.name.startswith("__src"):
            table = sources[int(source.name[5:-2])]  # SELECT * FROM a table: its declared columns
            return [flink_sql.Hint(c.type, not c.nullable) for c in table.columns]
        if isinstance(source, exp.Subquery):
            source = source.this
        if isinstance(source, exp.Values) and source.expressions:
            first = source.expressions[0]
            return [flink_sql.output_hint(e, not_null)
                    for e in (first.expressions if isinstance(first, exp.Tuple) else [first])]
        return None
    if any(isinstance(i, exp.Star) for i in items):
        return None
    declared: dict[str, str] = {}
    for name in {c.name for s in sources for c in s.columns}:
        types = {c.type for s in sources for c in s.columns if c.name == name}
        if len(types) == 1:
            declared[name] = types.pop()
    return [flink_sql.output_hint(i, not_null, declared) for i in items]


def _apply_hints(columns: list[Column], hints: list[flink_sql.Hint] | None) -> list[Column]:
    if hints is None or len(hints) != len(columns):
        return columns
    typed = []
    for column, hint in zip(columns, hints):
        flink_type = hint.type or column.type
        if hint.multiset and flink_type.upper().startswith("ARRAY<"):
            flink_type = "MULTISET<" + flink_type[6:]
        typed.append(Column(column.name, flink_type, not hint.not_null))
    return typed


def _aliased(table: exp.Table, relation: str, alias: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(relation, quoted=True),
                     alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))


def _rewrite_functions(query: exp.Expression) -> None:
    for node in list(query.find_all(exp.Anonymous)):
        name = node.name.upper()
        if name == "TO_TIMESTAMP_LTZ":
            args = node.expressions
            precision = int(args[1].name) if len(args) > 1 and args[1].is_int else 3
            value = args[0].sql("duckdb")
            if precision == 0:
                text = f"to_timestamp(CAST({value} AS BIGINT))"
            else:
                text = f"CAST(epoch_ms(CAST({value} AS BIGINT)) AS TIMESTAMPTZ)"
            node.replace(sqlglot.parse_one(text, read="duckdb"))
    for node in list(query.find_all(exp.Bracket)):  # Flink's MAP[k1, v1, k2, v2] value constructor
        if isinstance(node.this, exp.Column) and not node.this.table and node.this.name.upper() == "MAP":
            items = node.expressions
            node.replace(exp.VarMap(keys=exp.Array(expressions=items[0::2]),
                                    values=exp.Array(expressions=items[1::2])))
    for node in list(query.find_all(exp.Cast)):  # TryCast is a Cast: Flink's CAST fails on bad input
        target = _duckdb_type(node.to)
        node.replace(exp.Cast(this=node.this, to=target))


def _duckdb_type(data_type: exp.DataType) -> exp.DataType:
    text = data_type.sql(DIALECT)
    upper = text.upper()
    if data_type.this in (exp.DataType.Type.TIMESTAMPLTZ, exp.DataType.Type.TIMESTAMPTZ):
        return exp.DataType.build("TIMESTAMPTZ", dialect="duckdb")
    if data_type.this == exp.DataType.Type.TIMESTAMP:
        return exp.DataType.build("TIMESTAMP", dialect="duckdb")
    try:
        return exp.DataType.build(to_duckdb(upper), dialect="duckdb")
    except ValueError:
        return exp.DataType.build(data_type.sql("duckdb"), dialect="duckdb")


_DESCRIBED: dict[tuple, list[Column]] = {}  # (query, its sources' columns) -> DuckDB's answer
_DESCRIBED_LIMIT = 512


def _describe(conn: duckdb.DuckDBPyConnection, sql: str, sources: list[SourceRef], info: bool) -> list[Column]:
    """The output columns of ``sql`` over ``sources``, as DuckDB plans them. A query over tables
    (not ``INFORMATION_SCHEMA``) is described once per shape of its sources: creating the wide
    relations and describing cost a quarter of a create, and a migration plans each statement twice
    (its dry run, then the statement)."""
    key = (sql, tuple(tuple((c.name, c.duckdb_type) for c in s.columns) for s in sources)) if not info else None
    if key in _DESCRIBED:
        return list(_DESCRIBED[key])
    relations = []
    for i, source in enumerate(sources):
        relation = f"__plan_src{i}"
        cols = ", ".join(f"{q(c.name)} {c.duckdb_type}" for c in source.columns)
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {q(relation)} ({cols})")
        relations.append(relation)
    if info:
        create_information_schema(conn)
    bound = sql
    for i, relation in enumerate(relations):
        bound = bound.replace(q(f"__src{i}__"), q(relation))
    try:
        described = conn.execute(f"DESCRIBE {bound}").fetchall()
    except duckdb.Error as err:
        raise PlanError(f"SQL validation failed. {_first_line(err)}") from err
    columns = [Column(name, from_duckdb(duck_type)) for name, duck_type, *_ in described]
    if key is not None:
        if len(_DESCRIBED) >= _DESCRIBED_LIMIT:
            _DESCRIBED.clear()
        _DESCRIBED[key] = columns
    return list(columns)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0]


# Confluent's INFORMATION_SCHEMA views the sandbox models, with their columns (DuckDB types).
INFORMATION_SCHEMA_VIEWS: dict[str, list[tuple[str, str]]] = {
    "CATALOGS": [("CATALOG_ID", "VARCHAR"), ("CATALOG_NAME", "VARCHAR")],
    "INFORMATION_SCHEMA_CATALOG_NAME": [("CATALOG_ID", "VARCHAR"), ("CATALOG_NAME", "VARCHAR")],
    "SCHEMATA": [("CATALOG_ID", "VARCHAR"), ("CATALOG_NAME", "VARCHAR"), ("SCHEMA_ID", "VARCHAR"),
                 ("SCHEMA_NAME", "VARCHAR")],
    "TABLES": [("TABLE_CATALOG_ID", "VARCHAR"), ("TABLE_CATALOG", "VARCHAR"), ("TABLE_SCHEMA_ID", "VARCHAR"),
               ("TABLE_SCHEMA", "VARCHAR"), ("TABLE_NAME", "VARCHAR"), ("TABLE_TYPE", "VARCHAR"),
               ("IS_DISTRIBUTED", "VARCHAR"), ("DISTRIBUTION_ALGORITHM", "VARCHAR"),
               ("DISTRIBUTION_BUCKETS", "INTEGER"), ("IS_WATERMARKED", "VARCHAR"), ("WATERMARK_COLUMN", "VARCHAR"),
               ("WATERMARK_EXPRESSION", "VARCHAR"), ("WATERMARK_IS_HIDDEN", "VARCHAR"), ("COMMENT", "VARCHAR")],
    "COLUMNS": [("TABLE_CATALOG_ID", "VARCHAR"), ("TABLE_CATALOG", "VARCHAR"), ("TABLE_SCHEMA_ID", "VARCHAR"),
                ("TABLE_SCHEMA", "VARCHAR"), ("TABLE_NAME", "VARCHAR"), ("COLUMN_NAME", "VARCHAR"),
                ("ORDINAL_POSITION", "INTEGER"), ("IS_NULLABLE", "VARCHAR"), ("DATA_TYPE", "VARCHAR"),
                ("FULL_DATA_TYPE", "VARCHAR"), ("IS_HIDDEN", "VARCHAR"), ("IS_GENERATED", "VARCHAR"),
                ("GENERATION_EXPRESSION", "VARCHAR"), ("IS_METADATA", "VARCHAR"), ("METADATA_KEY", "VARCHAR"),
                ("IS_PERSISTED", "VARCHAR"), ("DISTRIBUTION_ORDINAL_POSITION", "INTEGER"), ("COMMENT", "VARCHAR")],
}
INFORMATION_SCHEMA_ALIASES = {"DATABASES": "SCHEMATA"}


def information_schema_relation(view: str) -> str:
    return f"__info_{view.lower()}__"


def create_information_schema(conn: duckdb.DuckDBPyConnection, content: dict[str, list[tuple]] | None = None) -> None:
    """Temp relations ``__info_<view>__`` for every modelled view (as they were if they exist), then
    holding ``content[view]`` rows if ``content`` is given."""
    for view, columns in INFORMATION_SCHEMA_VIEWS.items():
        relation = information_schema_relation(view)
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {relation} ("
                     + ", ".join(f"{name} {duck}" for name, duck in columns) + ")")
        if content is not None:
            conn.execute(f"DELETE FROM {relation}")
            insert_rows(conn, relation, [duck for _, duck in columns], content.get(view, []))


def _reads_clock(expression: exp.Expression) -> bool:
    if any(True for _ in expression.find_all(*_CLOCK_FUNCTIONS)):
        return True
    return any(a.name.upper() in _CLOCK_NAMES for a in expression.find_all(exp.Anonymous))


def _group_key(query: exp.Expression) -> list[int]:
    if not isinstance(query, exp.Select) or not query.args.get("group"):
        return []
    groups = [g.sql() for g in query.args["group"].expressions]
    kinds = {type(g) for g in query.args["group"].expressions}
    key = []
    for i, output in enumerate(query.selects):
        inner = output.this if isinstance(output, exp.Alias) else output
        if type(inner) in kinds and inner.sql() in groups:  # writing out every wide output cost a create 12 ms
            key.append(i)
    return key if len(key) == len(groups) else []


def _group_columns(query: exp.Expression, sources: list[SourceRef]) -> list[list]:
    """[output position, source column] of each GROUP BY column, when every output row depends only on
    the rows of its own group: one SELECT over one source read once (no join, subquery, CTE, set
    operation, window, DISTINCT, ORDER BY or LIMIT), grouped by plain columns of that source that the
    SELECT outputs as they are. Otherwise empty (the query is recomputed in full)."""
    if not isinstance(query, exp.Select) or len(sources) != 1 or not query.args.get("group"):
        return []
    if any(query.args.get(arg) for arg in ("with", "joins", "order", "limit", "offset", "distinct", "qualify")):
        return []
    from_ = query.args.get("from_") or query.args.get("from")
    tables = list(query.find_all(exp.Table))
    if (from_ is None or not isinstance(from_.this, exp.Table) or len(tables) != 1
            or tables[0] is not from_.this or tables[0].name != "__src0__"):
        return []
    if any(True for _ in query.find_all(exp.Window, exp.Subquery, exp.SetOperation)):
        return []
    alias = tables[0].alias_or_name
    names = {c.name for c in sources[0].columns}
    outputs = [o.this if isinstance(o, exp.Alias) else o for o in query.selects]
    result = []
    for group in query.args["group"].expressions:
        if not isinstance(group, exp.Column) or group.name not in names or (group.table and group.table != alias):
            return []
        positions = [i for i, o in enumerate(outputs) if isinstance(o, exp.Column) and o.name == group.name
                     and o.table in ("", group.table, alias)]
        if not positions:
            return []
        result.append([positions[0], group.name])
    return result


def _join_scope(query: exp.Expression, sources: list[SourceRef]) -> tuple[list[list], list[list]]:
    """(``group_columns``, ``lookups``) of a join of source 0 to lookups (see ``QueryPlan.lookups``);
    both empty for any other query."""
    none: tuple[list[list], list[list]] = ([], [])
    if not isinstance(query, exp.Select) or len(sources) < 2 or not query.args.get("joins"):
        return none
    if any(query.args.get(arg) for arg in ("with", "group", "having", "order", "limit", "offset", "distinct",
                                           "qualify")):
        return none
    if any(True for _ in query.find_all(exp.Window, exp.Subquery, exp.SetOperation, exp.AggFunc)):
        return none
    from_ = query.args.get("from_") or query.args.get("from")
    if from_ is None or not isinstance(from_.this, exp.Table) or from_.this.name != "__src0__":
        return none
    driving = from_.this.alias_or_name
    names = [{c.name for c in source.columns} for source in sources]
    lookups, joined = [], {driving}
    for join in query.args["joins"]:
        table, on = join.this, join.args.get("on")
        if (join.side not in ("", "LEFT") or join.kind not in ("", "INNER") or not isinstance(on, exp.EQ)
                or not isinstance(table, exp.Table) or not table.name.startswith("__src")):
            return none
        i = int(table.name[len("__src"):-2])
        alias = table.alias_or_name
        sides = {c.table: c.name for c in (on.this, on.expression) if isinstance(c, exp.Column)}
        if (i == 0 or alias in joined or set(sides) != {alias, driving} or sides[alias] not in names[i]
                or sides[driving] not in names[0]):
            return none
        joined.add(alias)
        lookups.append([i, sides[alias], sides[driving]])
    if len(lookups) != len(sources) - 1 or len({i for i, _, _ in lookups}) != len(lookups):
        return none  # a source read twice
    if query.args.get("where") is not None:
        return none
    outputs = [o.this if isinstance(o, exp.Alias) else o for o in query.selects]
    columns = [[position, inner.name] for position, inner in enumerate(outputs)
               if isinstance(inner, exp.Column) and inner.table == driving and inner.name in names[0]]
    return (columns, lookups) if columns else none


def _append_only(query: exp.Expression, sources: list[SourceRef]) -> bool:
    if any(s.upsert for s in sources):
        return False
    if any(True for _ in query.find_all(exp.AggFunc, exp.Group, exp.Distinct, exp.Window)):
        return False
    if any(j.side for j in query.find_all(exp.Join)):
        return False
    return not any(isinstance(u, (exp.Except, exp.Intersect)) or (isinstance(u, exp.Union) and u.args.get("distinct"))
                   for u in query.find_all(exp.SetOperation))


def literal_rows(values: exp.Values) -> list[list[Any]]:
    """The rows of ``VALUES (...), (...)`` as DuckDB SQL expressions (one string per value)."""
    rows = []
    for row in values.expressions:
        items = row.expressions if isinstance(row, exp.Tuple) else [row]
        rows.append([i.sql("duckdb") for i in items])
    return rows
