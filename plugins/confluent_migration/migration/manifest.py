"""The migration manifest: which tables migrate, with which files (paths relative to the manifest's
folder). Kept where its team keeps it (:func:`manifest_path`: a run's ``manifest`` param, env
``CONFLUENT_MIGRATION_MANIFEST``, Airflow Variable ``confluent_migration_manifest``; the encarta
estate's ``include/migration.yaml`` by default).

Loading checks the manifest, so that a mistake fails before anything changes, with a
:class:`ManifestError` naming the file, the table and the field. Its own fields: no field is
unknown; the subjects are the ones Confluent Cloud's TopicNameStrategy gives the table; the
dependency graph has no cycle; statement names are valid for Confluent Cloud and unique. Against
the files it names: every file exists; each DDL creates the table the manifest says, keyed as it
says; each pipeline writes that table and reads exactly the tables of ``reads``; ``stateful``
agrees with the pipeline's SQL. No DAG file reads it: the first task of each run loads it once, with
every check, and the run's plan carries what the later tasks need of it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from confluent_migration.settings import setting

if TYPE_CHECKING:
    from confluent_migration.flink_ddl import TableDefinition

DEFAULT_MANIFEST = Path(__file__).resolve().parents[3] / "include" / "migration.yaml"
MANIFEST_ENV, MANIFEST_VARIABLE = "CONFLUENT_MIGRATION_MANIFEST", "confluent_migration_manifest"
STATEMENT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
VERSION_KEY = re.compile(r"^v([1-9][0-9]*)$")  # a table's versions: v1, v2, v3, ... consecutive


class ManifestError(ValueError):
    """The manifest is wrong; the message names the file, the table and the field."""

    def __init__(self, path: Path, where: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {where}, field '{field}': {problem}")


@dataclass(frozen=True)
class PipelineVersion:
    """One version (``v1``, ``v2``, ...) of a table: its DDL, its pipeline, its value schema, its statement."""

    name: str
    ddl: Path  # relative to the manifest's folder
    dml: Path
    schema: Path
    statement: str


@dataclass(frozen=True)
class SourceSpec:
    name: str
    flink_table: str
    ddl: Path


@dataclass(frozen=True)
class TableSpec:
    """A table the migration changes."""

    name: str
    flink_table: str
    value_subject: str
    key_subject: str | None  # None for a table without a primary key
    primary_key: tuple[str, ...]
    reads: tuple[str, ...]
    stateful: bool
    versions: tuple[PipelineVersion, ...]  # v1, v2, ... in order (at least two)
    checks: tuple[str, ...] = ()  # Flink SQL conditions every row must meet after the migration
    freshness: str | None = None  # the column whose newest value says how fresh the table is

    @property
    def subjects(self) -> tuple[str, ...]:
        """The table's subjects: value, then key when it has one."""
        return (self.value_subject,) + ((self.key_subject,) if self.key_subject else ())

    @property
    def version_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.versions)

    def version(self, version: str) -> PipelineVersion:
        for entry in self.versions:
            if entry.name == version:
                return entry
        raise ValueError(f"unknown pipeline version {version!r} of table {self.name}; "
                         f"expected one of {self.version_names}")

    @property
    def v1(self) -> PipelineVersion:
        """The first version: what runs before any migration."""
        return self.versions[0]

    @property
    def v2(self) -> PipelineVersion:
        return self.version("v2")

    @property
    def newest(self) -> PipelineVersion:
        return self.versions[-1]


@dataclass(frozen=True)
class Manifest:
    path: Path
    sources: tuple[SourceSpec, ...]
    tables: tuple[TableSpec, ...]  # in dependency order: a table after every table it reads

    @property
    def root(self) -> Path:
        return self.path.parent

    def file(self, relative: Path | str) -> Path:
        return self.root / relative

    def sql(self, relative: Path | str) -> str:
        return self.file(relative).read_text()

    def in_dependency_order(self) -> list[TableSpec]:
        return list(self.tables)

    def table(self, name: str) -> TableSpec:
        for spec in self.tables:
            if spec.name == name or spec.flink_table == name:
                return spec
        raise KeyError(f"{name!r} is not a table of {self.path}; known: {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tables]

    def subset(self, names: Iterable[str] | None) -> list[TableSpec]:
        """The named tables (all when None), in dependency order; unknown names raise KeyError."""
        if names is None:
            return list(self.tables)
        wanted = set(names)
        unknown = wanted - set(self.names)
        if unknown:
            raise KeyError(f"not tables of {self.path}: {', '.join(sorted(unknown))}; known: {', '.join(self.names)}")
        return [t for t in self.tables if t.name in wanted]

    def readers_of(self, name: str) -> list[TableSpec]:
        """Tables of the manifest whose pipelines read ``name``."""
        return [t for t in self.tables if name in t.reads]

    def definition(self, spec: TableSpec, version: str) -> TableDefinition:
        from confluent_migration.flink_ddl import parse_create_table

        return parse_create_table(self.sql(spec.version(version).ddl))

    @cached_property
    def source_names(self) -> list[str]:
        return [s.name for s in self.sources]


def pipeline_facts(sql: str) -> tuple[str, set[str], bool]:
    """(table written, tables read, stateful-by-its-SQL) of an ``INSERT INTO ... SELECT``.

    Stateful by the SQL: GROUP BY, DISTINCT, aggregates, joins or OVER windows. (An upsert sink
    makes a pipeline stateful too; the caller knows the sink's key.)
    """
    import sqlglot
    from sqlglot import exp

    statement = sqlglot.parse_one(sql, read="spark")
    if not isinstance(statement, exp.Insert):
        raise ValueError("expected INSERT INTO ... SELECT")
    target = statement.this.find(exp.Table)
    written = target.name
    query = statement.expression
    read = {t.name for t in query.find_all(exp.Table)}
    stateful = any(
        query.find(kind) is not None for kind in (exp.Group, exp.Join, exp.Distinct, exp.Window, exp.AggFunc)
    )
    return written, read, stateful


def _short(flink_table: str) -> str:
    return flink_table.rsplit(".", 1)[-1]


TOP_FIELDS = {"sources", "tables", "checks", "freshness"}
SOURCE_FIELDS = {"table", "ddl"}
TABLE_FIELDS = {"table", "subjects", "primary_key", "reads", "stateful", "override", "checks", "freshness"}
OVERRIDE_FIELDS = {"reads", "stateful", "reason"}
VERSION_FIELDS = {"ddl", "dml", "schema", "statement"}


class _Loader:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.doc = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except (OSError, yaml.YAMLError) as err:
            raise ManifestError(path, "the manifest", "-", f"cannot be read: {err} (name your manifest in the "
                                f"run's manifest param, env {MANIFEST_ENV} or Airflow Variable {MANIFEST_VARIABLE})") from err
        if not isinstance(self.doc, dict):
            raise ManifestError(path, "the manifest", "-", "must be a mapping with 'sources' and 'tables'")

    def error(self, where: str, field: str, problem: str) -> ManifestError:
        return ManifestError(self.path, where, field, problem)

    def mapping(self, doc: Any, where: str, field: str, known: set[str] | None = None, prefix: str = "") -> dict:
        """``doc`` as a non-empty mapping; with ``known``, a key outside it is an error (a typo)."""
        if not isinstance(doc, dict) or not doc:
            raise self.error(where, field, "must be a non-empty mapping")
        unknown = sorted(set(doc) - known) if known is not None else []
        if unknown:
            raise self.error(where, prefix + str(unknown[0]), f"is not a field; expected {sorted(known)}")
        return doc

    def value(self, doc: dict, where: str, key: str, kind: type, prefix: str = "") -> Any:
        if key not in doc:
            raise self.error(where, prefix + key, "is missing")
        value = doc[key]
        if not isinstance(value, kind) or (kind is str and not value.strip()):
            raise self.error(where, prefix + key, f"must be a {kind.__name__}, got {value!r}")
        return value

    def file(self, doc: dict, where: str, key: str, prefix: str = "") -> Path:
        return Path(self.value(doc, where, key, str, prefix))

    def exists(self, relative: Path, where: str, field: str) -> None:
        if not (self.path.parent / relative).is_file():
            raise self.error(where, field, f"file {relative} does not exist under {self.path.parent}")

    def ddl(self, relative: Path, where: str, field: str, flink_table: str) -> TableDefinition:
        from confluent_migration.flink_ddl import DdlError, parse_create_table

        self.exists(relative, where, field)
        try:
            definition = parse_create_table((self.path.parent / relative).read_text())
        except DdlError as err:
            raise self.error(where, field, f"{relative} is not valid DDL: {err}") from err
        if definition.name != flink_table:
            raise self.error(where, field, f"{relative} creates `{definition.name}`, not `{flink_table}`")
        return definition

    def load(self, check_files: bool) -> Manifest:
        self.mapping(self.doc, "the manifest", "-", TOP_FIELDS)
        sources = tuple(self.source(name, doc) for name, doc in
                        self.mapping(self.doc.get("sources"), "the manifest", "sources").items())
        table_docs = self.mapping(self.doc.get("tables"), "the manifest", "tables")
        defaults = self.declared(self.doc, "the manifest", (), None)
        tables = [self.table(name, doc, defaults) for name, doc in table_docs.items()]
        known = {s.name for s in sources} | {t.name for t in tables}
        for spec in tables:
            unknown = set(spec.reads) - known
            if unknown:
                raise self.error(f"table {spec.name}", "reads", f"its pipeline reads {sorted(unknown)}, neither sources "
                                 "nor tables of the manifest: add them to sources")
        seen: dict[str, str] = {}
        for spec in tables:
            for version in spec.versions:
                name, field = version.statement, f"{version.name}.statement"
                if name in seen:
                    raise self.error(f"table {spec.name}", field, f"{name!r} is also the statement of {seen[name]}"
                                     " (statement names are unique per environment)")
                seen[name] = f"{spec.name} {field}"
        manifest = Manifest(self.path, sources, tuple(self.ordered(tables)))
        if check_files:
            self.check_files(manifest)
        return manifest

    def check_files(self, manifest: Manifest) -> None:
        """Every file exists; each DDL creates its table, keyed as the manifest says; each schema
        matches its DDL; the declared checks name columns of the new DDL."""
        for source in manifest.sources:
            self.ddl(source.ddl, f"source {source.name}", "ddl", source.flink_table)
        for spec in manifest.tables:
            where = f"table {spec.name}"
            definitions = []  # each DDL read and parsed once, for every check below
            for files in spec.versions:
                prefix = f"{files.name}."
                definitions.append(definition := self.ddl(files.ddl, where, prefix + "ddl", spec.flink_table))
                if tuple(definition.primary_key) != spec.primary_key:
                    raise self.error(where, "primary_key", f"{list(spec.primary_key)} but {files.ddl} declares "
                                                           f"PRIMARY KEY {definition.primary_key}")
                self.exists(files.schema, where, prefix + "schema")
            for before, (after, files) in zip(definitions, zip(definitions[1:], spec.versions[1:], strict=True)):
                self.check_declared(spec, files, [c.name for c in after.columns])
                self.check_schema(manifest, spec, files, before, after)

    def check_schema(self, manifest: Manifest, spec: TableSpec, files: PipelineVersion, before: TableDefinition,
                     after: TableDefinition) -> None:
        """A later version's value schema has the fields, in order and with the types, that the DDL
        evolution from the version before registers (Confluent's Flink-to-Avro mapping; a field added
        NOT NULL gets a default)."""
        from confluent_migration.avro_mapping import evolved_value_schema

        where, field = f"table {spec.name}", f"{files.name}.schema"
        try:
            fields = json.loads(manifest.sql(files.schema)).get("fields")
        except (ValueError, AttributeError) as err:
            raise self.error(where, field, f"{files.schema} is not an Avro record schema: {err}") from err
        wanted = evolved_value_schema(before, after)["fields"]
        found = [(f.get("name"), f.get("type")) for f in fields or [] if isinstance(f, dict)]
        pairs = itertools.zip_longest(found, [(f["name"], f["type"]) for f in wanted], fillvalue=(None, None))
        for (name, kind), (want, want_kind) in pairs:
            if (name, kind) != (want, want_kind):
                raise self.error(where, field, f"{files.schema} has field {name!r} of type {json.dumps(kind)} "
                                 f"where {files.ddl} gives {want!r} of type {json.dumps(want_kind)}")

    def check_declared(self, spec: TableSpec, files: PipelineVersion, columns: list[str]) -> None:
        """The checks and the freshness column name only columns of a later version's DDL (each may be
        a migration's target, so a check that could not run after its cut-over fails here, before
        anything changes)."""
        from sqlglot.errors import ParseError

        where = f"table {spec.name}"
        for check in spec.checks:
            try:
                lacking = sorted(condition_columns(check) - set(columns))
            except ParseError as err:
                raise self.error(where, "checks", f"{check!r} is not a SQL condition: {err}") from err
            if lacking:
                raise self.error(where, "checks", f"{check!r} names {lacking}, not columns of {files.ddl}")
        if spec.freshness and spec.freshness not in columns:
            raise self.error(where, "freshness", f"{spec.freshness!r} is not a column of {files.ddl}")

    def source(self, name: str, doc: Any) -> SourceSpec:
        where = f"source {name}"
        doc = self.mapping(doc, where, name, SOURCE_FIELDS)
        flink_table = self.value(doc, where, "table", str)
        return SourceSpec(name, flink_table, self.file(doc, where, "ddl"))

    def declared(self, doc: dict, where: str, checks: tuple[str, ...], freshness: str | None
                 ) -> tuple[tuple[str, ...], str | None]:
        """``doc``'s ``checks`` (a list of conditions) and ``freshness`` (a column or null), each
        defaulting to the given one (the manifest's own, for a table)."""
        if "checks" in doc:
            listed = doc["checks"]
            if not isinstance(listed, list) or not all(isinstance(c, str) and c.strip() for c in listed):
                raise self.error(where, "checks", f"must be a list of SQL conditions, got {listed!r}")
            checks = tuple(c.strip() for c in listed)
        if "freshness" in doc:
            freshness = doc["freshness"]
            if freshness is not None and (not isinstance(freshness, str) or not freshness.strip()):
                raise self.error(where, "freshness", f"must be a column name or null, got {freshness!r}")
        return checks, freshness

    def table(self, name: str, doc: Any, defaults: tuple[tuple[str, ...], str | None] = ((), None)) -> TableSpec:
        where = f"table {name}"
        doc = self.mapping(doc, where, name, TABLE_FIELDS | {k for k in doc if VERSION_KEY.match(str(k))}
                           if isinstance(doc, dict) else None)
        flink_table = self.value(doc, where, "table", str)
        if _short(flink_table) != name:
            raise self.error(where, "table", f"`{flink_table}` does not end in .{name}")
        primary_key = tuple(self.value(doc, where, "primary_key", list))
        value_subject, key_subject = self.subjects(doc, where, flink_table, bool(primary_key))
        versions = {}
        for version in self.version_keys(doc, where):
            prefix = f"{version}."
            vdoc = self.mapping(doc.get(version), where, version, VERSION_FIELDS, prefix)
            ddl, dml, schema = (self.file(vdoc, where, key, prefix) for key in ("ddl", "dml", "schema"))
            statement = self.value(vdoc, where, "statement", str, prefix)
            if len(statement) > 100 or not STATEMENT_NAME.match(statement):
                raise self.error(where, prefix + "statement", f"{statement!r} is not a valid Confluent "
                                 "statement name (lowercase letters, digits, '-' and '.', at most 100 characters)")
            versions[version] = PipelineVersion(version, ddl, dml, schema, statement)
        checks, freshness = self.declared(doc, where, *defaults)
        reads, stateful = self.dependencies(doc, where, flink_table, bool(primary_key), versions)
        return TableSpec(name, flink_table, value_subject, key_subject, primary_key, reads, stateful,
                         tuple(versions.values()), checks, freshness)

    def version_keys(self, doc: dict, where: str) -> list[str]:
        """The table's version keys, ``v1`` to ``vN`` (N >= 2, none left out), in order."""
        numbers = sorted(int(m.group(1)) for m in map(VERSION_KEY.match, map(str, doc)) if m)
        wanted = list(range(1, max(numbers[-1] if numbers else 0, 2) + 1))
        missing = [f"v{n}" for n in wanted if n not in numbers]
        if missing:
            raise self.error(where, missing[0], f"is missing: a table lists consecutive versions v1, v2, ... "
                             f"(at least two; found {[f'v{n}' for n in numbers]})")
        return [f"v{n}" for n in numbers]

    def dependencies(self, doc: dict, where: str, flink_table: str, upsert_sink: bool,
                     versions: dict[str, PipelineVersion]) -> tuple[tuple[str, ...], bool]:
        """(reads, stateful) from the pipelines' SQL: the tables any version reads (a table migrates
        after them), and whether the newest version is stateful (GROUP BY, DISTINCT, aggregates, joins,
        OVER windows or an upsert sink), which decides where its statement starts. ``reads`` and
        ``stateful`` written beside them must agree with the SQL; ``override`` (with a ``reason``)
        replaces what the SQL says, for what it cannot show (a lookup inside a UDF, say)."""
        reads: list[str] = []
        for version, files in versions.items():
            field = f"{version}.dml"
            self.exists(files.dml, where, field)
            try:
                written, tables, stateful = pipeline_facts((self.path.parent / files.dml).read_text())
            except ValueError as err:  # sqlglot's ParseError is a ValueError
                raise self.error(where, field, f"{files.dml} is not an INSERT INTO ... SELECT: {err}") from err
            if written != flink_table:
                raise self.error(where, field, f"{files.dml} writes `{written}`, not `{flink_table}`")
            reads += sorted({_short(t) for t in tables} - set(reads))
        derived = {"reads": tuple(reads), "stateful": stateful or upsert_sink}
        for key, kind in (("reads", list), ("stateful", bool)):
            if key in doc:
                said = self.value(doc, where, key, kind)
                if (set(said) != set(reads)) if kind is list else said != derived[key]:
                    shown = sorted(reads) if kind is list else derived[key]
                    raise self.error(where, key, f"{said} but the SQL says {shown} (the pipelines of "
                                     f"{', '.join(versions)}): remove {key!r} to use the SQL's, or set "
                                     f"override.{key} with a reason")
        if "override" not in doc:
            return derived["reads"], derived["stateful"]
        override = self.mapping(doc["override"], where, "override", OVERRIDE_FIELDS, "override.")
        reason = override.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise self.error(where, "override.reason", "is missing: say why the SQL's reads or stateful do not hold")
        if "reads" in override:
            derived["reads"] = tuple(self.value(override, where, "reads", list, "override."))
        if "stateful" in override:
            derived["stateful"] = self.value(override, where, "stateful", bool, "override.")
        return derived["reads"], derived["stateful"]

    def subjects(self, doc: dict, where: str, flink_table: str, keyed: bool) -> tuple[str, str | None]:
        """(value, key) subjects: TopicNameStrategy's, which is what CREATE TABLE registers."""
        subjects = self.mapping(doc.get("subjects"), where, "subjects", {"value", "key"}, "subjects.")
        expected = {"value": f"{flink_table}-value", "key": f"{flink_table}-key" if keyed else None}
        for kind, want in expected.items():
            got = subjects.get(kind)
            if got != want:
                raise self.error(where, f"subjects.{kind}", f"is {got!r}; the table's topic `{flink_table}` "
                                 f"{'has the subject ' + repr(want) if want else 'has no key subject (no primary key)'}")
        return expected["value"], expected["key"]

    def ordered(self, tables: list[TableSpec]) -> list[TableSpec]:
        by_name = {t.name: t for t in tables}
        done: list[TableSpec] = []
        visiting: set[str] = set()

        def visit(spec: TableSpec) -> None:
            if spec in done:
                return
            if spec.name in visiting:
                raise self.error(f"table {spec.name}", "reads", "the tables read each other in a cycle")
            visiting.add(spec.name)
            for upstream in sorted(set(spec.reads) & set(by_name), key=list(by_name).index):  # the manifest's order
                visit(by_name[upstream])
            visiting.discard(spec.name)
            done.append(spec)

        for spec in tables:
            visit(spec)
        return done


def condition_columns(condition: str) -> set[str]:
    """The column names a SQL condition reads (``created_at <= updated_at``: both)."""
    import sqlglot
    from sqlglot import exp

    return {column.name for column in sqlglot.parse_one(condition, read="spark").find_all(exp.Column)}


def manifest_path(override: str | None = None) -> Path:
    """The manifest a run uses: ``override`` (the run's ``manifest`` param) when given, else env
    ``CONFLUENT_MIGRATION_MANIFEST``, else Airflow Variable ``confluent_migration_manifest``, else the
    project's ``include/migration.yaml``. Read by a task, never while a DAG file is parsed."""
    return Path(override or setting(MANIFEST_ENV, MANIFEST_VARIABLE) or DEFAULT_MANIFEST).absolute()


def load_manifest(path: Path | str | None = None, *, check_files: bool = True) -> Manifest:
    """Load and check the manifest (default: :func:`manifest_path`).

    :param check_files: False checks only the manifest's own fields, not the files it names (no SQL
        is parsed): what a DAG file needs at parse time."""
    return _Loader(Path(path) if path else manifest_path()).load(check_files)
