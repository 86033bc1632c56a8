"""Real Apache Flink (PyFlink, ``apache-flink`` 2.3) for tests: the planner check of the project's
SQL files and bounded runs of its pipelines.

The files are written for Confluent Cloud; what only Confluent has is adapted here, in the harness,
never in the files:

- a table without a ``WITH`` clause is a Kafka topic in Confluent Cloud; the wheel has no Kafka
  connector, so each table gets ``'connector' = 'filesystem'`` over a folder of its own and
  ``'format' = 'debezium-json'`` (a changelog source and an updating sink, as an upsert topic is);
- ``DISTRIBUTED BY`` is kept on tables that are only read, and cut from tables that are written
  (the filesystem sink does not support bucketing);
- ``table.exec.sink.require-on-conflict = false``: Flink 2.3 otherwise refuses a join into a keyed
  sink without an ON CONFLICT clause that Confluent does not need;
- ``INFORMATION_SCHEMA.COLUMNS`` (Confluent's catalog view) is an empty table with its columns.

Table names stay as written: `sbx-uat.encarta.public.skus` is one identifier in the current
catalog and database, as it is in Confluent Cloud. Each run or check uses a database of its own, so
v1 and v2 of a table never meet. One JVM (one ``TableEnvironment``) serves the whole process.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from confluent_migration.flink_ddl import (
    FlinkType, TableDefinition, parse_create_table, parse_drop_table, parse_type, tokenize,
)
from confluent_migration.migration.manifest import Manifest, load_manifest, pipeline_facts

INFORMATION_SCHEMA_COLUMNS = """CREATE TABLE `INFORMATION_SCHEMA`.`COLUMNS` (
    `TABLE_CATALOG` STRING, `TABLE_SCHEMA` STRING, `TABLE_NAME` STRING, `COLUMN_NAME` STRING,
    `ORDINAL_POSITION` INT, `IS_NULLABLE` STRING, `DATA_TYPE` STRING, `FULL_DATA_TYPE` STRING,
    `IS_HIDDEN` STRING, `IS_GENERATED` STRING, `IS_METADATA` STRING, `IS_PERSISTED` STRING,
    `DISTRIBUTION_ORDINAL_POSITION` INT, `COMMENT` STRING
)"""


class FlinkSqlError(AssertionError):
    """Real Flink refused a statement; the message names the file and quotes Flink's reason."""


@dataclass(frozen=True)
class AdaptedTable:
    definition: TableDefinition
    ddl: str  # what Flink executes
    path: Path  # the folder holding the table's debezium-json files


def adapt_ddl(sql: str, path: Path, written: bool) -> str:
    """``sql`` (a Confluent ``CREATE TABLE``) as Flink's filesystem connector runs it: over
    debezium-json files in ``path``, without ``DISTRIBUTED BY`` when the table is written."""
    tokens = tokenize(sql)
    body_end = tokens[-2].pos if tokens[-2].text == ";" else len(sql)
    uppers = [t.upper for t in tokens]
    if "WITH" in uppers:
        raise NotImplementedError("the harness adapts tables without a WITH clause only "
                                  "(Confluent's options would be unknown to the filesystem connector)")
    text = sql[:body_end].rstrip()
    if written and "DISTRIBUTED" in uppers:
        start = tokens[uppers.index("DISTRIBUTED")].pos
        after = next((t.pos for t in tokens[uppers.index("DISTRIBUTED"):] if t.upper in ("AS", ";")), len(text))
        text = (sql[:start].rstrip() + "\n" + sql[after:body_end]).rstrip()
    options = {"connector": "filesystem", "path": str(path), "format": "debezium-json",
               "debezium-json.encode.decimal-as-plain-number": "true"}
    return text + "\nWITH (" + ", ".join(f"'{k}' = '{v}'" for k, v in options.items()) + ")"


def _statement(sql: str) -> str:
    """``sql`` without its trailing semicolon (Flink's ``execute_sql`` takes one statement bare)."""
    text = sql.strip()
    return text[:-1].rstrip() if text.endswith(";") else text


class FlinkSession:
    """One PyFlink streaming ``TableEnvironment`` (one JVM) with scratch folders for tables."""

    def __init__(self) -> None:
        from pyflink.table import EnvironmentSettings, TableEnvironment

        self.env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
        config = self.env.get_config()
        config.set("parallelism.default", "1")
        config.set("table.local-time-zone", "UTC")
        config.set("table.exec.sink.require-on-conflict", "false")
        self.workdir = Path(tempfile.mkdtemp(prefix="flink-harness-"))
        self._numbers = itertools.count(1)
        self._catalog: dict[str, dict[str, AdaptedTable]] = {}
        self.database = ""

    @property
    def tables(self) -> dict[str, AdaptedTable]:
        """The tables of the current database, by Flink name."""
        return self._catalog[self.database]

    # -- catalog ------------------------------------------------------------------------------
    def fresh_database(self) -> str:
        """Switch to a new empty database (with Confluent's INFORMATION_SCHEMA beside it)."""
        name = f"run_{next(self._numbers)}"
        self.env.execute_sql(f"CREATE DATABASE `{name}`")
        self._catalog[name] = {}
        self.use(name)
        if "INFORMATION_SCHEMA" not in self.env.list_databases():
            self.env.execute_sql("CREATE DATABASE `INFORMATION_SCHEMA`")
            self.run_sql(adapt_ddl(INFORMATION_SCHEMA_COLUMNS, self._folder("information_schema"), False),
                         "INFORMATION_SCHEMA.COLUMNS")
        return name

    def use(self, database: str) -> None:
        """Make ``database`` (from :meth:`fresh_database`) the current one."""
        self.env.execute_sql(f"USE `{database}`")
        self.database = database

    def _folder(self, label: str) -> Path:
        folder = self.workdir / f"{label}-{next(self._numbers)}"
        folder.mkdir(parents=True)
        return folder

    def create_table(self, sql: str, written: bool, origin: str) -> AdaptedTable:
        """Create the table of ``sql`` (a Confluent ``CREATE TABLE``) in the current database."""
        definition = parse_create_table(sql)
        path = self._folder(definition.short_name)
        table = AdaptedTable(definition, adapt_ddl(sql, path, written), path)
        self.run_sql(table.ddl, origin)
        self.tables[definition.name] = table
        return table

    # -- statements ---------------------------------------------------------------------------
    def run_sql(self, sql: str, origin: str) -> None:
        try:
            self.env.execute_sql(_statement(sql))
        except Exception as err:  # noqa: BLE001 - Py4J wraps every Java exception alike
            raise FlinkSqlError(f"{origin}: Flink refused it: {_java_reason(err)}") from None

    def explain(self, sql: str, origin: str) -> str:
        """Flink's plan of ``sql`` (parsed, validated, optimised), or FlinkSqlError naming ``origin``."""
        try:
            return self.env.explain_sql(_statement(sql))
        except Exception as err:  # noqa: BLE001
            raise FlinkSqlError(f"{origin}: Flink refused it: {_java_reason(err)}") from None

    def execute_pipelines(self, pipelines: list[tuple[str, str]]) -> None:
        """Run ``(origin, INSERT ...)`` pipelines to completion; independent ones share a job."""
        for wave in _waves(pipelines):
            statements = self.env.create_statement_set()
            for origin, sql in wave:
                try:
                    statements.add_insert_sql(_statement(sql))
                except Exception as err:  # noqa: BLE001
                    raise FlinkSqlError(f"{origin}: Flink refused it: {_java_reason(err)}") from None
            statements.execute().wait()

    def write_rows(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Append ``rows`` to ``table``'s files as a Debezium changelog: a key seen before is an
        update of its previous row (an upsert, as on a keyed Confluent table)."""
        adapted = self.tables[table]
        key = adapted.definition.primary_key
        latest: dict[tuple, dict[str, Any]] = {}
        lines = []
        for row in rows:
            after = {c.name: _to_json(row.get(c.name)) for c in adapted.definition.columns}
            k = tuple(after[c] for c in key) if key else (len(lines),)
            before = latest.get(k)
            lines.append(json.dumps({"before": before, "after": after, "op": "u" if before else "c"}))
            latest[k] = after
        (adapted.path / f"input-{len(list(adapted.path.iterdir()))}.json").write_text("\n".join(lines) + "\n")

    def contents(self, table: str) -> list[dict[str, Any]]:
        """The final rows of ``table`` (its changelog applied), as Python values by column type."""
        definition = self.tables[table].definition
        kinds = {c.name: parse_type(c.type) for c in definition.columns}
        frame = self.env.sql_query(f"SELECT {', '.join(_readable(n, t) for n, t in kinds.items())} "
                                   f"FROM `{table}`").to_pandas()
        return [{name: _from_pandas(value, kinds[name].name) for name, value in record.items()}
                for record in frame.to_dict(orient="records")]


def _waves(pipelines: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Pipelines grouped so that each reads only tables written by earlier groups."""
    written = {origin: pipeline_facts(sql)[0] for origin, sql in pipelines}
    reads = {origin: pipeline_facts(sql)[1] for origin, sql in pipelines}
    waves: list[list[tuple[str, str]]] = []
    pending = list(pipelines)
    while pending:
        later = {written[o] for o, _ in pending}
        wave = [(o, s) for o, s in pending if not (reads[o] & later - {written[o]})]
        if not wave:
            raise ValueError(f"the pipelines read each other in a cycle: {[o for o, _ in pending]}")
        waves.append(wave)
        pending = [p for p in pending if p not in wave]
    return waves


def _readable(column: str, flink_type: FlinkType) -> str:
    """``column`` as ``to_pandas()`` can read it: Arrow wants MAP keys NOT NULL (as Avro's are)."""
    if flink_type.name != "MAP":
        return f"`{column}`"
    key, value = flink_type.elements
    return f"CAST(`{column}` AS MAP<{key.name} NOT NULL, {value}>) AS `{column}`"


def _java_reason(err: Exception) -> str:
    """The Java exception's own message line(s), without the Py4J preamble and stack trace."""
    lines = [line for line in str(err).splitlines() if line.strip() and not line.startswith("\tat ")]
    reason = [line for line in lines if "Exception:" in line or "Error:" in line]
    return " | ".join(line.strip() for line in (reason or lines)[:3])


def _to_json(value: Any) -> Any:
    """A row value as Flink's JSON format reads it (timestamps in its SQL standard, UTC)."""
    if isinstance(value, datetime):
        moment = value.astimezone(timezone.utc)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _from_pandas(value: Any, kind: str) -> Any:  # noqa: PLR0911
    """A value of ``to_pandas()`` as the plain Python value of its Flink type."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind in ("TIMESTAMP_LTZ", "TIMESTAMP"):
        if str(value) == "NaT":
            return None
        moment = value.to_pydatetime()
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if kind in ("BIGINT", "INT", "SMALLINT", "TINYINT"):
        return int(value)
    if kind == "BOOLEAN":
        return bool(value)
    if kind == "ARRAY":
        return [v for v in value]
    if kind == "MAP":
        return dict(value)
    return value


@functools.cache
def session() -> FlinkSession:
    """The process's Flink session (the JVM starts on first use: 5-20 s)."""
    return FlinkSession()


def explain(sql_files: Iterable[Path | str]) -> dict[Path, str]:
    """Plan ``sql_files`` in order in a fresh database: a ``CREATE TABLE`` is created (adapted as
    above, as a written table when a later file inserts into it), a ``DROP TABLE`` executed, any
    other statement (INSERT, SELECT) EXPLAINed. Returns each file's plan ('' for DDL); the first
    refusal raises :class:`FlinkSqlError` naming its file."""
    flink = session()
    flink.fresh_database()
    texts = {Path(p): Path(p).read_text() for p in sql_files}
    kinds = {path: tokenize(text)[0].upper for path, text in texts.items()}
    written = {pipeline_facts(text)[0] for path, text in texts.items() if kinds[path] == "INSERT"}
    plans = {}
    for path, text in texts.items():
        plans[path] = ""
        if kinds[path] == "CREATE":
            flink.create_table(text, written=parse_create_table(text).name in written, origin=str(path))
        elif kinds[path] == "DROP":
            flink.run_sql(text, str(path))
            flink.tables.pop(parse_drop_table(text)[0], None)
        else:
            plans[path] = flink.explain(text, str(path))
    return plans


def _ddl_of(manifest: Manifest, pipeline: Path) -> tuple[str, Path]:
    """(version, DDL path) of the manifest table whose pipeline file is ``pipeline``."""
    for spec in manifest.tables:
        for version in ("v1", "v2"):
            files = spec.version(version)
            if manifest.file(files.dml).resolve() == pipeline.resolve():
                return version, manifest.file(files.ddl)
    raise KeyError(f"{pipeline} is no pipeline of {manifest.path}")


def run_bounded(source_rows: dict[str, list[dict[str, Any]]], pipeline_files: list[Path],
                manifest: Manifest | None = None) -> dict[str, list[dict[str, Any]]]:
    """Run ``pipeline_files`` (in order) through real Flink over ``source_rows`` (Flink table name ->
    rows, each a later upsert of its key) and return the final contents of each written table.

    The tables come from the manifest: the sources' DDL and, for each pipeline, the DDL of its table
    in the same version; an input table that is a derived one uses that version's DDL too."""
    manifest = manifest or load_manifest()
    flink = session()
    flink.fresh_database()
    ddls = {spec.flink_table: spec for spec in manifest.tables}
    owned = [_ddl_of(manifest, Path(p)) for p in pipeline_files]
    version = owned[0][0] if owned else "v1"
    written = {parse_create_table(ddl.read_text()).name for _, ddl in owned}
    for source in manifest.sources:
        flink.create_table(manifest.sql(source.ddl), written=False, origin=str(manifest.file(source.ddl)))
    for name, spec in ddls.items():
        if name in written or name in source_rows:
            ddl = manifest.file(spec.version(version).ddl)
            flink.create_table(ddl.read_text(), written=name in written, origin=str(ddl))
    for table, rows in source_rows.items():
        if table not in flink.tables:
            raise KeyError(f"input for {table}, which is neither a source nor a table of {manifest.path}")
        flink.write_rows(table, rows)
    flink.execute_pipelines([(str(p), Path(p).read_text()) for p in pipeline_files])
    return {table: flink.contents(table) for table in sorted(written)}
