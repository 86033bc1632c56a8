"""A readable summary of a run, from its ledger: what it did, the gates, the criteria, the outcome."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from confluent_migration.migration.criteria import Verdict
from confluent_migration.migration.ledger import Step
from confluent_migration.migration.plan_types import OptionAPlan, OptionBPlan, Plan, Recreation


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def describe_step(step: Step) -> str:
    """One line: the action, what it acted on, and whether it completed."""
    subject = next((str(step.data[k]) for k in ("statement_name", "subject", "table", "tables")
                    if step.data.get(k)), "")
    index = f"[{step.map_index}]" if step.map_index >= 0 else ""
    state = "done" if step.done else "STARTED, NOT COMPLETED"
    return f"{step.kind:<22} {subject:<55} {state} ({step.task_id}{index})"


def render_summary(header: dict[str, Any], steps: Sequence[Step], *, gates: Sequence[Verdict] = (),
                   criteria: Sequence[Verdict] = (), facts: dict[str, Any] | None = None,
                   outcome: str | None = None) -> str:
    """The run summary as plain text (also written next to the ledger as ``summary.txt``)."""
    outcome = outcome or header.get("outcome") or "in progress"
    lines = [
        f"{header.get('kind', 'migration').capitalize()} run {header['run_id']} ({header.get('dag_id')}, "
        f"option {header.get('option')}): {outcome.upper()}",
        f"  tables: {', '.join(header.get('tables') or [])}",
        f"  started {header.get('started_at')}" + (f", finished {header['finished_at']}" if header.get("finished_at")
                                                   else ""),
    ]
    if header.get("params", {}).get("dry_run"):
        lines.append("  DRY RUN: nothing was changed")
    for key, value in (facts or {}).items():
        lines.append(f"  {key}: {value}")
    lines.append(f"Steps ({len(steps)}):")
    lines += [f"  {describe_step(s)}" for s in steps] or ["  (none)"]
    for title, verdicts in (("Validation gates", gates), ("Success criteria", criteria)):
        if verdicts:
            lines.append(f"{title}:")
            lines += [f"  {v.line()}" for v in verdicts]
    return "\n".join(lines) + "\n"


def window_seconds(steps: Sequence[Step], start_kind: str, end_kind: str) -> float | None:
    """Seconds from the first ``start_kind`` step starting to the last ``end_kind`` step done."""
    starts = [s.at for s in steps if s.kind == start_kind]
    ends = [s.done_at for s in steps if s.kind == end_kind and s.done_at]
    return seconds_between(min(starts), max(ends)) if starts and ends else None


def _start_offsets(properties: dict[str, str]) -> str:
    if properties.get("sql.tables.scan.startup.mode") == "earliest-offset":
        return "from the earliest offset"
    if properties.get("sql.tables.initial-offset-from"):
        return f"from the offsets of {properties['sql.tables.initial-offset-from']}"
    return "from its default offsets"


WRITE_GAP = {
    "A": "no new rows from the stop of {v1} until {v2} has caught up{reprocess}",
    "B": "none: {v1} keeps writing until the _v2 table passed its gates; readers move with approval",
    "C": "no new rows from the first stop (downstream first) until {v2} has caught up after the backup, drop "
         "and create{reprocess}",
}


def _table_steps(the_plan: Plan) -> list[tuple[str, Sequence[Any]]]:
    """The plan's steps on whole tables, in order, each with its verb."""
    steps: list[tuple[str, Sequence[Any]]] = []
    if isinstance(the_plan, OptionBPlan):
        steps.append(("create", the_plan.creates))
    if isinstance(the_plan, Recreation):
        steps += [("back up", the_plan.backups), ("drop", the_plan.drops), ("create", the_plan.recreates)]
    if isinstance(the_plan, OptionBPlan):
        steps.append(("drop (retire)", the_plan.retire_tables))
    return steps


def render_plan(the_plan: Plan, state: dict[str, Any] | None) -> str:
    """What a changing run with these params would do, per table: the plan a reviewer approves.

    :param state: pre-flight's recorded state (readers, subjects, rows)."""
    state = state or {}
    params = the_plan.params
    lines = [f"PLAN (option {the_plan.option}; run again with dry_run off and confirm set to do it):"]
    starts, stops, subjects = the_plan.starts(), {s.statement_name for s in the_plan.stops()}, state.get("subjects", {})
    names = the_plan.flink_names()
    for fact in the_plan.facts:
        table = fact.table
        prefix = table.replace("_", "-") + "-" + fact.to_version
        lines.append(f"  {table}:")
        if isinstance(the_plan, OptionAPlan):
            for c in the_plan.set_compatibility:
                if c.subject in fact.subjects:
                    lines.append(f"    set compatibility of {c.subject} to {c.level} (previous level recorded)")
            for r in the_plan.register_schemas:
                if r.subject in fact.subjects:
                    latest = (subjects.get(r.subject) or {}).get("versions") or []
                    now = f"latest now v{latest[-1]}" if latest else "no version now"
                    lines.append(f"    register the {fact.to_version} schema on {r.subject} ({now})")
        for verb, entries in _table_steps(the_plan):
            for s in entries:
                if s.table in names[table]:
                    target = f" into `{s.backup_table}` (counts verified)" if verb == "back up" else ""
                    what = f" with the {fact.to_version} DDL" if verb == "create" else ""
                    lines.append(f"    {verb} table `{s.table}`{target}{what}")
        if fact.old_statement in stops:
            lines.append(f"    stop {fact.old_statement} (offsets recorded; not deleted, so rollback resumes it)")
        for s in starts:
            if s.statement_name.startswith(prefix):
                kind = "stateful" if fact.stateful else "stateless"
                lines.append(f"    start {s.statement_name} ({kind}) {_start_offsets(s.properties)}")
        for r in the_plan.retire_statements if isinstance(the_plan, OptionBPlan) else ():
            if r.statement_name.startswith(prefix):
                lines.append(f"    stop {r.statement_name} once readers moved back (retired)")
        external = ((state.get("readers") or {}).get(table) or {}).get("external") or []
        lines.append(f"    external readers: {', '.join(external) if external else 'none found'}")
        lines.append(f"    adds columns: {', '.join(fact.added_columns) or 'none'}; every row must meet: "
                     f"{' AND '.join(fact.checks) or 'no declared check'}")
        rows = (state.get("rows") or {}).get(table)
        reprocess = f" (reprocesses {rows} rows from the earliest offset)" if rows is not None else ""
        v2 = next((s.statement_name for s in starts if s.statement_name.startswith(prefix)), "the v2 statement")
        lines.append("    expected write gap: " + WRITE_GAP[the_plan.option].format(
            v1=fact.old_statement, v2=v2, reprocess=reprocess))
    criteria = params.criteria
    lines += ["  checks after the change, per table: the columns the v2 DDL adds present, column count = the v2 "
              "DDL's, every row meets the table's checks (NULL fails), row parity with the source within "
              f"{params.parity_tolerance * 100:g} %, writers RUNNING, caught up at <= "
              f"{params.pending_records_threshold} pending records",
              f"  success criteria against the baseline: throughput >= {criteria.throughput_min_ratio * 100:g} % "
              f"(records read per second over {criteria.window_minutes} min, after catching up), "
              f"latency <= {criteria.latency_max_ratio * 100:g} %, error rate <= "
              f"{criteria.error_rate_max * 100:g} %, freshness <= {criteria.freshness_max_seconds:g} s"]
    return "\n".join(lines) + "\n"
