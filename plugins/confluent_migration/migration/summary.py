"""A readable summary of a run, from its ledger: what it did, the gates, the criteria, the outcome."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from confluent_migration.migration.criteria import Verdict
from confluent_migration.migration.ledger import Step


def _seconds_between(start: str | None, end: str | None) -> float | None:
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
    return _seconds_between(min(starts), max(ends)) if starts and ends else None
