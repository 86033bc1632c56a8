"""Executing statements: bounded ones (DDL, SHOW, DESCRIBE, SET, snapshot queries, INSERT VALUES) at
once, and continuous ones (INSERT INTO ... SELECT, CREATE TABLE AS SELECT, SELECT without snapshot
mode) step by step as their source topics grow.

A continuous statement's *job* (``record.job``) holds its plan, the offsets it has consumed per
source partition and counters. Its state lives in DuckDB tables ``flink_st_<uid>_*``: each source
folded up to the consumed offsets, and its previous output. A step folds the new records in, runs the
query, diffs the output with the previous one and emits the changes (to the sink topic, or to the
statement's results). Nothing is kept only in memory, so stop/resume and restarts keep the state.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb
from sqlglot import exp

from confluent_migration import flink_ddl
from sandbox.flink import changelog
from sandbox.flink.catalog import (DEFAULT_BUCKETS, Catalog, Column, SchemaRegistrationFailed, Table, TableExists,
                                   TableNotFound, table_from_json, table_to_json)
from sandbox.flink.changelog import Change, q
from sandbox.flink.records import StatementRecord
from sandbox.flink.topics import Record, Topics
from sandbox.flink.translate import (INFORMATION_SCHEMA, INFORMATION_SCHEMA_ALIASES, INFORMATION_SCHEMA_VIEWS, PlanError,
                                    Planner, QueryPlan, SourceRef, create_information_schema,
                                    parse)
from sandbox.flink.types import (UnsupportedType, data_type, dumps, is_nested, result_value, sql_type_name,
                                 stored_value)
from sandbox.store import Store, insert_rows

TOUCHED = "__touched"  # the group columns of the rows a step's folds added or removed
SINK_OPS = {changelog.INSERT: "+I", changelog.UPDATE_AFTER: "+U", changelog.DELETE: "-D"}


class StatementFailed(Exception):
    """A statement's SQL cannot run; the message becomes ``status.detail`` and an exception entry."""

    def __init__(self, detail: str, name: str = "org.apache.flink.table.api.ValidationException") -> None:
        super().__init__(detail)
        self.detail = detail
        self.name = name


@dataclass
class Context:
    """What a statement runs against: the sandbox's names and the statement's properties."""

    catalog_names: set[str]
    database_names: set[str]
    properties: dict[str, str]
    dry_run: bool = False

    @property
    def snapshot(self) -> bool:
        return self.properties.get("sql.snapshot.mode", "").lower() == "now"

    @property
    def startup_mode(self) -> str:
        return self.properties.get("sql.tables.scan.startup.mode", "earliest-offset")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def schema_traits(columns: list[Column]) -> dict:
    return {"columns": [{"name": c.name, "type": data_type(c.type, c.nullable)} for c in columns]}


class Engine:
    def __init__(self, store: Store, topics: Topics, catalog: Catalog) -> None:
        self.dry_run = False
        self.store = store
        self.topics = topics
        self.catalog = catalog
        store.execute("CREATE TABLE IF NOT EXISTS flink_results (uid VARCHAR, seq BIGINT, op INTEGER, row VARCHAR)")
        store.execute("SET TimeZone = 'UTC'")
        self._information_schema: dict[str, list[tuple]] | None = None  # what its relations hold now
        self._snapshots: dict[tuple[str, bool], _Snapshot] = {}
        # (statement SQL, catalog names, database names) -> what planning it gave: a migration plans
        # each pipeline twice (its dry run, then the statement); valid while its sources are unchanged
        self._planned: dict[tuple, _Planned] = {}
        store.on_rollback(self._forget_caches)

    def _forget_caches(self) -> None:
        """A rolled-back transaction may have half-updated what the caches describe."""
        self._information_schema = None
        self._snapshots = {}

    # -- results ---------------------------------------------------------------------------------

    def append_results(self, record: StatementRecord, changes: list[Change], conn: duckdb.DuckDBPyConnection,
                       columns: list[Column] | None = None) -> None:
        seq = record.job.get("result_seq", 0)
        rows = []
        types = [c.type for c in columns] if columns else []
        for change in changes:
            row = [result_value(v, types[i] if i < len(types) else None) for i, v in enumerate(change.row)]
            rows.append((record.uid, seq, change.op, json.dumps(row)))
            seq += 1
        insert_rows(conn, "flink_results", ("VARCHAR", "BIGINT", "INTEGER", "VARCHAR"), rows)
        record.job["result_seq"] = seq

    def results(self, uid: str, start: int, limit: int) -> list[dict]:
        rows = self.store.execute(
            "SELECT op, row FROM flink_results WHERE uid = ? AND seq >= ? ORDER BY seq LIMIT ?", [uid, start, limit]
        )
        return [{"op": op, "row": json.loads(row)} for op, row in rows]

    def forget(self, record: StatementRecord) -> None:
        """Drop a deleted statement's results and state."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM flink_results WHERE uid = ?", [record.uid])
            for (name, kind) in conn.execute(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_name LIKE ?",
                [_state_prefix(record) + "%"],
            ).fetchall():
                conn.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {q(name)}")

    # -- starting a statement --------------------------------------------------------------------

    def start(self, record: StatementRecord, context: Context) -> None:
        """Plan and (for bounded statements) run a new statement; sets phase, traits and job.

        With ``context.dry_run`` only validate and plan: nothing is created, written or kept."""
        self.dry_run = context.dry_run
        try:
            self._start(record, context)
        except StatementFailed as failure:
            self.fail(record, failure.detail, failure.name)
        except (PlanError, TableExists, TableNotFound, SchemaRegistrationFailed) as err:
            self.fail(record, str(err).strip("'\""))
        except UnsupportedType as err:
            self.fail(record, f"SQL validation failed. {err}.")
        except duckdb.Error as err:
            self.fail(record, f"SQL execution failed. {str(err).strip().splitlines()[0]}")

    def fail(self, record: StatementRecord, detail: str,
             name: str = "org.apache.flink.table.api.ValidationException") -> None:
        record.phase = "FAILED"
        record.detail = detail
        record.end_time = _now()
        record.add_exception(name, detail)

    def _start(self, record: StatementRecord, context: Context) -> None:
        sql = record.spec["statement"].strip().rstrip(";").strip()
        memo = (sql, frozenset(context.catalog_names), frozenset(context.database_names))
        known = self._still_planned(memo)
        if known is not None:
            plan, planned = known
            if planned.sink is None:
                return self._select_planned(record, plan, context)
            return self._insert_planned(record, self._table(planned.sink), list(planned.columns_given), plan,
                                        context)
        head = _leading_words(sql)
        planner = Planner(self.catalog, context.catalog_names, context.database_names)
        if head[:2] == ["CREATE", "TABLE"]:
            return self._create_table(record, sql, context, planner)
        if head[:2] == ["DROP", "TABLE"]:
            return self._drop_table(record, sql, context)
        if head[:1] == ["SHOW"]:
            return self._show(record, head, sql, planner, context)
        if head[:1] in (["DESCRIBE"], ["DESC"]):
            expression = parse(sql)
            table = planner.table_name(expression.this)
            return self._describe(record, table)
        if head[:1] == ["EXPLAIN"]:
            raise StatementFailed("EXPLAIN is not modelled by the sandbox.")
        expression = parse(sql)
        if isinstance(expression, exp.Set):
            return self._set(record, expression)
        if isinstance(expression, exp.Insert):
            return self._insert(record, expression, context, planner, memo)
        if isinstance(expression, exp.Query):
            return self._select(record, expression, context, planner, memo)
        raise StatementFailed(f"The sandbox cannot run this kind of statement: {sql[:200]}")

    def _complete(self, record: StatementRecord, sql_kind: str, columns: list[Column], rows: list[tuple],
                  context: Context | None = None) -> None:  # noqa: ARG002
        record.traits = {"sql_kind": sql_kind, "is_bounded": True, "is_append_only": True}
        if columns:  # a statement without a result set (DDL, INSERT) has no schema
            record.traits["schema"] = schema_traits(columns)
        if not self.dry_run:
            with self.store.transaction() as conn:
                self.append_results(record, [Change(changelog.INSERT, tuple(r)) for r in rows], conn, columns)
        record.phase = "COMPLETED"
        record.detail = ""
        record.end_time = _now()

    # -- DDL -------------------------------------------------------------------------------------

    def _create_table(self, record: StatementRecord, sql: str, context: Context, planner: Planner) -> None:
        try:
            definition = flink_ddl.parse_create_table(sql)
        except ValueError as err:
            raise StatementFailed(f"SQL parse failed. {err}") from err
        name = definition.name
        if context.dry_run:
            if self.catalog.exists(name) and not definition.if_not_exists:
                raise TableExists(f"Table (or view) `{name}` already exists in the current database.")
            if definition.as_select:
                self._plan(planner, parse(definition.as_select))
            return self._complete(record, "CREATE_TABLE_AS" if definition.as_select else "CREATE_TABLE", [], [],
                                  context)
        if definition.as_select:
            plan = self._plan(planner, parse(definition.as_select))
            key = list(definition.primary_key or [])
            columns = [Column(c.name, c.type, c.name not in key) for c in plan.columns]
            table = _table(definition, columns)
            if self.catalog.exists(name) and definition.if_not_exists:
                return self._complete(record, "CREATE_TABLE_AS", [], [])
            if context.snapshot or not plan.sources:  # bounded: the table is filled, then COMPLETED
                rows = self.snapshot_rows(plan)
                self._check_not_null(table, rows)
                self.catalog.create(table)
                self._write(table, [Change(changelog.INSERT, tuple(r)) for r in rows])
                self._complete(record, "CREATE_TABLE_AS", [], [])
                record.job = {"records_out": len(rows)}
                return None
            self.catalog.create(table)
            return self._continuous_insert(record, table, plan, context, "CREATE_TABLE_AS")
        columns = [Column(c.name, c.type, c.nullable, c.comment) for c in definition.columns]
        created = self.catalog.create(_table(definition, columns), definition.if_not_exists)
        del created
        self._complete(record, "CREATE_TABLE", [], [])

    def _drop_table(self, record: StatementRecord, sql: str, context: Context) -> None:
        try:
            name, if_exists = flink_ddl.parse_drop_table(sql)
        except ValueError as err:
            raise StatementFailed(f"SQL parse failed. {err}") from err
        if context.dry_run:
            if not if_exists:
                self._table(name)
        else:
            self.catalog.drop(name, if_exists)
        self._complete(record, "DROP_TABLE", [], [], context)

    def _show(self, record: StatementRecord, head: list[str], sql: str, planner: Planner, context: Context) -> None:
        if head[:2] == ["SHOW", "TABLES"]:
            return self._complete(record, "SHOW_TABLES", [Column("table name", "STRING", False)],
                                  [(n,) for n in self.catalog.names()])
        if head[:3] == ["SHOW", "CREATE", "TABLE"]:
            expression = parse("DESCRIBE " + sql.split(None, 3)[3])
            table = self._table(planner.table_name(expression.this))
            return self._complete(record, "SHOW_CREATE_TABLE", [Column("SHOW CREATE TABLE", "STRING", False)],
                                  [(table.create_statement(),)])
        if head[:2] == ["SHOW", "JOBS"]:
            return self._complete(record, "SHOW_JOBS", [], [])  # answered by the service, which knows them
        if head[:2] == ["SHOW", "CATALOGS"]:
            return self._complete(record, "SHOW_CATALOGS", [Column("Catalog Name", "STRING", False),
                                                            Column("Catalog ID", "STRING", False)],
                                  [(self.catalog_name, self.environment_id)])
        if head[:2] == ["SHOW", "DATABASES"]:
            return self._complete(record, "SHOW_DATABASES", [Column("Database Name", "STRING", False),
                                                             Column("Database ID", "STRING", False)],
                                  [(self.database_name, self.database_id)])
        raise StatementFailed(f"The sandbox does not model '{' '.join(head[:3])}'.")

    def _describe(self, record: StatementRecord, name: str) -> None:
        table = self._table(name)
        rows = [(c.name, c.type, "TRUE" if c.nullable else "FALSE",
                 "PRIMARY KEY, BUCKET KEY" if c.name in table.primary_key else
                 ("BUCKET KEY" if c.name in table.distributed_by else ""), c.comment or "")
                for c in table.columns]
        columns = [Column(n, "STRING", False) for n in ("Column Name", "Data Type", "Nullable", "Extras", "Comment")]
        self._complete(record, "DESCRIBE", columns, rows)

    def _set(self, record: StatementRecord, expression: exp.Set) -> None:
        rows = []
        for item in expression.expressions:
            assignment = item.this
            rows.append((assignment.left.name, assignment.right.name))
        self._complete(record, "SET", [Column("key", "STRING", False), Column("value", "STRING", False)], rows)

    def _table(self, name: str) -> Table:
        try:
            return self.catalog.get(name)
        except TableNotFound as err:
            raise StatementFailed(f"Table or view '{name}' not found") from err

    # -- queries ---------------------------------------------------------------------------------

    def _plan(self, planner: Planner, query: exp.Expression) -> QueryPlan:
        with self.store.transaction() as conn:
            return planner.plan(query, conn)

    def _remember(self, memo: tuple, plan: QueryPlan, sink: str | None = None,
                  columns_given: list[str] | None = None) -> None:
        if not plan.information_schema:  # its relations change with the catalog
            if len(self._planned) >= PLANNED_LIMIT:
                self._planned.clear()
            self._planned[memo] = _Planned(dumps(plan.to_json()), sink, tuple(columns_given or ()))

    def _still_planned(self, memo: tuple) -> tuple[QueryPlan, _Planned] | None:
        """The plan this statement's SQL got before (a fresh copy), if every table it reads is as it was."""
        planned = self._planned.get(memo)
        if planned is None:
            return None
        plan = QueryPlan.from_json(json.loads(planned.plan))
        try:
            if any(_source(self.catalog.get(source.table)) != source for source in plan.sources):
                return None
        except TableNotFound:
            return None
        return plan, planned

    def _select(self, record: StatementRecord, query: exp.Expression, context: Context, planner: Planner,
                memo: tuple) -> None:
        plan = self._plan(planner, query)
        self._remember(memo, plan)
        self._select_planned(record, plan, context)

    def _select_planned(self, record: StatementRecord, plan: QueryPlan, context: Context) -> None:
        bounded = context.snapshot or not plan.sources
        # A snapshot query answers the final rows (append-only); otherwise the traits say what the
        # query's changelog is, even when it is bounded (an aggregate over literals retracts).
        # ``upsert_columns`` is left out when there are none (a global aggregate), as Confluent does.
        record.traits = {
            "sql_kind": "SELECT",
            "is_bounded": bounded,
            "is_append_only": context.snapshot or plan.append_only,
            "schema": schema_traits(plan.columns),
        }
        if not (context.snapshot or plan.append_only) and plan.group_key:
            record.traits["upsert_columns"] = plan.group_key
        if bounded:
            rows = self.snapshot_rows(plan)
            traits = record.traits
            self._complete(record, "SELECT", plan.columns, rows)
            record.traits = traits
            return
        record.job = {"kind": "select", "plan": plan.to_json()}
        self._begin(record, plan, context)

    def _insert(self, record: StatementRecord, insert: exp.Insert, context: Context, planner: Planner,
                memo: tuple) -> None:
        target = insert.this
        columns_given: list[str] = []
        if isinstance(target, exp.Schema):
            columns_given = [c.name for c in target.expressions]
            target = target.this
        table = self._table(planner.table_name(target))
        query = insert.expression
        if isinstance(query, exp.Values):
            query = exp.select("*").from_(query)
        plan = self._plan(planner, query)
        self._remember(memo, plan, table.name, columns_given)
        self._insert_planned(record, table, columns_given, plan, context)

    def _insert_planned(self, record: StatementRecord, table: Table, columns_given: list[str],
                        plan: QueryPlan, context: Context) -> None:
        sink_columns = [table.column(c) for c in columns_given] if columns_given else table.columns
        if len(plan.columns) != len(sink_columns):
            raise StatementFailed(
                f"Column types of query result and sink for '{table.name}' do not match. "
                f"Query schema: [{', '.join(f'{c.name}: {c.type}' for c in plan.columns)}] "
                f"Sink schema: [{', '.join(f'{c.name}: {c.full_type}' for c in sink_columns)}]")
        if context.snapshot or not plan.sources:
            rows = self.snapshot_rows(plan)
            named = [dict(zip([c.name for c in sink_columns], row)) for row in rows]
            full = [{c.name: r.get(c.name) for c in table.columns} for r in named]
            self._check_not_null(table, [tuple(r[c.name] for c in table.columns) for r in full])
            if not self.dry_run:
                    self._write(table, [Change(changelog.INSERT, tuple(r[c.name] for c in table.columns)) for r in full])
            record.traits = {"sql_kind": "INSERT_INTO", "is_bounded": True, "is_append_only": True}
            record.job = {"records_out": len(full)}
            record.phase = "COMPLETED"
            record.end_time = _now()
            return
        if columns_given:
            raise StatementFailed("A continuous INSERT with a column list is not modelled by the sandbox; "
                                  "select every sink column in order.")
        self._continuous_insert(record, table, plan, context, "INSERT_INTO")

    def _continuous_insert(self, record: StatementRecord, table: Table, plan: QueryPlan, context: Context,
                           sql_kind: str) -> None:
        if table.changelog_mode == "append" and not plan.append_only:
            raise StatementFailed(
                f"Table sink '{table.name}' doesn't support consuming update and delete changes which is "
                "produced by an updating query (GROUP BY, outer join or an upsert source).")
        record.traits = {"sql_kind": sql_kind, "is_bounded": False, "is_append_only": True}
        record.job = {"kind": "insert", "sink": table.name, "sink_table": table_to_json(table),
                      "sink_columns": [c.name for c in table.columns],
                      "sink_key": table.key_columns if table.changelog_mode == "upsert" else [],
                      "plan": plan.to_json()}
        self._begin(record, plan, context)

    def _begin(self, record: StatementRecord, plan: QueryPlan, context: Context) -> None:
        """Set start offsets (or the statement to wait for) and create the state tables."""
        record.job.update(records_in=0, records_out=0, result_seq=record.job.get("result_seq", 0))
        carry_over = context.properties.get("sql.tables.initial-offset-from")
        offsets: dict[str, dict[str, int]] = {}
        for source in plan.sources:
            ends = self.topics.end_offsets(source.table)
            start = ends if context.startup_mode == "latest-offset" else {p: 0 for p in ends}
            offsets[source.table] = {str(p): o for p, o in start.items()}
        if context.startup_mode not in ("earliest-offset", "latest-offset"):
            raise StatementFailed(f"sql.tables.scan.startup.mode '{context.startup_mode}' is not modelled by "
                                  "the sandbox (earliest-offset and latest-offset are).")
        if carry_over:
            if record.job["kind"] != "insert" or not plan.stateless or record.job["sink_key"]:
                raise StatementFailed(
                    f"'sql.tables.initial-offset-from' = '{carry_over}' is only supported for stateless "
                    "statements (each event processed independently); this statement keeps state (an "
                    "aggregate, a join or an upsert sink). Start it from the earliest offset instead.")
            record.job["wait_for"] = carry_over
        if self.dry_run:
            return
        record.job["offsets"] = offsets
        with self.store.transaction() as conn:
            self._create_state(conn, record, plan)
        record.phase = "PENDING" if carry_over else "RUNNING"
        record.detail = f"Waiting for statement '{carry_over}' to stop." if carry_over else ""
        record.start_time = None if carry_over else _now()

    def _create_state(self, conn: duckdb.DuckDBPyConnection, record: StatementRecord, plan: QueryPlan) -> None:
        prefix = _state_prefix(record)
        for i, source in enumerate(plan.sources):
            changelog.create_state_table(conn, f"{prefix}s{i}", f"{prefix}v{i}", source.columns)
        out_cols = ", ".join(f"c{i} {c.duckdb_type}" for i, c in enumerate(plan.columns))
        conn.execute(f"CREATE TABLE IF NOT EXISTS {q(prefix + 'out')} ({out_cols})")

    def apply_carry_over(self, record: StatementRecord, previous: StatementRecord) -> None:
        """Start a waiting statement where ``previous`` (now STOPPED) ended."""
        for topic, text in (previous.latest_offsets or {}).items():
            if topic in record.job["offsets"]:
                from sandbox.flink.topics import parse_offsets
                record.job["offsets"][topic] = {str(p): o for p, o in parse_offsets(text).items()}
        record.job.pop("wait_for", None)
        record.phase = "RUNNING"
        record.detail = ""
        record.start_time = _now()

    # -- bounded runs ----------------------------------------------------------------------------

    def snapshot_rows(self, plan: QueryPlan) -> list[tuple]:
        """Run a plan once over the current contents of its sources."""
        with self.store.transaction() as conn:
            relations = [self._snapshot(conn, source) for source in plan.sources]
            if plan.information_schema and (content := self.information_schema_rows()) != self._information_schema:
                create_information_schema(conn, content)
                self._information_schema = content
            return conn.execute(plan.bind(relations)).fetchall()

    def _snapshot(self, conn: duckdb.DuckDBPyConnection, source: SourceRef) -> str:
        """The view of ``source`` folded up to its topic's end, for snapshot queries: kept in memory
        between queries and folded on from where it was (a query reads only the records since)."""
        key, columns = (source.table, source.upsert), repr(source.columns)
        generation = self.topics.generation(source.table)
        snapshot = self._snapshots.get(key)
        if snapshot is None or (snapshot.generation, snapshot.columns) != (generation, columns):
            number = list(self._snapshots).index(key) if key in self._snapshots else len(self._snapshots)
            snapshot = _Snapshot(f"__snap_s{number}", f"__snap_v{number}", generation, columns)
            changelog.create_state_table(conn, snapshot.table, snapshot.view, source.columns, temp=True)
            self._snapshots[key] = snapshot
        end = self.topics.end_offsets(source.table)
        changelog.fold(conn, snapshot.table, source.table, source.columns, source.upsert, snapshot.offsets, end)
        snapshot.offsets = end
        return snapshot.view

    def information_schema_rows(self) -> dict[str, list[tuple]]:
        """The rows of the INFORMATION_SCHEMA views: this catalog (environment), its one database
        (cluster) beside INFORMATION_SCHEMA itself, its tables and their columns. INFORMATION_SCHEMA
        lists its own views as SYSTEM TABLEs."""
        catalog = (self.environment_id, self.catalog_name)
        database = (self.database_id, self.database_name)
        tables, columns = [], []
        for view in sorted([*INFORMATION_SCHEMA_VIEWS, *INFORMATION_SCHEMA_ALIASES]):
            tables.append((*catalog, INFORMATION_SCHEMA, INFORMATION_SCHEMA, view, "SYSTEM TABLE",
                           "NO", None, None, "NO", None, None, None, None))
        for name in self.catalog.names():
            table = self.catalog.get(name)
            keys = table.key_columns
            tables.append((*catalog, *database, name, "BASE TABLE", "YES" if keys else "NO",
                           "HASH" if keys else None, table.partitions if keys else None,
                           "NO", None, None, None, None))
            for position, col in enumerate(table.columns, start=1):
                full = sql_type_name(col.type) + ("" if col.nullable else " NOT NULL")
                base = full.split("(")[0].split("<")[0].split(" NOT NULL")[0].strip()
                columns.append((*catalog, *database, name, col.name, position, "YES" if col.nullable else "NO",
                                base, full, "NO", "NO", None, "NO", None, "YES",
                                keys.index(col.name) + 1 if col.name in keys else None, col.comment))
        return {
            "CATALOGS": [catalog],
            "INFORMATION_SCHEMA_CATALOG_NAME": [catalog],
            "SCHEMATA": [(*catalog, *database), (*catalog, INFORMATION_SCHEMA, INFORMATION_SCHEMA)],
            "TABLES": tables,
            "COLUMNS": columns,
        }

    catalog_name = "default"
    database_name = "default"
    environment_id = "env-default"
    database_id = "lkc-default"

    # -- continuous steps ------------------------------------------------------------------------

    def step(self, record: StatementRecord) -> bool:
        """Consume what arrived since the last step; True if anything was consumed."""
        plan = QueryPlan.from_json(record.job["plan"])
        prefix = _state_prefix(record)
        ends_by_table = {s.table: self.topics.end_offsets(s.table) for s in plan.sources}
        for source in plan.sources:
            if not ends_by_table[source.table] and not self.topics.exists(source.table):
                raise StatementFailed(f"Table '{source.table}' (topic) was dropped while the statement ran.",
                                      "org.apache.kafka.common.errors.UnknownTopicOrPartitionException")
        consumed = record.job["offsets"]
        if not any(ends_by_table[t].get(int(p), 0) > o for t, offs in consumed.items() for p, o in offs.items()):
            return False
        groups = self._groups(record, plan)
        touched = self._touched(plan, groups)
        with self.store.transaction() as conn:
            for i, (table, columns) in touched.items():
                by_name = {c.name: c for c in plan.sources[i].columns}
                typed = ", ".join(f"g{j} {by_name[col].duckdb_type}" for j, col in enumerate(columns))
                conn.execute(f"CREATE OR REPLACE TEMP TABLE {table} ({typed})")
            records_in = 0
            emitted = 0
            index = {source.table: i for i, source in enumerate(plan.sources)}
            # A result changelog of an updating query changes per record, as Flink's does: the first
            # records of each step are consumed one at a time (the rest of a large backlog at once).
            singles = (self._new_records(conn, plan, consumed, ends_by_table)
                       if record.job["kind"] == "select" and not plan.append_only else [])
            for table, part, off in singles:
                i = index[table]
                source = plan.sources[i]
                records_in += changelog.fold(conn, f"{prefix}s{i}", table, source.columns, source.upsert,
                                             {part: off}, {part: off + 1}, touched.get(i))
                consumed[table][str(part)] = off + 1
                emitted += self._emit(conn, record, plan, prefix, groups, touched)
            rest = False
            for i, source in enumerate(plan.sources):
                start = {int(p): o for p, o in consumed[source.table].items()}
                end = ends_by_table[source.table]
                folded = changelog.fold(conn, f"{prefix}s{i}", source.table, source.columns, source.upsert, start, end,
                                        touched.get(i))
                records_in += folded
                rest |= folded > 0
                consumed[source.table] = {str(p): o for p, o in end.items()}
            if rest or not singles:
                emitted += self._emit(conn, record, plan, prefix, groups, touched)
            record.job["records_in"] += records_in
            record.job["records_out"] += emitted
            record.job["last_record_at"] = time.time()
        return True

    PER_RECORD_LIMIT = 200

    def _new_records(self, conn: duckdb.DuckDBPyConnection, plan: QueryPlan, consumed: dict,
                     ends_by_table: dict) -> list[tuple[str, int, int]]:
        """The first new records of the sources (by append time), as (topic, partition, offset)."""
        terms = []
        for source in plan.sources:
            start = {int(p): o for p, o in consumed[source.table].items()}
            condition = Topics.range_condition(start, ends_by_table[source.table])
            if condition != "FALSE":
                terms.append(f"(topic = '{source.table.replace(chr(39), chr(39) * 2)}' AND ({condition}))")
        if not terms:
            return []
        return [tuple(r) for r in conn.execute(
            f"SELECT topic, part, off FROM flink_records WHERE {' OR '.join(terms)} "
            f"ORDER BY ts, topic, part, off LIMIT {self.PER_RECORD_LIMIT}").fetchall()]

    @staticmethod
    def _touched(plan: QueryPlan, groups: list[list]) -> dict[int, tuple[str, list[str]]]:
        """Per source index, the temp table its folds list the touched values in (``TOUCHED``:
        source 0's group columns; ``TOUCHED<i>``: the join column of lookup ``i``) and those columns."""
        if not groups:
            return {}
        touched = {0: (TOUCHED, [column for _, column in groups])}
        for i, column, _ in plan.lookups:
            touched[i] = (f"{TOUCHED}{i}", [column])
        return touched

    @staticmethod
    def _groups(record: StatementRecord, plan: QueryPlan) -> list[list]:
        """The plan's [output position, source column] pairs when a step may recompute only the groups
        its records touched (see ``QueryPlan.group_columns``): the changes are diffed by a key that
        holds the group columns, so each key's row lies in one group (a join's: one of its source-0
        columns the key holds, see ``QueryPlan.lookups``). Empty: recompute in full."""
        if not plan.group_columns or plan.append_only:
            return []
        if record.job["kind"] == "insert":
            sink_columns = record.job["sink_columns"]
            key = {sink_columns.index(k) for k in record.job["sink_key"]}
        else:
            key = set(plan.group_key)
        if plan.lookups:
            return [pair for pair in plan.group_columns if pair[0] in key][:1]
        return plan.group_columns if {position for position, _ in plan.group_columns} <= key else []

    def _emit(self, conn: duckdb.DuckDBPyConnection, record: StatementRecord, plan: QueryPlan, prefix: str,
              groups: list[list], touched: dict[int, tuple[str, list[str]]]) -> int:
        """Run the query over the folded sources, emit its changes since the last run; their count.

        With ``groups``, the query runs over the source rows of the groups the folds since the last
        run touched (``touched``: the temp tables of :meth:`_touched`), and only those groups' previous
        rows are compared."""
        names = [f"c{i}" for i in range(len(plan.columns))]
        scope = None
        if groups:
            reach, driving = TOUCHED, q(prefix + "v0")
            if plan.lookups:  # the source-0 values whose rows the lookups' touched rows join
                column = q(groups[0][1])
                conn.execute(f"CREATE OR REPLACE TEMP TABLE __reach AS SELECT g0 FROM {TOUCHED}" + "".join(
                    f" UNION SELECT s.{column} FROM {driving} s"
                    f" WHERE s.{q(on)} IN (SELECT g0 FROM {touched[i][0]})"
                    for i, _, on in plan.lookups))
                reach = "__reach"
            rows = " AND ".join(f"g.g{j} IS NOT DISTINCT FROM s.{q(col)}" for j, (_, col) in enumerate(groups))
            conn.execute(f"CREATE OR REPLACE TEMP TABLE __scoped AS SELECT s.* FROM {driving} s"
                         f" WHERE EXISTS (SELECT 1 FROM {reach} g WHERE {rows})")
            query = plan.bind(["__scoped", *(f"{prefix}v{i}" for i in range(1, len(plan.sources)))])
            outputs = " AND ".join(f"g.g{j} IS NOT DISTINCT FROM p.{names[position]}"
                                   for j, (position, _) in enumerate(groups))
            scope = f"EXISTS (SELECT 1 FROM {reach} g WHERE {outputs})"
        else:
            query = plan.bind([f"{prefix}v{i}" for i in range(len(plan.sources))])
        conn.execute(f"CREATE OR REPLACE TEMP TABLE __cur AS SELECT * FROM ({query}) AS __q({', '.join(names)})")
        clock = [names[i] for i in plan.clock_columns]
        if record.job["kind"] == "insert":
            sink = table_from_json(record.job["sink_table"])
            key = [names[record.job["sink_columns"].index(k)] for k in record.job["sink_key"]]
            changes = changelog.diff(conn, prefix + "out", "__cur", names, key, clock, scope=scope)
            if record.job["sink_key"] or plan.append_only:
                changes = [c for c in changes if c.op in SINK_OPS]
            self._check_not_null(sink, [c.row for c in changes if c.op != changelog.DELETE])
            self._write(sink, changes, conn, record.job["sink_columns"])
        else:
            key = [names[i] for i in plan.group_key]
            changes = changelog.diff(conn, prefix + "out", "__cur", names, key, clock, retract=True, scope=scope)
            if plan.global_aggregate:  # one row, updated in place: -U old, +U new (not -D, +I)
                changes = changelog.as_update(changes)
            self.append_results(record, changes, conn, plan.columns)
        for table, _ in touched.values():
            conn.execute(f"DELETE FROM {table}")  # the next fold of this step starts a new list
        return len(changes)

    def _check_not_null(self, table: Table, rows: list[tuple]) -> None:
        for i, col in enumerate(table.columns):
            if not col.nullable and any(row[i] is None for row in rows):
                raise StatementFailed(
                    f"Column '{col.name}' is NOT NULL, however, a null value is being written into it. You can "
                    "set job configuration 'table.exec.sink.not-null-enforcer'='DROP' to suppress this "
                    "exception and drop such records silently.",
                    "org.apache.flink.table.api.TableException")

    def _write(self, table: Table, changes: list[Change], conn: duckdb.DuckDBPyConnection | None = None,
               names: list[str] | None = None) -> None:
        names = names or [c.name for c in table.columns]
        records = []
        types = {c.name: c.type for c in table.columns}
        nested = [(i, n, types[n]) for i, n in enumerate(names) if n in types and is_nested(types[n])]
        upsert = table.changelog_mode == "upsert"
        for change in changes:
            row = dict(zip(names, change.row))
            for i, n, flink_type in nested:  # only ROW, ARRAY and MULTISET values are stored otherwise
                row[n] = stored_value(change.row[i], flink_type)
            key = dumps({k: row[k] for k in table.key_columns}) if table.key_columns else None
            op = SINK_OPS.get(change.op, "+I") if upsert else "+I"
            value = None if (upsert and op == "-D") else dumps(row)
            records.append(Record(op, key, value))
        if records:
            try:
                self.topics.append(table.name, records, conn)
            except KeyError:
                raise StatementFailed(f"Table '{table.name}' (topic) was dropped while the statement wrote to it.",
                                      "org.apache.kafka.common.errors.UnknownTopicOrPartitionException") from None

    # -- table contents --------------------------------------------------------------------------

    def table_rows(self, name: str) -> list[dict[str, Any]]:
        table = self._table(name)
        plan = QueryPlan(sql=f"SELECT * FROM {q('__src0__')}",
                         sources=[_source(table)], columns=table.columns)
        rows = self.snapshot_rows(plan)
        return [dict(zip([c.name for c in table.columns], row)) for row in rows]


@dataclass
class _Snapshot:
    """A source topic folded into a temp ``table`` (read through ``view``) up to ``offsets``."""

    table: str
    view: str
    generation: int
    columns: str
    offsets: dict[int, int] = field(default_factory=dict)


PLANNED_LIMIT = 512


@dataclass(frozen=True)
class _Planned:
    """A statement's planning kept for its next create: its plan (JSON text, the form a statement's
    record keeps it in), and an INSERT's sink and column list."""

    plan: str
    sink: str | None
    columns_given: tuple[str, ...]


def _source(table: Table) -> SourceRef:
    return SourceRef(table.name, list(table.columns), table.changelog_mode == "upsert")


def _state_prefix(record: StatementRecord) -> str:
    return f"flink_st_{record.uid.replace('-', '')}_"


def _leading_words(sql: str) -> list[str]:
    from sqlglot.tokens import Tokenizer

    try:
        tokens = Tokenizer().tokenize(sql)
    except Exception:  # noqa: BLE001 - the full parse reports the error
        return []
    return " ".join(t.text.upper() for t in tokens[:6]).split()[:4]


def _table(definition: Any, columns: list[Column]) -> Table:
    key = list(definition.primary_key or [])
    distributed = list(definition.distributed_by or key)
    return Table(
        name=definition.name,
        columns=[Column(c.name, c.type, c.nullable and c.name not in key, c.comment) for c in columns],
        primary_key=key,
        distributed_by=distributed,
        partitions=definition.buckets or DEFAULT_BUCKETS,
        options=dict(definition.options or {}),
    )
