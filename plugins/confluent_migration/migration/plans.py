"""What each option does to each table: statement names, SQL, properties, subjects.

A plan (``plan_types.py``) is computed once per run (in the first task) from the manifest and the
run's checked params, and handed to the mapped operators of each phase through XCom, so a DAG
file stays a runbook and a table subset never needs another DAG. Tables are grouped in dependency
levels: every table of a level reads only tables of earlier levels (or sources). The parts the
options share are computed by the same functions here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from confluent_migration.migration.dag_defaults import LEVELS_ENV
from confluent_migration.migration.params import FINAL_NAMES_ORIGINAL, RunParams
from confluent_migration.migration.plan_types import (
    OPTION_A,
    OPTION_B,
    OPTION_C,
    Backup,
    Compatibility,
    DryRun,
    OptionAPlan,
    OptionBPlan,
    OptionCPlan,
    Plan,
    PlanError,
    Recreation,
    Schema,
    SchemaCheck,
    StartLevel,
    StatementStart,
    StatementStop,
    StopStartLevel,
    TableFacts,
    TableStatement,
    plan_type,
)
from confluent_migration.statements import statement_name

if TYPE_CHECKING:
    from confluent_migration.migration.manifest import Manifest, TableSpec

FULL_TRANSITIVE = "FULL_TRANSITIVE"
EARLIEST = {"sql.tables.scan.startup.mode": "earliest-offset"}
V2_SUFFIX = "_v2"
BACKUP_SUFFIX = "_backup"


def dependency_levels(manifest: Manifest, specs: Sequence[TableSpec] | None = None,
                      slots: int | None = None) -> list[list[TableSpec]]:
    """The tables (all, or ``specs``) by level: level 0 reads only sources, level n reads level < n.

    :param slots: the DAG's level count: the levels are padded to it (the DAG's later levels skip)
        and a manifest needing more raises :class:`PlanError`."""
    level: dict[str, int] = {}
    for spec in manifest.in_dependency_order():
        level[spec.name] = 1 + max((level[r] for r in spec.reads if r in level), default=-1)
    chosen = list(specs) if specs is not None else manifest.in_dependency_order()
    depth = max(level.values(), default=-1) + 1
    if slots is not None and depth > slots:
        raise PlanError(f"the tables of {manifest.path} form {depth} dependency levels; the migration DAGs have "
                        f"{slots} ({LEVELS_ENV}): set {LEVELS_ENV}={depth} where the DAG processor and the workers "
                        "run, then trigger the run again")
    return [[s for s in chosen if level[s.name] == n] for n in range(max(depth, slots or 0))]


def startup_properties(spec: TableSpec, replaces: str | None = None) -> dict[str, str]:
    """How a new statement of ``spec`` starts: stateful pipelines reprocess from the earliest offset;
    a stateless one replacing a statement carries that statement's offsets over."""
    if spec.stateful or replaces is None:
        return dict(EARLIEST)
    return {"sql.tables.initial-offset-from": replaces}


@dataclass(frozen=True)
class Move:
    """A table's step in a run: from the version it is at (``source``, written now by ``writer``) to ``target``."""

    source: str
    target: str
    writer: str


Moves = Mapping[str, Move]  # table name -> its move


def first_moves(specs: Sequence[TableSpec]) -> dict[str, Move]:
    """Each table from v1 (its v1 statement writing it) to its newest version: a run with no history."""
    return {s.name: Move(s.v1.name, s.newest.name, s.v1.statement) for s in specs}


def new_statement_name(spec: TableSpec, run_id: str, version: str | None = None, role: str = "") -> str:
    """The deterministic name of the statement of ``spec``'s ``version`` (default: its newest) in this
    run (a retry finds it): ``<table>-v<n>[-<role>]-<8 hex of the run>``."""
    number = (version or spec.newest.name).removeprefix("v")
    return statement_name(spec.name, f"{number}-{role}" if role else number, run_id)


def quoted(table: str) -> str:
    return f"`{table}`"


def retarget(sql: str, renames: dict[str, str]) -> str:
    """``sql`` with backticked table names replaced (``renames``: old full name -> new full name)."""
    for old, new in renames.items():
        sql = sql.replace(quoted(old), quoted(new))
    return sql


def query_of(dml: str) -> str:
    """The SELECT of an ``INSERT INTO ... SELECT`` (to validate a pipeline before its table exists)."""
    match = re.search(r"INSERT\s+INTO\s+`[^`]+`\s*", dml, flags=re.IGNORECASE)
    if not match:
        raise ValueError("not an INSERT INTO `table` ... statement")
    return dml[match.end():].strip().rstrip(";")


def _statement_sql(manifest: Manifest, spec: TableSpec, version: str, renames: dict[str, str] | None = None) -> str:
    return retarget(manifest.sql(spec.version(version).dml), renames or {}).strip().rstrip(";")


def table_facts(manifest: Manifest, spec: TableSpec, move: Move) -> TableFacts:
    """What validation needs of a table: its move, the target's columns (from the DDL) and where its rows come from."""
    now, target = manifest.definition(spec, move.source), manifest.definition(spec, move.target)
    sources = [r for r in spec.reads if r in manifest.source_names]
    source = manifest.sources[manifest.source_names.index(sources[0])] if len(sources) == 1 else None
    before = {c.name for c in now.columns}
    return TableFacts(
        table=spec.name,
        flink_table=spec.flink_table,
        from_version=move.source,
        to_version=move.target,
        from_columns=len(now.columns),
        to_columns=len(target.columns),
        to_column_names=tuple(c.name for c in target.columns),
        added_columns=tuple(c.name for c in target.columns if c.name not in before),
        checks=tuple(spec.checks),
        freshness=spec.freshness,
        primary_key=tuple(spec.primary_key),
        stateful=spec.stateful,
        source_table=source.flink_table if source else None,
        old_statement=move.writer,
        subjects=tuple(spec.subjects),
        value_subject=spec.value_subject,
    )


def new_queries(manifest: Manifest, specs: Sequence[TableSpec], moves: Moves) -> tuple[DryRun, ...]:
    """Each table's target pipeline, for Confluent's ``sql.dry-run`` in pre-flight."""
    return tuple(DryRun(sql=query_of(manifest.sql(s.version(moves[s.name].target).dml)),
                        acts_on=f"{s.name} {moves[s.name].target} pipeline") for s in specs)


def level_starts(levels: Sequence[Sequence[TableSpec]],
                 start: Callable[[TableSpec], StatementStart]) -> tuple[StartLevel, ...]:
    """Per dependency level: ``start(table)`` of each table started."""
    return tuple(StartLevel(start=tuple(start(s) for s in level)) for level in levels)


def level_replacements(levels: Sequence[Sequence[TableSpec]], moves: Moves,
                       start: Callable[[TableSpec], StatementStart]) -> tuple[StopStartLevel, ...]:
    """Per dependency level: the statement writing each table now stopped, ``start(table)`` started."""
    return tuple(StopStartLevel(stop=tuple(StatementStop(statement_name=moves[s.name].writer) for s in level),
                                start=tuple(start(s) for s in level)) for level in levels)


def new_start(manifest: Manifest, spec: TableSpec, version: str, name: str, *, replaces: str | None = None,
              renames: dict[str, str] | None = None) -> StatementStart:
    """The statement of ``spec``'s ``version`` under ``name`` (its tables renamed by ``renames``)."""
    return StatementStart(statement_name=name, sql=_statement_sql(manifest, spec, version, renames),
                          properties=startup_properties(spec, replaces))


def shared_facts(manifest: Manifest, specs: Sequence[TableSpec], moves: Moves) -> dict[str, tuple]:
    """The fields every option's plan has of its tables and the statements writing them now."""
    return {"tables": tuple(s.name for s in specs),
            "facts": tuple(table_facts(manifest, s, moves[s.name]) for s in specs),
            "old_statements": tuple(moves[s.name].writer for s in specs)}


def target_schema(manifest: Manifest, spec: TableSpec, moves: Moves) -> str:
    return manifest.sql(spec.version(moves[spec.name].target).schema)


def target_name(spec: TableSpec, run_id: str, moves: Moves) -> str:
    """The run's statement of ``spec``'s target version."""
    return new_statement_name(spec, run_id, moves[spec.name].target)


def plan_option_a(manifest: Manifest, params: RunParams, run_id: str, slots: int | None, moves: Moves) -> OptionAPlan:
    """Schema Registry evolution: evolve each value subject, then replace the statement writing each
    table by one of its target version writing the same table from the earliest offset (a running
    statement keeps its schema)."""
    specs = manifest.subset(params.tables)
    return OptionAPlan(
        params=params,
        **shared_facts(manifest, specs, moves),
        set_compatibility=tuple(Compatibility(subject=s.value_subject, level=FULL_TRANSITIVE) for s in specs),
        check_schemas=tuple(SchemaCheck(subject=s.value_subject, schema=target_schema(manifest, s, moves),
                                        level=FULL_TRANSITIVE) for s in specs),
        register_schemas=tuple(Schema(subject=s.value_subject, schema=target_schema(manifest, s, moves))
                               for s in specs),
        validate_queries=new_queries(manifest, specs, moves),
        levels=level_replacements(dependency_levels(manifest, specs, slots), moves, lambda s: new_start(
            manifest, s, moves[s.name].target, target_name(s, run_id, moves), replaces=moves[s.name].writer)),
        new_statements=tuple(target_name(s, run_id, moves) for s in specs),
        final_tables={s.name: s.flink_table for s in specs},
    )


def backup_table_name(flink_table: str, run_id: str) -> str:
    """Where option C backs a table up before dropping it: ``<table>_backup_<8 hex of the run>``."""
    return f"{flink_table}{BACKUP_SUFFIX}_{hashlib.sha256(run_id.encode()).hexdigest()[:8]}"


def _ddl(manifest: Manifest, spec: TableSpec, version: str) -> str:
    return manifest.sql(spec.version(version).ddl).strip().rstrip(";")


def recreation_steps(manifest: Manifest, specs: Sequence[TableSpec], run_id: str, moves: Moves) -> Recreation:
    """Back each table up (its current version's DDL under the backup's name), drop it, create it with
    its target version's DDL.

    Shared by option C (in the maintenance window) and option B's ``original`` final names (after
    dual write, while readers use the ``_v2`` tables)."""
    return Recreation(
        backups=tuple(Backup(table=s.flink_table, backup_table=backup_table_name(s.flink_table, run_id),
                             ddl=_ddl(manifest, s, moves[s.name].source),
                             create_statement=new_statement_name(s, run_id, moves[s.name].source, "backup"),
                             copy_statement=new_statement_name(s, run_id, moves[s.name].source, "backup-copy"))
                      for s in specs),
        drops=tuple(TableStatement(table=s.flink_table, sql=f"DROP TABLE `{s.flink_table}`",
                                   statement_name=new_statement_name(s, run_id, moves[s.name].source, "drop"))
                    for s in specs),
        recreates=tuple(TableStatement(table=s.flink_table, sql=_ddl(manifest, s, moves[s.name].target),
                                       statement_name=new_statement_name(s, run_id, moves[s.name].target, "ddl"))
                       for s in specs),
    )


def recreation_checks(steps: Recreation) -> tuple[DryRun, ...]:
    """The DDL of :func:`recreation_steps`, for Confluent's ``sql.dry-run`` in pre-flight."""
    return tuple(DryRun(sql=sql, acts_on=label)
                 for b, d, c in zip(steps.backups, steps.drops, steps.recreates, strict=True)
                 for sql, label in ((c.sql, f"create {c.table}"),
                                    (retarget(b.ddl, {b.table: b.backup_table}), f"create {b.backup_table}"),
                                    (d.sql, f"drop {d.table}")))


def plan_option_c(manifest: Manifest, params: RunParams, run_id: str, slots: int | None, moves: Moves) -> OptionCPlan:
    """Maintenance window: stop the v1 pipelines (downstream first), back each table up, drop it,
    create it with the v2 DDL, start the v2 pipelines from the earliest offset (upstream first).

    The schema checks, facts and statement lists are option A's; no subject is evolved in place
    (DROP TABLE deletes the subjects, CREATE TABLE registers the v2 schema)."""
    specs = manifest.subset(params.tables)
    recreation = recreation_steps(manifest, specs, run_id, moves)
    return OptionCPlan(
        params=params,
        **shared_facts(manifest, specs, moves),
        check_schemas=tuple(SchemaCheck(subject=s.value_subject, schema=target_schema(manifest, s, moves),
                                        level=FULL_TRANSITIVE) for s in specs),
        validate_queries=new_queries(manifest, specs, moves) + recreation_checks(recreation),
        levels=level_replacements(dependency_levels(manifest, specs, slots), moves, lambda s: new_start(
            manifest, s, moves[s.name].target, target_name(s, run_id, moves))),
        new_statements=tuple(target_name(s, run_id, moves) for s in specs),
        final_tables={s.name: s.flink_table for s in specs},
        **vars(recreation),
    )


def v2_table(flink_table: str) -> str:
    """Option B's table for the v2 pipeline of ``flink_table``: ``<table>_v2`` (a new topic beside the old)."""
    return flink_table + V2_SUFFIX


def plan_option_b(manifest: Manifest, params: RunParams, run_id: str, slots: int | None, moves: Moves) -> OptionBPlan:
    """Dual write: create each ``_v2`` table, start its v2 statement from the earliest offset (a
    downstream one reads the ``_v2`` tables of the chosen upstream ones), later stop the v1 ones.

    With ``final_names`` ``original`` (the default) the run then returns to the original names
    (topics cannot be renamed): back up, drop and recreate each v1 table with the v2 DDL, fill it
    with a final v2 statement from the earliest offset while readers use ``_v2``, move the readers
    back, retire the ``_v2`` tables. With ``v2`` the ``return_levels``' starts, ``backups``,
    ``drops``, ``recreates`` and ``retire_*`` lists are empty (their mapped tasks skip) and the
    ``_v2`` tables are final."""
    specs = manifest.subset(params.tables)
    renames = {s.flink_table: v2_table(s.flink_table) for s in specs}
    levels = dependency_levels(manifest, specs, slots)
    final_names = params.options.get("final_names", FINAL_NAMES_ORIGINAL)
    back = final_names == FINAL_NAMES_ORIGINAL
    # the tables returning to their original names; none with final_names=v2 (phase 6's mapped tasks skip)
    returned = specs if back else []
    dual = tuple(target_name(s, run_id, moves) for s in specs)
    finals = {s.name: new_statement_name(s, run_id, moves[s.name].target, "final") for s in returned}
    recreation = recreation_steps(manifest, returned, run_id, moves)
    return OptionBPlan(
        params=params,
        **shared_facts(manifest, specs, moves),
        final_names=final_names,
        # the _v2 subjects are new (CREATE TABLE registers them): check against any left from before
        check_schemas=tuple(Schema(subject=v2_table(s.flink_table) + "-value", schema=target_schema(manifest, s, moves))
                            for s in specs),
        validate_queries=new_queries(manifest, specs, moves) + recreation_checks(recreation),
        creates=tuple(TableStatement(table=renames[s.flink_table], statement_name=new_statement_name(
                                         s, run_id, moves[s.name].target, "ddl-v2"),
                                     sql=retarget(_ddl(manifest, s, moves[s.name].target), renames))
                      for s in specs),
        levels=level_starts(levels, lambda s: new_start(manifest, s, moves[s.name].target, target_name(s, run_id, moves),
                                                         renames=renames)),
        stop_v1=tuple(StatementStop(statement_name=moves[s.name].writer) for s in specs),
        dual_write_statements=dual,
        dual_write_tables={s.name: renames[s.flink_table] for s in specs},
        v1_tables={s.name: s.flink_table for s in specs},
        **vars(recreation),
        return_levels=level_starts([[s for s in level if s in returned] for level in levels],
                                   lambda s: new_start(manifest, s, moves[s.name].target, finals[s.name])),
        retire_statements=tuple(StatementStop(statement_name=n) for n in dual) if back else (),
        retire_tables=tuple(TableStatement(table=renames[s.flink_table], sql=f"DROP TABLE `{renames[s.flink_table]}`",
                                           statement_name=new_statement_name(s, run_id, moves[s.name].target, "retire"))
                            for s in returned),
        new_statements=tuple(finals.values()) if back else dual,
        final_tables={s.name: s.flink_table if back else renames[s.flink_table] for s in specs},
    )


# Every planner takes (manifest, params, run_id, slots, moves): the run's checked params (its tables
# and options), the DAG's level count and each table's move.
PLANNERS: dict[str, Callable[[Manifest, RunParams, str, int | None, Moves], Plan]] = {
    OPTION_A: plan_option_a, OPTION_B: plan_option_b, OPTION_C: plan_option_c}


def plan(option: str, manifest: Manifest, params: RunParams, run_id: str, slots: int | None = None,
         moves: Moves | None = None) -> Plan:
    """The plan of ``option`` for the run's checked ``params`` (its tables, ``final_names`` for B),
    its levels padded to the DAG's ``slots``, each table moved as ``moves`` says (default: from v1
    to its newest version, :func:`first_moves`)."""
    plan_type(option)  # an unknown option fails here, naming the known ones
    specs = manifest.subset(params.tables)
    return PLANNERS[option](manifest, params, run_id, slots, moves or first_moves(specs))
