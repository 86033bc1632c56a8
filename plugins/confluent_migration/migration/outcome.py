"""What a failed run tells a person: the task that failed and its error, the state each table is
in now (which statement writes it, which schema is latest), and the exact next step.

Each migration task's ``on_failure_callback`` (:func:`record_failure`, after its last retry)
keeps the error in ``failures/`` next to the run's ledger; the summary reads it back.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from confluent_migration.migration.ledger import Ledger, ledger_for, now_iso, safe_name

if TYPE_CHECKING:  # a DAG file imports this module for record_failure, at every parse
    from confluent_migration.migration.plan_types import Plan

FAILURES = "failures"


def task_label(task_id: str, map_index: int = -1) -> str:
    return f"{task_id}[{map_index}]" if map_index >= 0 else task_id


def record_failure(context: Any) -> None:
    """``on_failure_callback``: keep the failed task and its error for the run's summary (never raises)."""
    ti = context["ti"]
    error = context.get("exception")
    try:
        folder = ledger_for(context).folder / FAILURES
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{safe_name(ti.task_id)}-{ti.map_index}.json").write_text(json.dumps({
            "task_id": ti.task_id, "map_index": ti.map_index, "at": now_iso(),
            "error": f"{type(error).__name__}: {error}" if error else "see the task log"}))
    except Exception as exc:  # noqa: BLE001 - a callback must not hide the task's own failure
        print(f"could not record the failure of {ti.task_id} for the summary: {exc}")


def failed_tasks(ledger: Ledger) -> list[dict[str, Any]]:
    """The tasks of the run that failed (after their retries), first failure first."""
    folder = ledger.folder / FAILURES
    if not folder.exists():
        return []
    found = [json.loads(p.read_text()) for p in folder.iterdir() if p.name.endswith(".json")]
    return sorted(found, key=lambda f: f["at"])


def table_states(the_plan: Plan) -> dict[str, dict[str, Any]]:
    """Each table -> the statements writing it under any of its names (name -> phase) and the
    latest registered version of each of its subjects."""
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.hooks.schema_registry import SchemaRegistryHook
    from confluent_migration.migration import observe

    statements = FlinkStatementsHook().list_statements()
    registry = SchemaRegistryHook()
    subjects = {f.table: f.subjects for f in the_plan.facts}
    states = {}
    for table, flink_tables in the_plan.flink_names().items():
        writers = {s.name: s.phase for s in statements if any(observe.writes(s, t) for t in flink_tables)}
        latest = {}
        for subject in subjects.get(table, []):
            versions = registry.versions(subject)
            latest[subject] = versions[-1] if versions else None
        states[table] = {"writers": writers, "running": sorted(n for n, p in writers.items() if p == "RUNNING"),
                         "latest_versions": latest}
    return states


def unwritten_tables(the_plan: Plan) -> dict[str, dict[str, str]]:
    """The run's tables that no live statement writes under any of their names (original, ``_v2``,
    final), each with the phases of the statements that wrote it before: the worst outcome."""
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.migration import observe

    statements = FlinkStatementsHook().list_statements()
    return {table: {s.name: s.phase for s in statements if any(observe.writes(s, t) for t in flink_tables)}
            for table, flink_tables in the_plan.flink_names().items()
            if not any(observe.writers_of(statements, t) for t in flink_tables)}


def describe_states(states: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for table, state in sorted(states.items()):
        writers = ", ".join(f"{n} {p}" for n, p in sorted(state["writers"].items())) or "no statement"
        schemas = ", ".join(f"{s} v{v}" if v else f"{s} none" for s, v in state["latest_versions"].items())
        lines.append(f"  {table}: written by {writers}; latest schema {schemas or 'not known'}")
    return lines


def what_next(the_plan: Plan, run_id: str, failed: list[dict[str, Any]] | None = None) -> str:
    """The next step after a failed run: the failed task, the state of each table, which tables have
    no writer, and the rollback to trigger (or the task to clear); the last line says it all."""
    rollback = (f"trigger DAG rollback_migration with migration_run={run_id} and confirm=<the target database> "
                "(mode planned; emergency skips the data-flow check)")
    first = failed[0] if failed else None
    where = (f"task {task_label(first['task_id'], first['map_index'])} failed ({first['error'].splitlines()[0]})"
             if first else "the run failed")
    lines = ["FAILED TASKS:", *(f"  {task_label(f['task_id'], f['map_index'])}: {f['error']}" for f in failed)] \
        if failed else []
    try:
        states = table_states(the_plan)
        unwritten = unwritten_tables(the_plan)
    except Exception as exc:  # noqa: BLE001 - the API is down: say so, and what to do regardless
        return "\n".join([*lines, f"NEXT STEP: {where}; the tables' state could not be read ({exc}); check which "
                                  f"tables have a RUNNING writer in the console, then {rollback}"]) + "\n"
    lines += ["TABLE STATE:", *describe_states(states)]
    if not unwritten:
        clear = (f"clear task {first['task_id']} (with its downstream) to resume the run" if first
                 else "clear the failed task to resume the run")
        lines.append(f"NEXT STEP: {where}; every table still has a running writer. Fix the cause and {clear}, "
                     f"or {rollback}")
    else:
        lines += ["TABLES WITHOUT A WRITER:", *(
            f"  {table}: no RUNNING statement writes it (was written by {writers or 'none found'})"
            for table, writers in sorted(unwritten.items()))]
        lines.append(f"NEXT STEP: {where}; NO WRITER for {', '.join(sorted(unwritten))}: {rollback} now")
    return "\n".join(lines) + "\n"
