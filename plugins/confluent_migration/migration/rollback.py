"""Undoing a migration run from its ledger, in reverse, from whatever point it reached.

Each undo is tolerant: it looks at the current state first (a statement already stopped, a
version already deleted, a level already restored, a table already restored, a step that only
*started*), so a rollback can be re-run and can undo a run that failed half way. Undos are
grouped in the order the runbook wants (stop the new pipelines, restore schemas, restore tables,
bring the old pipelines back); within a group the steps are undone newest first. Every undo is
recorded in the rollback run's own ledger.

Every task of ``rollback_migration`` is safe to retry: ``choose_run`` (the header is kept), the
lock (same owner), each ``undo`` group (each undo looks first), ``verify_data_flow`` (reads
only), the summary and the release.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from confluent_migration.errors import StatementFailedError, StatementTimeoutError, SubjectReadOnlyError
from confluent_migration.migration.ledger import (
    COMPATIBILITY_SET,
    DONE,
    SCHEMA_REGISTERED,
    STATEMENT_CREATED,
    STATEMENT_STOPPED,
    TABLE_BACKED_UP,
    TABLE_CREATED,
    TABLE_DROPPED,
    Ledger,
    Step,
    runs_to_undo,
)
from confluent_migration.statements import (
    FAILED_PHASES,
    RUNNING,
    STOPPED,
    TERMINAL_PHASES,
    Statement,
    describe_failure,
    statement_name,
)

if TYPE_CHECKING:
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.hooks.schema_registry import SchemaRegistryHook
    from confluent_migration.migration.manifest import Manifest

RECORDS_OUT = "io.confluent.flink/num_records_out"

GROUPS: dict[str, tuple[str, ...]] = {
    "stop_new_pipelines": (STATEMENT_CREATED,),
    "restore_schemas": (SCHEMA_REGISTERED, COMPATIBILITY_SET),
    "restore_tables": (TABLE_CREATED, TABLE_DROPPED),
    "restart_old_pipelines": (STATEMENT_STOPPED,),
}
CHANGE_KINDS = tuple(kind for kinds in GROUPS.values() for kind in kinds)
LIVE = (RUNNING, "PENDING", "DEGRADED")


class RollbackError(RuntimeError):
    """A step could not be undone; the message names it and what to do by hand."""


def wait_for_phase(hook: FlinkStatementsHook, name: str, targets: set[str], timeout: float,
                   poll: float = 1.0) -> Statement:
    deadline = time.monotonic() + timeout
    while True:
        statement = hook.get_statement(name)
        if statement.phase in targets:
            return statement
        if statement.phase in FAILED_PHASES:
            raise StatementFailedError(describe_failure(statement, hook.get_exceptions(name)))
        if time.monotonic() > deadline:
            raise StatementTimeoutError(f"Flink statement '{name}' is still {statement.phase} after {timeout:.0f}s "
                                        f"(awaited {sorted(targets)})")
        time.sleep(poll)


def short_name(flink_table: str) -> str:
    return flink_table.rsplit(".", 1)[-1]


def restarted_statements(target: Ledger) -> dict[str, str]:
    """The stopped statements whose table the run dropped -> the name they start again under.

    Their savepoints no longer fit the recreated topic, so they start afresh from the earliest
    offset under a deterministic new name (a re-run of the rollback finds it)."""
    from confluent_migration.migration.observe import writes

    dropped = {s.data["table"] for s in target.steps([TABLE_DROPPED])}
    preflight = next((s.result for s in target.steps(["preflight_state"])), None) or {}
    sql = {s["name"]: s["sql"] for s in preflight.get("statements", [])}
    renamed = {}
    for step in target.steps([STATEMENT_STOPPED]):
        name = step.data["statement_name"]
        table = next((t for t in dropped if writes(Statement(name, sql.get(name, ""), {}, ""), t)), None)
        if table is not None:
            renamed[name] = statement_name(short_name(table), "1-rollback", target.run_id)
    return renamed


class Undoer:
    """Undoes the steps of one migration run (``target``), recording into the rollback's ``ledger``."""

    def __init__(self, target: Ledger, ledger: Ledger, *, task_id: str, wait_seconds: float = 600,
                 flink: FlinkStatementsHook | None = None, registry: SchemaRegistryHook | None = None) -> None:
        from confluent_migration.hooks.flink_statements import FlinkStatementsHook
        from confluent_migration.hooks.schema_registry import SchemaRegistryHook

        self.target = target
        self.ledger = ledger
        self.task_id = task_id
        self.wait_seconds = wait_seconds
        self.flink = flink or FlinkStatementsHook()
        self.registry = registry or SchemaRegistryHook()
        self.preflight = next((s.result for s in target.steps(["preflight_state"])), None) or {}
        self.handlers: dict[str, Callable[[Step], dict[str, Any]]] = {
            STATEMENT_CREATED: self.stop_new_statement,
            SCHEMA_REGISTERED: self.delete_registered_version,
            COMPATIBILITY_SET: self.restore_compatibility,
            STATEMENT_STOPPED: self.bring_back_statement,
            TABLE_CREATED: self.drop_created_table,
            TABLE_DROPPED: self.restore_dropped_table,
        }
        self.restarted = restarted_statements(target)

    def manifest(self, *, check_files: bool = True) -> Manifest:
        """The manifest the target run used (recorded in its params; the configured one for a run
        recorded before runs named theirs)."""
        from confluent_migration.migration.manifest import load_manifest, manifest_path

        return load_manifest(manifest_path(self.target.header()["params"].get("manifest")), check_files=check_files)

    def steps(self, kinds: Sequence[str]) -> list[Step]:
        """The target's steps of ``kinds``, newest first."""
        return list(reversed(self.target.steps(kinds)))

    def undo_group(self, group: str) -> list[dict[str, Any]]:
        done = []
        for index, step in enumerate(self.steps(GROUPS[group])):
            handler = self.handlers.get(step.kind)
            if handler is None:
                raise RollbackError(f"step {step.kind} of task {step.task_id} cannot be undone by this DAG: "
                                    "undo it by hand, then re-run the rollback")
            outcome = {"kind": step.kind, "task_id": step.task_id, "map_index": step.map_index,
                       "was": step.status, **handler(step)}
            self.ledger.record(f"undo_{step.kind}", DONE, task_id=self.task_id, map_index=index,
                               data={"target_task": step.task_id, "target_map_index": step.map_index}, result=outcome)
            print(f"undone {step.kind} ({step.status}) of {step.task_id}[{step.map_index}]: {outcome}")
            done.append(outcome)
        return done

    # -- statements -------------------------------------------------------------------------------
    def stop_new_statement(self, step: Step) -> dict[str, Any]:
        name = step.data["statement_name"]
        statement = self.flink.find_statement(name)
        if statement is None:
            return {"statement_name": name, "action": "none (never created)"}
        if statement.phase in TERMINAL_PHASES or statement.stopped:
            return {"statement_name": name, "action": f"none (already {statement.phase})"}
        self.flink.set_stopped(name, True)
        wait_for_phase(self.flink, name, {STOPPED}, self.wait_seconds)
        return {"statement_name": name, "action": "stopped"}

    def original(self, name: str) -> dict[str, Any] | None:
        """The statement as pre-flight recorded it (SQL and properties), if it did."""
        return next((s for s in self.preflight.get("statements", []) if s["name"] == name), None)

    def bring_back_statement(self, step: Step) -> dict[str, Any]:
        """Resume a stopped v1 statement (state and offsets intact); start it again if it is gone, or
        under a new name if its table was recreated (the old one is deleted: it must never be resumed)."""
        name = step.data["statement_name"]
        if name in self.restarted:
            return self.start_again(name, self.restarted[name])
        statement = self.flink.find_statement(name)
        if statement is not None and statement.phase in (RUNNING, "PENDING", "DEGRADED") and not statement.stopped:
            return {"statement_name": name, "action": f"none (already {statement.phase})"}
        if statement is not None and statement.phase not in FAILED_PHASES:
            self.flink.set_stopped(name, False)
            wait_for_phase(self.flink, name, {RUNNING, "DEGRADED"}, self.wait_seconds)
            return {"statement_name": name, "action": "resumed from its savepoint"}
        return self.start_again(name, name)

    def start_again(self, name: str, new_name: str) -> dict[str, Any]:
        """Delete statement ``name`` if it exists; start its recorded SQL as ``new_name`` from the earliest offset."""
        from confluent_migration.migration.plans import EARLIEST  # not at parse time: the plan's types cost ~20 ms

        started = self.flink.find_statement(new_name) if new_name != name else None
        if started is not None and started.phase in (RUNNING, "DEGRADED") and not started.stopped:
            return {"statement_name": new_name, "replaces": name, "action": f"none (already {started.phase})"}
        original = self.original(name)
        if original is None:
            raise RollbackError(f"Flink statement '{name}' is gone and pre-flight did not record its SQL: start "
                                "it again by hand, from the earliest offset, with the manifest's SQL of the version "
                                "the run moved from (python -m confluent_migration.migration.history names it)")
        self.flink.delete_statement(name)
        properties = {**{k: v for k, v in original["properties"].items() if not k.startswith("sql.tables.")},
                      **EARLIEST}
        self.flink.submit_statement(new_name, original["sql"], properties)
        wait_for_phase(self.flink, new_name, {RUNNING, "DEGRADED"}, self.wait_seconds)
        return {"statement_name": new_name, "replaces": name, "action": "started again from the earliest offset"}

    # -- tables (option C) --------------------------------------------------------------------------
    def table_exists(self, flink_table: str) -> bool:
        from confluent_migration.hooks.flink_sql import FlinkSqlHook
        from confluent_migration.migration.observe import column_names

        return bool(column_names(FlinkSqlHook(), flink_table))

    def drop_created_table(self, step: Step) -> dict[str, Any]:
        """Drop a table the run created: a new one (option B's ``_v2``, refused by the run if it was
        there before) or one the run had dropped first (option C); never a v1 table it did not drop."""
        table = step.data["table"]
        v1_tables = {spec.flink_table for spec in self.manifest(check_files=False).tables}
        dropped_first = any(s.data["table"] == table for s in self.target.steps([TABLE_DROPPED]))
        if table in v1_tables and not dropped_first:
            raise RollbackError(f"run {self.target.run_id} created `{table}` without dropping it first: check the "
                                "table by hand (it is not dropped by the rollback)")
        if not self.table_exists(table):
            return {"table": table, "action": "none (not there)"}
        name = statement_name(short_name(table), "2-rollback-drop", self.target.run_id)
        self.run_bounded(name, f"DROP TABLE `{table}`")
        return {"table": table, "action": "dropped", "statement_name": name}

    def restore_dropped_table(self, step: Step) -> dict[str, Any]:
        """Recreate a dropped table from its recorded v1 DDL and refill it from its verified backup; a
        retry after the recreate (the table is there, created by this rollback) still refills it."""
        from confluent_migration.migration.recreate import copy_rows

        table = step.data["table"]
        backup = next((s for s in self.target.steps([TABLE_BACKED_UP]) if s.done and s.data["table"] == table), None)
        created = statement_name(short_name(table), "1-restore", self.target.run_id)
        if self.table_exists(table) and self.flink.find_statement(created) is None:
            return {"table": table, "action": "none (the table is there: it was never dropped)"}
        if backup is None:
            raise RollbackError(f"`{table}` was dropped by run {self.target.run_id} without a verified backup: "
                                "recreate it by hand with the manifest's DDL of the version the run moved from; its "
                                "pipeline refills it from the earliest offset when the rollback is re-run")
        self.run_bounded(created, backup.data["ddl"])  # a retry adopts both statements and refills (upsert)
        refill = statement_name(short_name(table), "1-refill", self.target.run_id)
        rows = copy_rows(self.flink, refill, backup.result["backup_table"], table, self.wait_seconds)
        if rows != backup.result["rows"]:
            raise RollbackError(f"`{table}` refilled from `{backup.result['backup_table']}` holds {rows} rows, the "
                                f"backup recorded {backup.result['rows']}: compare the two tables by hand")
        return {"table": table, "action": f"recreated (v1 DDL) and refilled with {rows} rows",
                "backup_table": backup.result["backup_table"]}

    def writers_not_back(self) -> dict[str, str]:
        """Statements writing the run's tables that pre-flight found live and that are not RUNNING now
        (under their restarted name, if the rollback starts them again): name -> phase now."""
        from confluent_migration.migration.observe import writes

        manifest = self.manifest()
        tables = [manifest.table(t).flink_table if t in manifest.names else t for t in self.target.header()["tables"]]
        missing = {}
        for recorded in self.preflight.get("statements", []):
            was = Statement(recorded["name"], recorded["sql"], {}, recorded["phase"])
            if recorded["phase"] not in LIVE or recorded.get("stopped") or not any(writes(was, t) for t in tables):
                continue
            name = self.restarted.get(was.name, was.name)
            now = self.flink.find_statement(name)
            if now is None or now.phase != RUNNING or now.stopped:
                missing[name] = "gone" if now is None else now.phase + (" (stopped)" if now.stopped else "")
        return missing

    def run_bounded(self, name: str, sql: str) -> None:
        from confluent_migration.migration.recreate import run_bounded

        run_bounded(self.flink, name, sql, timeout=self.wait_seconds)

    # -- Schema Registry -------------------------------------------------------------------------
    def _writable(self, subject: str) -> None:
        mode = self.registry.mode(subject)
        if mode.startswith("READONLY"):
            raise SubjectReadOnlyError(f"cannot restore subject '{subject}': it is in {mode} mode; set it to "
                                       "READWRITE if the rollback is intended, then re-run the rollback")

    def subject_before(self, subject: str) -> dict[str, Any] | None:
        """The subject as pre-flight recorded it, before any change of the run (None if it did not)."""
        return self.preflight.get("subjects", {}).get(subject)

    def delete_registered_version(self, step: Step) -> dict[str, Any]:
        """Soft-delete the version holding the run's schema unless pre-flight found it there already.

        Pre-flight's versions decide; the step's own ``registered`` only when pre-flight did not
        record the subject (a retried register task records ``registered: False``)."""
        subject = step.data["subject"]
        before = self.subject_before(subject)
        result = (step.result or {}) if step.done else {}
        if before is None and not result.get("registered", True):
            return {"subject": subject, "action": "none (the schema was there before the migration)"}
        version = result.get("version")
        if version is None:
            found = self.registry.lookup(subject, step.data["schema"].strip())
            version = found.version if found else None
        if version is not None and version in (before or {}).get("versions", []):
            return {"subject": subject, "action": f"none (version {version} was there before the migration)"}
        if version is None or version not in self.registry.versions(subject):
            return {"subject": subject, "action": "none (no version of this migration is live)"}
        self._writable(subject)
        deleted = self.registry.soft_delete_version(subject, version)
        return {"subject": subject, "action": f"soft-deleted version {version}" + ("" if deleted else " (already)"),
                "latest": (self.registry.versions(subject) or [None])[-1]}

    def restore_compatibility(self, step: Step) -> dict[str, Any]:
        """Put back the subject's own level as pre-flight recorded it (else as the task recorded it)."""
        subject = step.data["subject"]
        before = self.subject_before(subject)
        if before is not None and "subject_compatibility" in before:
            previous = before["subject_compatibility"]
        elif step.done:
            previous = (step.result or {}).get("previous")
        else:
            raise RollbackError(f"neither pre-flight nor task {step.task_id} of run {self.target.run_id} recorded "
                                f"the compatibility of subject '{subject}' before the change: set it by hand "
                                "(PUT /config/<subject>) to what it was, then re-run the rollback")
        if self.registry.subject_compatibility(subject) == previous:
            return {"subject": subject, "action": f"none (compatibility already {previous or 'inherited'})"}
        self._writable(subject)
        self.registry.set_compatibility(subject, previous)
        return {"subject": subject, "action": f"compatibility {previous or 'inherited'}",
                "compatibility": self.registry.compatibility(subject)}


def verify_flow(statements: Sequence[str], since: datetime, timeout: float, threshold: float = 100,
                poll: float = 5.0) -> dict[str, Any]:
    """The old pipelines are RUNNING, caught up, and have written records since ``since``."""
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.hooks.metrics import (
        PENDING_RECORDS,
        QUERY_PATH,
        STATEMENT_NAME,
        ConfluentMetricsHook,
        lagging,
        statement_metric_query,
    )

    flink, metrics = FlinkStatementsHook(), ConfluentMetricsHook()
    deadline = time.monotonic() + timeout
    while True:
        phases = {n: flink.get_statement(n).phase for n in statements}
        pending = metrics.statement_metric(PENDING_RECORDS, list(statements))
        behind = lagging(pending, list(statements), threshold)
        start = since.replace(second=0, microsecond=0)
        body = statement_metric_query(RECORDS_OUT, statements, datetime.now(timezone.utc) + timedelta(minutes=1)
                                      - start, now=datetime.now(timezone.utc) + timedelta(minutes=1))
        points = metrics.request("POST", QUERY_PATH, what="records written by the old pipelines",
                                 json=body).json().get("data") or []
        written = {n: sum(p["value"] for p in points if p.get(STATEMENT_NAME) == n) for n in statements}
        silent = [n for n, count in written.items() if not count]
        not_running = {n: p for n, p in phases.items() if p != RUNNING}
        if not not_running and not behind and not silent:
            return {"phases": phases, "pending_records": pending, "records_written": written}
        if time.monotonic() > deadline:
            raise RollbackError(f"data does not flow through the old pipelines yet: not RUNNING {not_running}, "
                                f"behind {behind}, nothing written by {silent} since {since.isoformat()}")
        time.sleep(poll)


# -- the tasks of rollback_migration -----------------------------------------------------------------

def instead(base: Any, target_run: str) -> str:
    """Which run to roll back instead of ``target_run``, if any run has changes left to undo."""
    others = [run for run in runs_to_undo(base, CHANGE_KINDS) if run != target_run]
    if not others:
        return "No other recorded migration run has changes left to undo"
    return f"Roll back run '{others[0]}' instead (rollback_migration with migration_run={others[0]})"


def default_target(base: Any) -> str:
    """The latest migration run that recorded a change and was not rolled back yet."""
    runs = runs_to_undo(base, CHANGE_KINDS)
    if not runs:
        raise RollbackError(f"no migration run recorded at {base}/runs changed something that is not rolled back "
                            "yet: nothing to roll back (runs refused at the table lock, dry runs and runs that failed "
                            "in pre-flight change nothing). To undo a run again, name it in migration_run")
    return runs[0]


def nothing_recorded(target: Ledger, base: Any) -> RollbackError:
    header = target.header()
    preflight = next((s.result for s in target.steps(["preflight_state"])), None) or {}
    statements = ", ".join(f"{s['name']} ({s['phase']})" for s in preflight.get("statements", [])) or "none recorded"
    return RollbackError(
        f"run '{target.run_id}' of {header['dag_id']} (outcome {header.get('outcome')}) recorded no change (refused "
        f"at the table lock, a dry run, or failed in pre-flight): there is nothing to undo on tables "
        f"{header['tables']}; the statements its pre-flight recorded: {statements}. {instead(base, target.run_id)}")


def check_undone(undoer: Undoer, base: Any) -> None:
    """Fail a rollback that changed nothing while the run's tables are not back on their pre-flight writers."""
    kinds = [f"undo_{kind}" for kind in CHANGE_KINDS]
    actions = [(s.result or {}).get("action", "") for s in undoer.ledger.steps(kinds)]
    if any(not action.startswith("none") for action in actions):
        return
    missing = undoer.writers_not_back()
    if missing:
        run = undoer.target.run_id
        raise RollbackError(
            f"the rollback of run '{run}' changed nothing (each of its {len(actions)} steps was undone already or "
            f"never happened), yet tables {undoer.target.header()['tables']} are not back on the writers pre-flight "
            "recorded: " + ", ".join(f"'{name}' is {phase}" for name, phase in missing.items())
            + f". {instead(base, run)}; or start those statements again by hand")


def choose_run(**context: Any) -> dict[str, Any]:
    """Check the params, find the migration run to undo (one that recorded a change), start this rollback's ledger."""
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.migration.ledger import ledger_base, ledger_for
    from confluent_migration.migration.params import check_rollback_params

    params = check_rollback_params(context["params"], FlinkStatementsHook().extra.get("database"))
    base = ledger_base()
    target_run = params["migration_run"] or default_target(base)
    target = Ledger(base, target_run)
    header, steps = target.header(), target.steps()
    if not any(step.kind in CHANGE_KINDS for step in steps):
        raise nothing_recorded(target, base)
    ledger_for(context).start(dag_id=context["dag"].dag_id, option=f"rollback of {header['option']}",
                              tables=header["tables"], params=params, kind="rollback", target_run=target_run)
    print(f"Rolling back run {target_run} ({header['dag_id']}, outcome {header.get('outcome')}), "
          f"{params['mode']} mode; its steps:")
    for step in steps:
        print(f"  {step.kind:<22} {step.status:<8} {step.task_id}[{step.map_index}] "
              f"{step.data.get('statement_name') or step.data.get('subject') or ''}")
    restarted = restarted_statements(target)
    return {**params, "target_run": target_run, "tables": header["tables"],
            "old_statements": [restarted.get(s.data["statement_name"], s.data["statement_name"])
                               for s in steps if s.kind == STATEMENT_STOPPED]}


def changes_allowed(choice: dict[str, Any]) -> bool:
    """Whether the undo steps run: a dry run only finds the run and lists its steps."""
    return not choice["dry_run"]


def undo(group: str, choice: dict[str, Any], **context: Any) -> list[dict[str, Any]]:
    from confluent_migration.migration.ledger import ledger_base, ledger_for

    ledger = ledger_for(context)
    undoer = Undoer(Ledger(ledger_base(), choice["target_run"]), ledger, task_id=context["ti"].task_id)
    done = undoer.undo_group(group)
    if group == list(GROUPS)[-1]:
        check_undone(undoer, ledger_base())
        ledger.record("undo_complete", DONE, task_id=context["ti"].task_id, result={"groups": list(GROUPS)})
    return done


def verify_data_flow(choice: dict[str, Any], **context: Any) -> dict[str, Any] | None:
    from confluent_migration.migration.ledger import ledger_for

    if choice["mode"] == "emergency":
        print("Emergency mode: the data-flow check is skipped; run the health check soon")
        return None
    ledger = ledger_for(context)
    started = datetime.fromisoformat(ledger.header()["started_at"])
    result = verify_flow(choice["old_statements"], started, choice["flow_timeout_seconds"])
    ledger.record("data_flow_verified", DONE, task_id=context["ti"].task_id, result=result)
    print(f"Data flows through the old pipelines again: {result}")
    return result


def rollback_summary(choice: dict[str, Any], **context: Any) -> str:
    from confluent_migration.migration.ledger import ledger_base, ledger_for
    from confluent_migration.migration.summary import render_summary

    ledger = ledger_for(context)
    steps = ledger.steps()
    kinds = {s.kind for s in steps}
    if choice["dry_run"]:
        outcome = "dry run"
    elif "data_flow_verified" in kinds or (choice["mode"] == "emergency" and "undo_complete" in kinds):
        outcome = "success"
    else:
        outcome = "failed"
    header = ledger.finish(outcome)
    if outcome == "success":
        target = Ledger(ledger_base(), choice["target_run"])
        target.finish(target.header().get("outcome") or "failed", rolled_back_by=context["run_id"])
    text = render_summary(header, steps, outcome=outcome)
    ledger.write_report("summary.txt", text)
    print(text)
    return text

