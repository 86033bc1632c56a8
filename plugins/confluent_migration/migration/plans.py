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
from collections.abc import Callable, Sequence
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


def new_statement_name(spec: TableSpec, run_id: str, suffix: str = "") -> str:
    """The deterministic name of the v2 statement of ``spec`` in this run (a retry finds it)."""
    return statement_name(spec.name + suffix, 2, run_id)


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


def table_facts(manifest: Manifest, spec: TableSpec) -> TableFacts:
    """What validation needs of a table: its v2 columns (from the DDL) and where its rows come from."""
    v1, v2 = manifest.definition(spec, "v1"), manifest.definition(spec, "v2")
    sources = [r for r in spec.reads if r in manifest.source_names]
    source = manifest.sources[manifest.source_names.index(sources[0])] if len(sources) == 1 else None
    before = {c.name for c in v1.columns}
    return TableFacts(
        table=spec.name,
        flink_table=spec.flink_table,
        v1_columns=len(v1.columns),
        v2_columns=len(v2.columns),
        v2_column_names=tuple(c.name for c in v2.columns),
        added_columns=tuple(c.name for c in v2.columns if c.name not in before),
        checks=tuple(spec.checks),
        freshness=spec.freshness,
        primary_key=tuple(spec.primary_key),
        stateful=spec.stateful,
        source_table=source.flink_table if source else None,
        v1_statement=spec.v1.statement,
        subjects=tuple(spec.subjects),
        value_subject=spec.value_subject,
    )


def v2_queries(manifest: Manifest, specs: Sequence[TableSpec]) -> tuple[DryRun, ...]:
    """Each table's v2 pipeline, for Confluent's ``sql.dry-run`` in pre-flight."""
    return tuple(DryRun(sql=query_of(manifest.sql(s.v2.dml)), acts_on=f"{s.name} v2 pipeline") for s in specs)


def level_starts(levels: Sequence[Sequence[TableSpec]],
                 start: Callable[[TableSpec], StatementStart]) -> tuple[StartLevel, ...]:
    """Per dependency level: ``start(table)`` of each table started."""
    return tuple(StartLevel(start=tuple(start(s) for s in level)) for level in levels)


def level_replacements(levels: Sequence[Sequence[TableSpec]],
                       start: Callable[[TableSpec], StatementStart]) -> tuple[StopStartLevel, ...]:
    """Per dependency level: each table's v1 statement stopped, ``start(table)`` started."""
    return tuple(StopStartLevel(stop=tuple(StatementStop(statement_name=s.v1.statement) for s in level),
                                start=tuple(start(s) for s in level)) for level in levels)


def v2_start(manifest: Manifest, spec: TableSpec, name: str, *, replaces: str | None = None,
             renames: dict[str, str] | None = None) -> StatementStart:
    """The v2 statement of ``spec`` under ``name`` (its tables renamed by ``renames``)."""
    return StatementStart(statement_name=name, sql=_statement_sql(manifest, spec, "v2", renames),
                          properties=startup_properties(spec, replaces))


def shared_facts(manifest: Manifest, specs: Sequence[TableSpec]) -> dict[str, tuple]:
    """The fields every option's plan has of its tables and their v1 statements."""
    return {"tables": tuple(s.name for s in specs), "facts": tuple(table_facts(manifest, s) for s in specs),
            "old_statements": tuple(s.v1.statement for s in specs)}


def plan_option_a(manifest: Manifest, params: RunParams, run_id: str, slots: int | None = None) -> OptionAPlan:
    """Schema Registry evolution: evolve each value subject, then replace each v1 statement by a v2
    statement writing the same table from the earliest offset (a running statement keeps its schema)."""
    specs = manifest.subset(params.tables)
    return OptionAPlan(
        params=params,
        **shared_facts(manifest, specs),
        set_compatibility=tuple(Compatibility(subject=s.value_subject, level=FULL_TRANSITIVE) for s in specs),
        check_schemas=tuple(SchemaCheck(subject=s.value_subject, schema=manifest.sql(s.v2.schema), level=FULL_TRANSITIVE)
                            for s in specs),
        register_schemas=tuple(Schema(subject=s.value_subject, schema=manifest.sql(s.v2.schema)) for s in specs),
        validate_queries=v2_queries(manifest, specs),
        levels=level_replacements(dependency_levels(manifest, specs, slots), lambda s: v2_start(
            manifest, s, new_statement_name(s, run_id), replaces=s.v1.statement)),
        new_statements=tuple(new_statement_name(s, run_id) for s in specs),
        final_tables={s.name: s.flink_table for s in specs},
    )


def backup_table_name(flink_table: str, run_id: str) -> str:
    """Where option C backs a table up before dropping it: ``<table>_backup_<8 hex of the run>``."""
    return f"{flink_table}{BACKUP_SUFFIX}_{hashlib.sha256(run_id.encode()).hexdigest()[:8]}"


def _ddl(manifest: Manifest, spec: TableSpec, version: str) -> str:
    return manifest.sql(spec.version(version).ddl).strip().rstrip(";")


def recreation_steps(manifest: Manifest, specs: Sequence[TableSpec], run_id: str) -> Recreation:
    """Back each v1 table up (its own DDL under the backup's name), drop it, create it with the v2 DDL.

    Shared by option C (in the maintenance window) and option B's ``original`` final names (after
    dual write, while readers use the ``_v2`` tables)."""
    return Recreation(
        backups=tuple(Backup(table=s.flink_table, backup_table=backup_table_name(s.flink_table, run_id),
                             ddl=_ddl(manifest, s, "v1"), create_statement=statement_name(s.name, "1-backup", run_id),
                             copy_statement=statement_name(s.name, "1-backup-copy", run_id)) for s in specs),
        drops=tuple(TableStatement(table=s.flink_table, sql=f"DROP TABLE `{s.flink_table}`",
                                      statement_name=statement_name(s.name, "1-drop", run_id)) for s in specs),
        recreates=tuple(TableStatement(table=s.flink_table, sql=_ddl(manifest, s, "v2"),
                                       statement_name=statement_name(s.name, "2-ddl", run_id)) for s in specs),
    )


def recreation_checks(steps: Recreation) -> tuple[DryRun, ...]:
    """The DDL of :func:`recreation_steps`, for Confluent's ``sql.dry-run`` in pre-flight."""
    return tuple(DryRun(sql=sql, acts_on=label)
                 for b, d, c in zip(steps.backups, steps.drops, steps.recreates, strict=True)
                 for sql, label in ((c.sql, f"create {c.table}"),
                                    (retarget(b.ddl, {b.table: b.backup_table}), f"create {b.backup_table}"),
                                    (d.sql, f"drop {d.table}")))


def plan_option_c(manifest: Manifest, params: RunParams, run_id: str, slots: int | None = None) -> OptionCPlan:
    """Maintenance window: stop the v1 pipelines (downstream first), back each table up, drop it,
    create it with the v2 DDL, start the v2 pipelines from the earliest offset (upstream first).

    The schema checks, facts and statement lists are option A's; no subject is evolved in place
    (DROP TABLE deletes the subjects, CREATE TABLE registers the v2 schema)."""
    specs = manifest.subset(params.tables)
    recreation = recreation_steps(manifest, specs, run_id)
    return OptionCPlan(
        params=params,
        **shared_facts(manifest, specs),
        check_schemas=tuple(SchemaCheck(subject=s.value_subject, schema=manifest.sql(s.v2.schema), level=FULL_TRANSITIVE)
                            for s in specs),
        validate_queries=v2_queries(manifest, specs) + recreation_checks(recreation),
        levels=level_replacements(dependency_levels(manifest, specs, slots), lambda s: v2_start(
            manifest, s, new_statement_name(s, run_id))),
        new_statements=tuple(new_statement_name(s, run_id) for s in specs),
        final_tables={s.name: s.flink_table for s in specs},
        **vars(recreation),
    )


def v2_table(flink_table: str) -> str:
    """Option B's table for the v2 pipeline of ``flink_table``: ``<table>_v2`` (a new topic beside the old)."""
    return flink_table + V2_SUFFIX


def plan_option_b(manifest: Manifest, params: RunParams, run_id: str, slots: int | None = None) -> OptionBPlan:
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
    dual = tuple(new_statement_name(s, run_id) for s in specs)
    finals = {s.name: statement_name(s.name, "2-final", run_id) for s in returned}
    recreation = recreation_steps(manifest, returned, run_id)
    return OptionBPlan(
        params=params,
        **shared_facts(manifest, specs),
        final_names=final_names,
        # the _v2 subjects are new (CREATE TABLE registers them): check against any left from before
        check_schemas=tuple(Schema(subject=v2_table(s.flink_table) + "-value", schema=manifest.sql(s.v2.schema))
                            for s in specs),
        validate_queries=v2_queries(manifest, specs) + recreation_checks(recreation),
        creates=tuple(TableStatement(table=renames[s.flink_table], statement_name=statement_name(s.name, "2-ddl-v2",
                                                                                                 run_id),
                                     sql=retarget(manifest.sql(s.v2.ddl), renames).strip().rstrip(";"))
                      for s in specs),
        levels=level_starts(levels, lambda s: v2_start(manifest, s, new_statement_name(s, run_id), renames=renames)),
        stop_v1=tuple(StatementStop(statement_name=s.v1.statement) for s in specs),
        dual_write_statements=dual,
        dual_write_tables={s.name: renames[s.flink_table] for s in specs},
        v1_tables={s.name: s.flink_table for s in specs},
        **vars(recreation),
        return_levels=level_starts([[s for s in level if s in returned] for level in levels],
                                   lambda s: v2_start(manifest, s, finals[s.name])),
        retire_statements=tuple(StatementStop(statement_name=n) for n in dual) if back else (),
        retire_tables=tuple(TableStatement(table=renames[s.flink_table], sql=f"DROP TABLE `{renames[s.flink_table]}`",
                                           statement_name=statement_name(s.name, "2-retire", run_id))
                            for s in returned),
        new_statements=tuple(finals.values()) if back else dual,
        final_tables={s.name: s.flink_table if back else renames[s.flink_table] for s in specs},
    )


# Every planner takes (manifest, params, run_id, slots): the run's checked params (its tables and
# options) and the DAG's level count.
PLANNERS: dict[str, Callable[[Manifest, RunParams, str, int | None], Plan]] = {
    OPTION_A: plan_option_a, OPTION_B: plan_option_b, OPTION_C: plan_option_c}


def plan(option: str, manifest: Manifest, params: RunParams, run_id: str, slots: int | None = None) -> Plan:
    """The plan of ``option`` for the run's checked ``params`` (its tables, ``final_names`` for B),
    its levels padded to the DAG's ``slots``."""
    plan_type(option)  # an unknown option fails here, naming the known ones
    return PLANNERS[option](manifest, params, run_id, slots)
