"""The plan a migration run hands from its first task to its phases, as frozen dataclasses.

A plan crosses task boundaries through XCom as plain JSON (:meth:`Plan.to_xcom`): Airflow only
deserialises its own classes by default (``[core] allowed_deserialization_classes``). Every task
rebuilds it with :meth:`Plan.from_xcom`, which refuses an unknown or missing field and a value of
the wrong type, naming where. Mapped operators expand over lists of the plan (their kwargs);
:func:`check_path` checks such a path against these types when a DAG file is parsed.

Each option has its own type (:class:`OptionAPlan`, :class:`OptionBPlan`, :class:`OptionCPlan`)
on the fields every option has (:class:`Plan`; :class:`InPlacePlan` for A and C, which stop each
v1 statement per level); the XCom form carries ``option`` to pick it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from functools import cache
from typing import Any, ClassVar, Union

from confluent_migration.migration.criteria import SuccessCriteria
from confluent_migration.migration.dag_defaults import OPTION_A, OPTION_B, OPTION_C
from confluent_migration.migration.params import RunParams



class PlanError(ValueError):
    """A plan (or a path into it) does not match the plan's types; the message says where."""


@dataclass(frozen=True, kw_only=True)
class TableFacts:
    """What validation needs of a table: the version it moves from and to, the target's columns (from
    its DDL) and where its rows come from."""

    table: str
    flink_table: str
    from_version: str
    to_version: str
    from_columns: int
    to_columns: int
    to_column_names: tuple[str, ...]
    added_columns: tuple[str, ...]  # what the migration adds
    checks: tuple[str, ...]
    freshness: str | None
    primary_key: tuple[str, ...]
    stateful: bool
    source_table: str | None
    old_statement: str  # the statement writing the table before the run
    subjects: tuple[str, ...]
    value_subject: str


@dataclass(frozen=True, kw_only=True)
class StatementStop:
    statement_name: str


@dataclass(frozen=True, kw_only=True)
class StatementStart:
    statement_name: str
    sql: str
    properties: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class StartLevel:
    """The statements started at one dependency level."""

    start: tuple[StatementStart, ...]


@dataclass(frozen=True, kw_only=True)
class StopStartLevel(StartLevel):
    """One dependency level's v1 statements stopped (downstream first across levels) and its v2 ones started."""

    stop: tuple[StatementStop, ...]


@dataclass(frozen=True, kw_only=True)
class Compatibility:
    subject: str
    level: str


@dataclass(frozen=True, kw_only=True)
class Schema:
    subject: str
    schema: str


@dataclass(frozen=True, kw_only=True)
class SchemaCheck(Schema):
    """A schema checked under a compatibility level (not the subject's own)."""

    level: str


@dataclass(frozen=True, kw_only=True)
class DryRun:
    """A statement for Confluent's ``sql.dry-run`` in pre-flight, and what it acts on."""

    sql: str
    acts_on: str


@dataclass(frozen=True, kw_only=True)
class TableStatement:
    """A bounded statement on one table (CREATE or DROP TABLE) under a deterministic name."""

    table: str
    sql: str
    statement_name: str


@dataclass(frozen=True, kw_only=True)
class Backup:
    table: str
    backup_table: str
    ddl: str  # the table's own DDL, created under the backup's name
    create_statement: str
    copy_statement: str


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What every option plans: the run's checked params, its tables (dependency order), their
    facts, pre-flight's checks, the v2 starts per level, and the statements and tables before and
    after the run."""

    option: ClassVar[str]

    params: RunParams
    tables: tuple[str, ...]
    facts: tuple[TableFacts, ...]
    check_schemas: tuple[Schema, ...]
    validate_queries: tuple[DryRun, ...]
    levels: tuple[StartLevel, ...]
    new_statements: tuple[str, ...]
    old_statements: tuple[str, ...]
    final_tables: dict[str, str]

    def to_xcom(self) -> dict[str, Any]:
        """The plan as plain JSON-able data, with its ``option``."""
        return {"option": self.option, **plain(self)}

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> Plan:
        """The plan of :meth:`to_xcom`; :class:`PlanError` on an unknown option, field or type.
        Called on an option's type, the value must be a plan of that option."""
        if not isinstance(value, Mapping):
            raise PlanError(f"plan: expected the XCom of a plan (a mapping), got {type(value).__name__}")
        option = value.get("option")
        kind = PLAN_TYPES.get(option) if isinstance(option, str) else None
        if kind is None:
            raise PlanError(f"plan: unknown option {option!r}; known: {sorted(PLAN_TYPES)}")
        if not issubclass(kind, cls):
            raise PlanError(f"plan: expected {cls.__name__}, got option {option}'s plan")
        return _build(kind, {k: v for k, v in value.items() if k != "option"}, "plan")

    def starts(self) -> list[StatementStart]:
        """Every statement the run starts, in order."""
        return [s for level in self.levels for s in level.start]

    def stops(self) -> list[StatementStop]:
        """Every v1 statement the run stops."""
        raise NotImplementedError

    def table_maps(self) -> tuple[dict[str, str], ...]:
        """Per table, its Flink name in each role the plan gives it (the final one here)."""
        return (self.final_tables,)

    def flink_names(self) -> dict[str, set[str]]:
        """Each table of the run -> every Flink name it has in the plan (original, ``_v2``, final)."""
        names: dict[str, set[str]] = {f.table: {f.flink_table} for f in self.facts}
        for mapping in self.table_maps():
            for table, flink_table in mapping.items():
                names.setdefault(table, set()).add(flink_table)
        return names

    def freshness_columns(self) -> dict[str, str | None]:
        """Per final table (its Flink name): the column whose newest value says how fresh it is."""
        return {self.final_tables[f.table]: f.freshness for f in self.facts}

    def writers_after_cut_over(self) -> tuple[str, ...]:
        """The statements writing what readers read right after the cut-over."""
        return self.new_statements

    def table_writers(self) -> tuple[dict[str, str], dict[str, str]]:
        """Per table: the statement that wrote it before the run, and the one writing what its
        readers read after the cut-over (option B's dual-write statement, else the new statement)."""
        return (dict(zip(self.tables, self.old_statements, strict=True)),
                dict(zip(self.tables, self.writers_after_cut_over(), strict=True)))


@dataclass(frozen=True, kw_only=True)
class InPlacePlan(Plan):
    """Options A and C: the tables keep their names; per level each v1 statement is stopped and its
    v2 statement started; the v2 schemas are checked under a compatibility level."""

    check_schemas: tuple[SchemaCheck, ...]
    levels: tuple[StopStartLevel, ...]

    def stops(self) -> list[StatementStop]:
        return [s for level in self.levels for s in level.stop]


@dataclass(frozen=True, kw_only=True)
class OptionAPlan(InPlacePlan):
    """Schema Registry evolution: the value subjects evolved, then each v1 statement replaced."""

    option: ClassVar[str] = OPTION_A

    set_compatibility: tuple[Compatibility, ...]
    register_schemas: tuple[Schema, ...]


@dataclass(frozen=True, kw_only=True)
class Recreation:
    """Each table backed up, dropped and created with the v2 DDL (options B and C)."""

    backups: tuple[Backup, ...]
    drops: tuple[TableStatement, ...]
    recreates: tuple[TableStatement, ...]


@dataclass(frozen=True, kw_only=True)
class OptionCPlan(InPlacePlan, Recreation):
    """Maintenance window: stops, then each table recreated, then the v2 starts."""

    option: ClassVar[str] = OPTION_C


@dataclass(frozen=True, kw_only=True)
class OptionBPlan(Plan, Recreation):
    """Dual write into ``_v2`` tables, then (``final_names`` original) back to the original names;
    with ``v2`` the recreation, ``return_levels`` and ``retire_*`` lists are empty (their tasks skip)."""

    option: ClassVar[str] = OPTION_B

    final_names: str
    creates: tuple[TableStatement, ...]
    stop_v1: tuple[StatementStop, ...]
    dual_write_statements: tuple[str, ...]
    dual_write_tables: dict[str, str]
    v1_tables: dict[str, str]
    return_levels: tuple[StartLevel, ...]
    retire_statements: tuple[StatementStop, ...]
    retire_tables: tuple[TableStatement, ...]

    def starts(self) -> list[StatementStart]:
        return super().starts() + [s for level in self.return_levels for s in level.start]

    def stops(self) -> list[StatementStop]:
        return list(self.stop_v1)

    def table_maps(self) -> tuple[dict[str, str], ...]:
        return self.v1_tables, self.dual_write_tables, self.final_tables

    def writers_after_cut_over(self) -> tuple[str, ...]:
        return self.dual_write_statements


PLAN_TYPES: dict[str, type[Plan]] = {OPTION_A: OptionAPlan, OPTION_B: OptionBPlan, OPTION_C: OptionCPlan}


def plan_type(option: str) -> type[Plan]:
    """The plan type of ``option``; :class:`ValueError` naming the known ones."""
    try:
        return PLAN_TYPES[option]
    except KeyError:
        raise ValueError(f"unknown migration option {option!r}; known: {sorted(PLAN_TYPES)}") from None


def plain(value: Any) -> Any:
    """``value`` as JSON-able data: dataclasses as dicts of their fields, tuples as lists."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


def check_path(kind: type[Plan], path: Sequence[str | int]) -> Any:
    """The type at ``path`` of a ``kind`` plan (field names, and list indexes); :class:`PlanError`
    naming the first step that is not there."""
    current: Any = kind
    where = kind.__name__
    for step in path:
        if isinstance(step, str) and is_dataclass(current):
            hints = _hints(current)
            if step not in hints:
                raise PlanError(f"{where} has no field {step!r}; its fields: {sorted(hints)}")
            current = hints[step]
            where += f".{step}"
        elif isinstance(step, int) and typing.get_origin(current) is tuple:
            current = typing.get_args(current)[0]
            where += f"[{step}]"
        else:
            raise PlanError(f"{where} is not {'a list' if isinstance(step, int) else 'a record'}: "
                            f"no step {step!r} into it")
    return current


@cache
def _hints(kind: type) -> dict[str, Any]:
    """The fields of a dataclass and their types (class variables left out)."""
    names = {f.name for f in fields(kind)}
    resolved = typing.get_type_hints(kind, localns={"SuccessCriteria": SuccessCriteria, **globals()})
    return {name: tp for name, tp in resolved.items() if name in names}


_SCALARS = {str: (str,), int: (int,), float: (int, float), bool: (bool,)}


def _build(kind: Any, value: Any, where: str) -> Any:
    """``value`` (plain data) as ``kind``; :class:`PlanError` naming ``where`` it does not fit."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _build(inner, value, where)
    if is_dataclass(kind):
        if not isinstance(value, Mapping):
            raise PlanError(f"{where}: expected a record of {kind.__name__}, got {value!r}")
        hints = _hints(kind)
        unknown, missing = sorted(set(value) - set(hints)), sorted(set(hints) - set(value))
        if unknown or missing:
            raise PlanError(f"{where} ({kind.__name__}): " + "; ".join(
                part for part in (unknown and f"unknown fields {unknown}", missing and f"missing fields {missing}")
                if part))
        return kind(**{name: _build(tp, value[name], f"{where}.{name}") for name, tp in hints.items()})
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise PlanError(f"{where}: expected a list, got {value!r}")
        built = [_build(args[0], v, f"{where}[{n}]") for n, v in enumerate(value)]
        return tuple(built) if origin is tuple else built
    if origin is dict:
        if not isinstance(value, Mapping):
            raise PlanError(f"{where}: expected a mapping, got {value!r}")
        return {_build(args[0], k, f"{where} key"): _build(args[1], v, f"{where}[{k!r}]") for k, v in value.items()}
    allowed = _SCALARS.get(kind)
    if allowed is None:
        raise PlanError(f"{where}: no rule to read a {kind!r}")
    if isinstance(value, bool) and kind is not bool or not isinstance(value, allowed):
        raise PlanError(f"{where}: expected {kind.__name__}, got {value!r}")
    return value
