"""The migration history: which version each table of a manifest is at, which run moved it there,
when and with what outcome, and which statement writes it now; derived from the ledger.

Each migration run records its moves in its header (per table: from and to version, the statement
it replaced and the one it started). A table is at the target version of the last run that
completed (outcome ``success``) and was not rolled back; with none, at ``v1``, written by the v1
statement of the manifest. A rolled-back run leaves its tables where they were, written by the
statements its rollback brought back (under a new name where the rollback restarted one).

``python -m confluent_migration.migration.history [--manifest PATH]`` prints it as Flyway's
``info`` does: one line per table and version.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from confluent_migration.migration.ledger import Ledger, ledger_base, run_ids
from confluent_migration.migration.params import ParamError
from confluent_migration.migration.plans import Move

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from confluent_migration.migration.manifest import Manifest, TableSpec

COMPLETED = "success"


@dataclass(frozen=True)
class Position:
    """Where a table is: its version, the statement writing it, and the run that moved it there (None: none did)."""

    table: str
    version: str
    statement: str
    flink_table: str  # where the table is (option B's final_names=v2 leaves it under its _v2 name)
    run_id: str | None = None
    at: str | None = None  # when that run finished
    outcome: str | None = None


@dataclass(frozen=True)
class Attempt:
    """A migration run's move of one table, as its ledger header records it."""

    table: str
    source: str
    target: str
    replaces: str
    statement: str
    flink_table: str
    run_id: str
    started_at: str
    finished_at: str | None
    outcome: str | None
    rolled_back_by: str | None

    @property
    def in_effect(self) -> bool:
        return self.outcome == COMPLETED and not self.rolled_back_by


def attempts(base: ObjectStoragePath) -> list[Attempt]:
    """Every recorded move of a table by a migration run that changed something, oldest run first."""
    found = []
    for run in run_ids(base):
        header = Ledger(base, run).header()
        if header.get("params", {}).get("dry_run", True):
            continue
        for table, move in (header.get("moves") or {}).items():
            found.append(Attempt(table, move["from"], move["to"], move["replaces"], move["statement"],
                                 move["flink_table"], run,
                                 header["started_at"], header.get("finished_at"), header.get("outcome"),
                                 header.get("rolled_back_by")))
    return found


def restarted(base: ObjectStoragePath, tried: Iterable[Attempt]) -> dict[str, str]:
    """Statements a rollback started again under a new name (old name -> new name)."""
    from confluent_migration.migration.rollback import restarted_statements

    runs = {a.run_id for a in tried if a.rolled_back_by}
    return {old: new for run in sorted(runs) for old, new in restarted_statements(Ledger(base, run)).items()}


def positions(manifest: Manifest, base: ObjectStoragePath | None = None,
              tried: list[Attempt] | None = None) -> dict[str, Position]:
    """Each table of ``manifest`` -> where it is now (see the module's doc); ``tried``: the
    :func:`attempts` of ``base`` where the caller has read them already."""
    base = base or ledger_base()
    tried = attempts(base) if tried is None else tried
    now = {s.name: Position(s.name, s.v1.name, s.v1.statement, s.flink_table) for s in manifest.tables}
    for a in tried:
        if a.in_effect and a.table in now:
            now[a.table] = Position(a.table, a.target, a.statement, a.flink_table, a.run_id, a.finished_at, a.outcome)
    renamed = restarted(base, tried)
    for table, position in now.items():
        statement = position.statement
        while statement in renamed:  # a rollback's restart may itself have been restarted by another
            statement = renamed.pop(statement)
        now[table] = Position(**{**position.__dict__, "statement": statement})
    return now


def moves(manifest: Manifest, tables: Iterable[str], target: str | None,
          where: Mapping[str, Position]) -> dict[str, Move]:
    """Each chosen table's move from where it is to ``target`` (None: its newest version);
    :class:`ParamError` on ``target_version`` when a table is not before it, on ``tables`` when one
    is no longer where the manifest says."""
    found = {}
    for name in tables:
        spec, position = manifest.table(name), where[name]
        if position.flink_table != spec.flink_table:
            raise ParamError("tables", f"table {name} is at `{position.flink_table}` since run {position.run_id}, not "
                                       f"`{spec.flink_table}` as {manifest.path} says: migrate it from there with a "
                                       "manifest naming that table, or leave it out")
        goal = target or spec.newest.name
        order = spec.version_names
        if order.index(goal) <= order.index(position.version):
            by = f" (run {position.run_id}, {position.at})" if position.run_id else ""
            later = ", ".join(order[order.index(position.version) + 1:])
            raise ParamError("target_version", f"table {name} is already at {position.version}{by}: nothing to move "
                                               f"to {goal}; leave the table out, or " + (
                                                   f"choose a later version ({later})" if later
                                                   else "add a later version to the manifest"))
        found[name] = Move(position.version, goal, position.statement)
    return found


def check_writers(where: Mapping[str, Position], tables: Iterable[str], phases: Mapping[str, str]) -> None:
    """Each chosen table's writer is RUNNING among the live statements (``phases``: name -> phase);
    else a :class:`ParamError` saying which, in what state, and what to do."""
    wrong = []
    for name in tables:
        position = where[name]
        phase = phases.get(position.statement, "not found")
        if phase != "RUNNING":
            by = f"migration run {position.run_id}" if position.run_id else "no migration run yet (the manifest's v1)"
            wrong.append(f"table {name} is at {position.version} by {by}, but its writer '{position.statement}' "
                         f"is {phase}")
    if wrong:
        raise ParamError("tables", "; ".join(wrong) + ". Bring each writer back (resume it, or roll back the run "
                         "that stopped it with DAG rollback_migration), then trigger again; "
                         "`python -m confluent_migration.migration.history` shows the history")


def info(manifest: Manifest, base: ObjectStoragePath | None = None) -> list[dict[str, Any]]:
    """Flyway ``info``'s rows: per table and version, its state (``baseline``, ``success``,
    ``current``, ``pending``, the last failed or rolled-back attempt of a pending version, or
    ``skipped`` by a run that moved past it), the run, when, and its outcome."""
    base = base or ledger_base()
    tried = attempts(base)
    now = positions(manifest, base, tried)  # every ledger header read once
    rows = []
    for spec in manifest.tables:
        at = spec.version_names.index(now[spec.name].version)
        for n, files in enumerate(spec.versions):
            rows.append(_row(spec, files.name, n, at, now[spec.name],
                             [a for a in tried if a.table == spec.name and a.target == files.name]))
    return rows


def _row(spec: TableSpec, version: str, n: int, at: int, now: Position, tried: list[Attempt]) -> dict[str, Any]:
    if n == 0 and at == 0:
        return {"table": spec.name, "version": version, "state": "current (baseline)", "run": None, "when": None,
                "outcome": None, "statement": now.statement}
    if n == 0:
        return {"table": spec.name, "version": version, "state": "baseline", "run": None, "when": None,
                "outcome": None, "statement": spec.v1.statement}
    done = [a for a in tried if a.in_effect]
    last = (done or tried or [None])[-1]
    state = "current" if n == at else ("success" if done else "skipped") if n < at else "pending"
    if n > at and last is not None:
        state = f"pending (rolled back by {last.rolled_back_by})" if last.rolled_back_by else f"pending ({last.outcome})"
    return {"table": spec.name, "version": version, "state": state, "run": last and last.run_id,
            "when": last and (last.finished_at or last.started_at), "outcome": last and last.outcome,
            "statement": now.statement if n == at else last and last.statement}


def render(rows: list[dict[str, Any]]) -> str:
    """``rows`` of :func:`info` as a text table."""
    columns = ["table", "version", "state", "run", "when", "outcome", "statement"]
    cells = [[str(r[c] or "") for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    text = [line, "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |", line]
    text += ["| " + " | ".join(v.ljust(w) for v, w in zip(row, widths)) + " |" for row in cells]
    return "\n".join(text + [line])


def main(argv: list[str] | None = None) -> None:
    from confluent_migration.migration.manifest import load_manifest, manifest_path

    parser = argparse.ArgumentParser(prog="python -m confluent_migration.migration.history",
                                     description="Which version each table of the manifest is at, which run moved "
                                                 "it, when, with what outcome (read from the migration ledger).")
    parser.add_argument("--manifest", help="the manifest (default: the configured one)")
    args = parser.parse_args(argv)
    manifest = load_manifest(manifest_path(args.manifest))
    print(f"Manifest {manifest.path}, ledger {ledger_base()}")
    print(render(info(manifest)))


if __name__ == "__main__":
    main()
