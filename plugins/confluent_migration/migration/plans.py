"""What each option does to each table, as plain data: statement names, SQL, properties, subjects.

A plan is computed once per run (in the first task) from the manifest and the chosen tables, and
handed to the mapped operators of each phase through XCom, so a DAG file stays a runbook and a
table subset never needs another DAG. Tables are grouped in dependency levels: every table of a
level reads only tables of earlier levels (or sources).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from confluent_migration.migration.params import FINAL_NAMES_ORIGINAL
from confluent_migration.statements import statement_name

if TYPE_CHECKING:
    from confluent_migration.migration.manifest import Manifest, TableSpec

OPTION_A, OPTION_B, OPTION_C = "A", "B", "C"
FULL_TRANSITIVE = "FULL_TRANSITIVE"
EARLIEST = {"sql.tables.scan.startup.mode": "earliest-offset"}
V2_SUFFIX = "_v2"
BACKUP_SUFFIX = "_backup"


def dependency_levels(manifest: Manifest, specs: Sequence[TableSpec] | None = None) -> list[list[TableSpec]]:
    """The tables (all, or ``specs``) by level: level 0 reads only sources, level n reads level < n."""
    level: dict[str, int] = {}
    for spec in manifest.in_dependency_order():
        level[spec.name] = 1 + max((level[r] for r in spec.reads if r in level), default=-1)
    chosen = list(specs) if specs is not None else manifest.in_dependency_order()
    depth = max(level.values(), default=-1) + 1
    return [[s for s in chosen if level[s.name] == n] for n in range(depth)]


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


def table_facts(manifest: Manifest, spec: TableSpec) -> dict[str, Any]:
    """What validation needs of a table: its v2 columns (from the DDL) and where its rows come from."""
    v1, v2 = manifest.definition(spec, "v1"), manifest.definition(spec, "v2")
    sources = [r for r in spec.reads if r in manifest.source_names]
    source = manifest.sources[manifest.source_names.index(sources[0])] if len(sources) == 1 else None
    before = {c.name for c in v1.columns}
    return {
        "table": spec.name,
        "flink_table": spec.flink_table,
        "v1_columns": len(v1.columns),
        "v2_columns": len(v2.columns),
        "v2_column_names": [c.name for c in v2.columns],
        "added_columns": [c.name for c in v2.columns if c.name not in before],  # what the migration adds
        "checks": list(spec.checks),
        "freshness": spec.freshness,
        "primary_key": list(spec.primary_key),
        "source_table": source.flink_table if source else None,
        "v1_statement": spec.v1.statement,
        "subjects": list(spec.subjects),
        "value_subject": spec.value_subject,
    }


def plan_option_a(manifest: Manifest, tables: Sequence[str], run_id: str,
                  options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Schema Registry evolution: evolve each value subject, then replace each v1 statement by a v2
    statement writing the same table from the earliest offset (a running statement keeps its schema)."""
    specs = manifest.subset(tables)
    levels = dependency_levels(manifest, specs)
    return {
        "option": OPTION_A,
        "tables": [s.name for s in specs],
        "facts": [table_facts(manifest, s) for s in specs],
        "set_compatibility": [{"subject": s.value_subject, "level": FULL_TRANSITIVE} for s in specs],
        "check_schemas": [{"subject": s.value_subject, "schema": str(s.v2.schema), "level": FULL_TRANSITIVE}
                          for s in specs],
        "register_schemas": [{"subject": s.value_subject, "schema": str(s.v2.schema)} for s in specs],
        "validate_queries": [{"sql": query_of(manifest.sql(s.v2.dml)), "acts_on": f"{s.name} v2 pipeline"}
                             for s in specs],
        "levels": [{
            "stop": [{"statement_name": s.v1.statement} for s in level],
            "start": [{"statement_name": new_statement_name(s, run_id), "sql": _statement_sql(manifest, s, "v2"),
                       "properties": startup_properties(s, s.v1.statement)} for s in level],
        } for level in levels],
        "new_statements": [new_statement_name(s, run_id) for s in specs],
        "old_statements": [s.v1.statement for s in specs],
        "final_tables": {s.name: s.flink_table for s in specs},
    }


def backup_table_name(flink_table: str, run_id: str) -> str:
    """Where option C backs a table up before dropping it: ``<table>_backup_<8 hex of the run>``."""
    return f"{flink_table}{BACKUP_SUFFIX}_{hashlib.sha256(run_id.encode()).hexdigest()[:8]}"


def _ddl(manifest: Manifest, spec: TableSpec, version: str) -> str:
    return manifest.sql(spec.version(version).ddl).strip().rstrip(";")


def recreation_steps(manifest: Manifest, specs: Sequence[TableSpec], run_id: str) -> dict[str, Any]:
    """Back each v1 table up (its own DDL under the backup's name), drop it, create it with the v2 DDL.

    Shared by option C (in the maintenance window) and option B's ``original`` final names (after
    dual write, while readers use the ``_v2`` tables)."""
    return {
        "backups": [{"table": s.flink_table, "backup_table": backup_table_name(s.flink_table, run_id),
                     "ddl": _ddl(manifest, s, "v1"), "create_statement": statement_name(s.name, "1-backup", run_id),
                     "copy_statement": statement_name(s.name, "1-backup-copy", run_id)} for s in specs],
        "drops": [{"table": s.flink_table, "sql": f"DROP TABLE `{s.flink_table}`",
                   "statement_name": statement_name(s.name, "1-drop", run_id)} for s in specs],
        "recreates": [{"table": s.flink_table, "sql": _ddl(manifest, s, "v2"),
                       "statement_name": statement_name(s.name, "2-ddl", run_id)} for s in specs],
    }


def recreation_checks(steps: dict[str, Any]) -> list[dict[str, str]]:
    """The DDL of :func:`recreation_steps`, for Confluent's ``sql.dry-run`` in pre-flight."""
    return [{"sql": sql, "acts_on": label} for b, d, c in zip(steps["backups"], steps["drops"], steps["recreates"])
            for sql, label in ((c["sql"], f"create {c['table']}"), (retarget(b["ddl"], {b["table"]: b["backup_table"]}),
                                                                      f"create {b['backup_table']}"),
                               (d["sql"], f"drop {d['table']}"))]


def plan_option_c(manifest: Manifest, tables: Sequence[str], run_id: str,
                  options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Maintenance window: stop the v1 pipelines (downstream first), back each table up, drop it,
    create it with the v2 DDL, start the v2 pipelines from the earliest offset (upstream first).

    The schema checks, facts and statement lists are option A's; no subject is evolved in place
    (DROP TABLE deletes the subjects, CREATE TABLE registers the v2 schema)."""
    specs = manifest.subset(tables)
    shared = plan_option_a(manifest, tables, run_id)
    del shared["set_compatibility"], shared["register_schemas"]
    recreation = recreation_steps(manifest, specs, run_id)
    return {
        **shared,
        "option": OPTION_C,
        "validate_queries": shared["validate_queries"] + recreation_checks(recreation),
        "levels": [{
            "stop": [{"statement_name": s.v1.statement} for s in level],
            "start": [{"statement_name": new_statement_name(s, run_id), "sql": _statement_sql(manifest, s, "v2"),
                       "properties": startup_properties(s)} for s in level],
        } for level in dependency_levels(manifest, specs)],
        **recreation,
    }


def v2_table(flink_table: str) -> str:
    """Option B's table for the v2 pipeline of ``flink_table``: ``<table>_v2`` (a new topic beside the old)."""
    return flink_table + V2_SUFFIX


def plan_option_b(manifest: Manifest, tables: Sequence[str], run_id: str,
                  options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Dual write: create each ``_v2`` table, start its v2 statement from the earliest offset (a
    downstream one reads the ``_v2`` tables of the chosen upstream ones), later stop the v1 ones.

    With ``options["final_names"] == "original"`` (the default) the run then returns to the original
    names (topics cannot be renamed): back up, drop and recreate each v1 table with the v2 DDL, fill
    it with a final v2 statement from the earliest offset while readers use ``_v2``, move the
    readers back, retire the ``_v2`` tables. With ``"v2"`` the ``return_levels``, ``backups``,
    ``drops``, ``recreates`` and ``retire_*`` lists are empty (their mapped tasks skip) and the
    ``_v2`` tables are final."""
    specs = manifest.subset(tables)
    shared = plan_option_a(manifest, tables, run_id)
    del shared["set_compatibility"], shared["register_schemas"]
    renames = {s.flink_table: v2_table(s.flink_table) for s in specs}
    levels = dependency_levels(manifest, specs)
    final_names = (options or {}).get("final_names", FINAL_NAMES_ORIGINAL)
    back = final_names == FINAL_NAMES_ORIGINAL
    dual = [new_statement_name(s, run_id) for s in specs]
    finals = {s.name: statement_name(s.name, "2-final", run_id) for s in specs}
    returning = {
        **recreation_steps(manifest, specs, run_id),
        "return_levels": [{"start": [{"statement_name": finals[s.name],
                                      "sql": _statement_sql(manifest, s, "v2"), "properties": startup_properties(s)}
                                     for s in level]} for level in levels],
        "retire_statements": [{"statement_name": n} for n in dual],
        "retire_tables": [{"table": renames[s.flink_table], "sql": f"DROP TABLE `{renames[s.flink_table]}`",
                           "statement_name": statement_name(s.name, "2-retire", run_id)} for s in specs],
    }
    if not back:  # the _v2 tables are final: phase 8's mapped tasks get empty lists and skip
        returning = {key: [] for key in returning} | {"return_levels": [{"start": []} for _ in levels]}
    return {
        **shared,
        "option": OPTION_B,
        "final_names": final_names,
        # the _v2 subjects are new (CREATE TABLE registers them): check against any left from before
        "check_schemas": [{"subject": v2_table(s.flink_table) + "-value", "schema": str(s.v2.schema)} for s in specs],
        "validate_queries": shared["validate_queries"] + recreation_checks(returning),
        "creates": [{"table": renames[s.flink_table], "statement_name": statement_name(s.name, "2-ddl-v2", run_id),
                     "sql": retarget(manifest.sql(s.v2.ddl), renames).strip().rstrip(";")} for s in specs],
        "levels": [{
            "start": [{"statement_name": new_statement_name(s, run_id),
                       "sql": _statement_sql(manifest, s, "v2", renames), "properties": startup_properties(s)}
                      for s in level],
        } for level in levels],
        "stop_v1": [{"statement_name": s.v1.statement} for s in specs],
        "dual_write_statements": dual,
        "dual_write_tables": {s.name: renames[s.flink_table] for s in specs},
        "v1_tables": {s.name: s.flink_table for s in specs},
        **returning,
        "new_statements": list(finals.values()) if back else dual,
        "final_tables": {s.name: s.flink_table if back else renames[s.flink_table] for s in specs},
    }


def freshness_columns(the_plan: Mapping[str, Any]) -> dict[str, str | None]:
    """Per final table of a plan (its Flink name): the column whose newest value says how fresh it is."""
    return {the_plan["final_tables"][fact["table"]]: fact["freshness"] for fact in the_plan["facts"]}


def table_writers(the_plan: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Per table of a plan: the statement that wrote it before the run, and the one writing what its
    readers read after the cut-over (option B's dual-write statement, else the new statement)."""
    tables = the_plan["tables"]
    after = the_plan.get("dual_write_statements") or the_plan["new_statements"]
    return dict(zip(tables, the_plan["old_statements"], strict=True)), dict(zip(tables, after, strict=True))


# Every planner takes (manifest, tables, run_id, options): the option's own checked params.
PLANNERS = {OPTION_A: plan_option_a, OPTION_B: plan_option_b, OPTION_C: plan_option_c}


def plan(option: str, manifest: Manifest, tables: Sequence[str], run_id: str,
         options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The plan of ``option``; ``options`` are its own checked params (``final_names`` for B)."""
    try:
        planner = PLANNERS[option]
    except KeyError:
        raise ValueError(f"unknown migration option {option!r}; known: {sorted(PLANNERS)}") from None
    return planner(manifest, tables, run_id, options)
