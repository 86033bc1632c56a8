"""The phases every migration DAG shares, as TaskGroups: pre-flight, validation, and the close.

A migration DAG file is::

    with migration_dag(...) as dag:
        run = preflight(OPTION_X)            # Phase 1: backup and prepare (changes nothing)
        ...the option's own phases...        # each change recorded in the ledger as it happens
        validation(run, after=..., step=N)   # the last step: gates and success criteria
        close(run)                           # summary and lock release, also after a failure

The first task checks the params and computes the run's plan (``plans.py``, typed in
``plan_types.py``); later tasks rebuild it from XCom, so mapped tasks cover exactly the chosen
tables. The table lock is the setup task and its release and the summary are teardowns: they run
whatever happened in between and do not change the run's outcome. A dry run stops after pre-flight.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import DAG, Param, TaskGroup
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.definitions.xcom_arg import XComArg

from confluent_migration.links import REPORT_FILE, statement_url
from confluent_migration.migration.dag_defaults import RETRIES, TAGS, call, call_if, level_slots
from confluent_migration.migration.ledger import DONE, ledger_base, ledger_for, recorded, resumed_since
from confluent_migration.migration.lock import acquire_lock, release_lock
from confluent_migration.migration.outcome import record_failure
from confluent_migration.migration.params import check_migration_params, describe_target, flink_target, migration_params
from confluent_migration.operators.flink import DryRunStatementOperator
from confluent_migration.operators.schema_registry import BackupSubjectsOperator, CheckSchemaCompatibilityOperator
from confluent_migration.operators.summary import RunSummaryOperator
from confluent_migration.sensors.flink import StatementsCaughtUpSensor
from confluent_migration.sensors.window import WindowSensor

if TYPE_CHECKING:  # the plan, the manifest and the checks are imported by the tasks that run them, not by a parse
    from confluent_migration.migration import observe
    from confluent_migration.migration.params import RunParams
    from confluent_migration.migration.plan_types import Plan, TableFacts


def poll_seconds() -> float:
    """Seconds between polls of the waits (env ``CONFLUENT_MIGRATION_POLL_SECONDS``, default 10)."""
    return float(os.environ.get("CONFLUENT_MIGRATION_POLL_SECONDS", "10"))


def catch_up_timeout_seconds() -> float:
    """How long the catch-up wait may take (env ``CONFLUENT_MIGRATION_CATCH_UP_TIMEOUT``, default 2 h)."""
    return float(os.environ.get("CONFLUENT_MIGRATION_CATCH_UP_TIMEOUT", str(2 * 3600)))


# A dependency level with none of the chosen tables maps to no task instance and is skipped; the
# next level still runs, since its own plan task succeeded. A dry run skips every plan task of the
# changing phases too (they come after the short-circuit), so nothing after it runs; and the
# ledger's pre-execute guard skips any changing task of a dry run regardless.
AFTER_EMPTY_LEVELS = "none_failed_min_one_success"


class GateError(AirflowFailException):
    """A validation gate or success criterion failed; the message lists each failure (not retried)."""


@dataclass
class MigrationRun:
    """Handles on the shared tasks of a migration DAG, for the option's own phases."""

    option: str
    plan: XComArg  # the run's Plan, as Plan.to_xcom()
    lock: Any
    head: Any  # the last task of pre-flight: the option's first change goes after it
    levels: int  # the DAG's dependency levels (level_<n> task groups); a run's plan pads its own to it


@contextmanager
def migration_dag(dag_id: str, *, doc_md: str, option_params: Mapping[str, Param] | None = None,
                  tags: list[str] | None = None) -> Iterator[DAG]:
    """A migration DAG: manual trigger only, one run at a time, the params form.

    The form is given once the tasks are made: Airflow deep-copies a DAG's params into each operator
    made in it (twice a task: the DAG file's largest parse cost), and a task gets them at run time
    anyway, the DAG's merged with the run's conf; so each task's own ``params`` are empty."""
    target = flink_target()
    with DAG(
        dag_id,
        schedule=None,
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        max_active_runs=1,
        doc_md=doc_md,
        description=f"Changes {describe_target(target)}; a dry run (the default) changes nothing",
        tags=[*TAGS, *(tags or [])],
        render_template_as_native_obj=False,
        default_args={**RETRIES, "on_failure_callback": record_failure},
    ) as dag:
        yield dag
    dag.params = migration_params(extra=option_params, target=target)


# -- Phase 1: backup and prepare ------------------------------------------------------------------

def batch_count() -> int:
    """Into how many batches a per-table step is cut, one mapped task each (env
    ``CONFLUENT_MIGRATION_BATCHES``, default 4: the task slots worth filling; read when the run picks them)."""
    return max(1, int(os.environ.get("CONFLUENT_MIGRATION_BATCHES", "4")))


def in_batches(entries: typing.Sequence[Any], count: int) -> list[dict[str, Any]]:
    """``entries`` cut in order into ``min(len(entries), count)`` batches of near-equal size, each as
    the kwargs of one mapped task of a batch operator: ``{"items": [...], "first_index": k}``, ``k``
    the index of its first entry in ``entries`` (the ledger's index of each item)."""
    batches, start, count = [], 0, min(len(entries), count)
    for n in range(count):
        size = len(entries) // count + (n < len(entries) % count)
        batches.append({"items": list(entries[start:start + size]), "first_index": start})
        start += size
    return batches


def plan_of(plan_xcom: dict[str, Any]) -> Plan:
    """The run's plan, from the first task's XCom."""
    from confluent_migration.migration.plan_types import Plan

    return Plan.from_xcom(plan_xcom)


def pick(plan_xcom: dict[str, Any], path: list[Any], batched: bool = False) -> Any:
    from confluent_migration.migration.plan_types import plain

    value: Any = plan_of(plan_xcom)
    for key in path:
        value = value[key] if isinstance(key, int) else getattr(value, key)
    return in_batches(plain(value), batch_count()) if batched else plain(value)


def planned(the_plan: XComArg, *path: str | int, after: Any = None, batched: bool = False) -> XComArg:
    """One list of the plan as its own XCom (mapped tasks expand over a task's return value): field
    names and list indexes of the option's plan (``tests/dags/test_plan_paths.py`` resolves
    every path of every DAG against its option's plan type: the DAG files do not import the types).

    :param after: a task this one must follow (the short-circuit, for the changing phases).
    :param batched: the list cut into batches (:func:`in_batches`), for a batch operator mapped over them
        (``.expand_kwargs``): one task per batch instead of one per entry.
    """
    name = "plan_" + "_".join(str(p) for p in path) + ("_batches" if batched else "")
    picked = call(name, pick, the_plan, list(path), batched)
    if after is not None:
        after >> picked
    return picked


def check_params_and_plan(option: str, option_flags: Mapping[str, bool], levels: int,
                          **context: Any) -> dict[str, Any]:
    """Load the run's manifest (its ``manifest`` param, else the configured one), check it against its
    files and the params (a mistake fails here, naming it, and is not retried), find where each chosen
    table is (the migration history) and check its writer is RUNNING, start the ledger with each
    table's move, compute the plan for the DAG's ``levels`` (returned as :meth:`Plan.to_xcom`). No
    later task reads the manifest: the plan carries what they need."""
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.migration import history
    from confluent_migration.migration.manifest import ManifestError, load_manifest, manifest_path
    from confluent_migration.migration.plan_types import PlanError
    from confluent_migration.migration.plans import plan

    flink = FlinkStatementsHook()
    try:
        manifest = load_manifest(manifest_path(context["params"].get("manifest")))
        run: RunParams = check_migration_params(context["params"], manifest, flink.extra.get("database"), option_flags)
        where = history.positions(manifest)
        moves = history.moves(manifest, run.tables, run.target_version, where)
        the_plan = plan(option, manifest, run, context["run_id"], levels, moves)
    except (ManifestError, PlanError) as err:
        raise AirflowFailException(str(err)) from err
    history.check_writers(where, run.tables, {s.name: s.phase for s in flink.list_statements()})
    after = dict(zip(the_plan.tables, the_plan.new_statements, strict=True))
    ledger_for(context).start(dag_id=context["dag"].dag_id, option=option, tables=run.tables, params=run.as_dict(),
                              moves={t: {"from": m.source, "to": m.target, "replaces": m.writer, "statement": after[t],
                                         "flink_table": the_plan.final_tables[t]} for t, m in moves.items()})
    print(f"Migration option {option} of {run.tables} ({'DRY RUN' if run.dry_run else 'changes confirmed'})")
    return the_plan.to_xcom()


def check_connections(plan_xcom: dict[str, Any]) -> dict[str, Any]:
    """Each of the three APIs answers (a wrong key or host fails here, before anything changes)."""
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.hooks.metrics import PENDING_RECORDS, ConfluentMetricsHook
    from confluent_migration.hooks.schema_registry import SchemaRegistryHook

    statements = FlinkStatementsHook().list_statements()
    subjects = SchemaRegistryHook().subjects()
    old = plan_of(plan_xcom).old_statements
    pending = ConfluentMetricsHook().statement_metric(PENDING_RECORDS, old)
    answer = {"flink_statements": len(statements), "subjects": len(subjects), "pending_records": pending}
    print(f"Connections answer: {answer}")
    return answer


def record_state(plan_xcom: dict[str, Any], **context: Any) -> dict[str, Any]:
    """The state before any change: statements (SQL, phase, offsets), readers, subjects, counts."""
    from confluent_migration.hooks.flink_sql import FlinkSqlHook
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.hooks.schema_registry import SchemaRegistryHook
    from confluent_migration.migration import observe

    statements = FlinkStatementsHook().list_statements()
    registry, sql = SchemaRegistryHook(), FlinkSqlHook()
    the_plan = plan_of(plan_xcom)
    own = set(the_plan.old_statements) | set(the_plan.new_statements)
    tables = {f.table: f.flink_table for f in the_plan.facts}
    columns = observe.column_counts(sql, list(tables.values()))
    rows = observe.counts(sql, [observe.Count(t) for t in tables.values()])
    state = {
        "statements": [s.snapshot() for s in statements if s.name in own or any(
            observe.writes(s, t) or observe.reads(s, t) for t in tables.values())],
        "readers": observe.readers(statements, tables, own),
        "subjects": observe.subject_states(registry, [subject for f in the_plan.facts for subject in f.subjects]),
        "columns": {name: columns[t] for name, t in tables.items()},
        "rows": {name: rows[observe.Count(t)] for name, t in tables.items()},
    }
    ledger_for(context).record("preflight_state", DONE, task_id=context["ti"].task_id, result=state)
    external = {t: r["external"] for t, r in state["readers"].items() if r["external"]}
    print(f"Readers of the tables: {state['readers']}")
    if external:
        print(f"EXTERNAL consumers (not moved by this DAG; tell their owners): {external}")
    print(f"Columns {state['columns']}, rows {state['rows']}")
    return {"external_readers": external, "rows": state["rows"]}


def capture_baseline(plan_xcom: dict[str, Any], **context: Any) -> dict[str, Any]:
    """The old statements' figures over the criteria's window; the throughput only where they ran
    steadily through it (a statement started in it counts its backfill)."""
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.hooks.metrics import PENDING_RECORDS, ConfluentMetricsHook
    from confluent_migration.migration import observe

    the_plan = plan_of(plan_xcom)
    names, minutes = list(the_plan.old_statements), the_plan.params.criteria.window_minutes
    baseline = observe.measure(names, the_plan.freshness_columns(), window_minutes=minutes)
    found = [s for s in FlinkStatementsHook().list_statements() if s.name in names]  # one listing, not a GET each
    now, window = datetime.now(timezone.utc), timedelta(minutes=minutes)
    reasons = observe.unsteady(found, ConfluentMetricsHook().statement_metric(PENDING_RECORDS, names) if names else {},
                               window, the_plan.params.pending_records_threshold, now,
                               resumed=resumed_since(ledger_base(), now - window - observe.CATCH_UP_ALLOWANCE))
    if reasons and baseline.throughput is not None:
        print(f"Baseline throughput NOT MEASURED (the success criterion will say so): the last {minutes} min are "
              f"no steady rate: {'; '.join(reasons)}. For one, trigger again once the statements have run "
              f"steadily for {minutes} min.")
        baseline = replace(baseline, throughput=None)
    result = baseline.__dict__
    ledger_for(context).record("baseline", DONE, task_id=context["ti"].task_id, result=result)
    print(f"Baseline: {result}")
    return result


def print_plan(plan_xcom: dict[str, Any]) -> None:
    """Every statement, schema and check the run will use, for the log (and the dry run's output)."""
    from confluent_migration.migration.plan_types import StopStartLevel

    the_plan = plan_of(plan_xcom)
    print(f"Plan of option {the_plan.option} for {list(the_plan.tables)}:")
    for key, value in plan_xcom.items():
        if key in ("option", "tables", "facts", "params", "levels"):
            continue
        print(f"  {key}: {value}")
    for n, level in enumerate(the_plan.levels):
        for stop in level.stop if isinstance(level, StopStartLevel) else ():
            print(f"  level {n} stop: {stop.statement_name}")
        for start in level.start:
            print(f"  level {n} start: {start.statement_name} {start.properties}\n{start.sql}")


def changes_allowed(plan_xcom: dict[str, Any]) -> bool:
    if plan_of(plan_xcom).params.dry_run:
        print("Dry run: every check passed; nothing is changed. Trigger again with dry_run off and confirm set.")
        return False
    return True


def preflight(option: str, *, option_flags: Mapping[str, bool] | None = None) -> MigrationRun:
    """Phase 1 (backup and prepare): everything that can be checked or saved before any change."""
    levels = level_slots()
    with TaskGroup("phase_1_backup_and_prepare", tooltip="Checks, state, baseline and backups; changes nothing"):
        the_plan = call("check_params_and_plan", check_params_and_plan, option, dict(option_flags or {}), levels)
        lock = call("acquire_table_lock", acquire_lock, the_plan)
        connections = call("check_connections", check_connections, the_plan)
        state = call("record_current_state", record_state, the_plan)
        baseline = call("capture_baseline_metrics", capture_baseline, the_plan)
        subjects = call("subjects_to_back_up", all_subjects, the_plan)
        backup = BackupSubjectsOperator(task_id="backup_schemas", subjects=subjects, backup_name="{{ run_id }}",
                                        **recorded("schemas_backed_up", ["subjects"]))
        # A dry run skips the recorded backup; the checks after it must run all the same.
        compatible = CheckSchemaCompatibilityOperator.partial(
            task_id="check_v2_schema_compatibility", trigger_rule="none_failed").expand_kwargs(
            planned(the_plan, "check_schemas", batched=True))
        valid = DryRunStatementOperator.partial(
            task_id="validate_v2_pipelines", trigger_rule="none_failed").expand_kwargs(
            planned(the_plan, "validate_queries", batched=True))
        shown = call("print_plan", print_plan, the_plan, trigger_rule="none_failed")
        allowed = call_if("changes_allowed", changes_allowed, the_plan)
        the_plan >> lock >> connections >> [state, baseline] >> backup >> [compatible, valid] >> shown >> allowed
    return MigrationRun(option, the_plan, lock, allowed, levels)


def all_subjects(plan_xcom: dict[str, Any]) -> list[str]:
    return [s for f in plan_of(plan_xcom).facts for s in f.subjects]


# -- the last step: validation -----------------------------------------------------------------------------

def validation_gates(plan_xcom: dict[str, Any], tables_key: str = "final_tables",
                     **context: Any) -> list[dict[str, Any]]:
    """The columns the v2 DDL adds, column counts from the v2 DDL, the manifest's checks of every row,
    parity with the source, statements RUNNING.

    :param tables_key: the plan's field of the tables to check (``final_tables``; option B's backfill
        gates check ``dual_write_tables`` before v1 stops)."""
    from confluent_migration.hooks.flink_sql import FlinkSqlHook
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.migration import observe
    from confluent_migration.migration.criteria import Verdict, failures, judge

    sql, flink = FlinkSqlHook(), FlinkStatementsHook()
    the_plan = plan_of(plan_xcom)
    tolerance = the_plan.params.parity_tolerance
    statements = flink.list_statements()
    tables = {fact.table: getattr(the_plan, tables_key)[fact.table] for fact in the_plan.facts}
    columns = observe.columns_of(sql, list(tables.values()))
    wanted = [c for fact in the_plan.facts for c in _gate_counts(fact, tables[fact.table], columns)]
    counted = observe.counts(sql, wanted)
    verdicts: list[Verdict] = []
    errors = rows = 0
    for fact in the_plan.facts:
        table = tables[fact.table]
        missing = [c for c in fact.added_columns if c not in columns[table]]
        verdicts.append(judge(f"columns the {fact.to_version} DDL adds, missing", table, len(missing), "<=", 0,
                              ", ".join(missing)))
        verdicts.append(judge(f"column count - {fact.to_version} DDL's", table,
                              abs(len(columns[table]) - fact.to_columns), "<=", 0,
                              f"{len(columns[table])} columns, the {fact.to_version} DDL declares {fact.to_columns}"))
        count = counted.get(observe.Count(table))
        checked = observe.violations(table, fact.checks) if fact.checks else None
        if checked in counted:
            bad = counted[checked]
            errors, rows = errors + bad, rows + count
            verdicts.append(judge("rows failing the manifest's checks", table, bad, "<=", 0,
                                  " AND ".join(fact.checks) + " (NULL fails)"))
        if fact.source_table and count is not None:
            keys = counted[observe.distinct_keys(fact.source_table, fact.primary_key)]
            gap = abs(count - keys) / max(keys, 1)
            verdicts.append(judge("row parity gap with source", table, round(gap, 6), "<=", tolerance,
                                  f"{count} rows, {keys} keys in {fact.source_table}"))
        writers = observe.writers_of(statements, table)
        not_running = [f"{s.name}={s.phase}" for s in writers if s.phase != "RUNNING"]
        verdicts.append(judge("writing statements not RUNNING", table, len(not_running) if writers else None, "<=",
                              0, ", ".join(not_running) or ", ".join(s.name for s in writers) or "no writer"))
    result = [v.as_dict() for v in verdicts]
    ledger_for(context).record("gates", DONE, task_id=context["ti"].task_id, result=result,
                               data={"data_errors": [errors, rows]})
    for v in verdicts:
        print(v.line())
    failed = failures(verdicts)
    if failed:
        raise GateError("validation gates failed:\n" + "\n".join(v.line() for v in failed))
    return result


def _gate_counts(fact: TableFacts, table: str, columns: dict[str, list[str]]) -> list[observe.Count]:
    """What the gates count of one table (nothing of a table that does not exist: its columns fail)."""
    from confluent_migration.migration import observe

    if not columns[table]:
        return []
    wanted = [observe.Count(table)]
    if fact.checks and set(fact.to_column_names) <= set(columns[table]):  # checks name target columns only
        wanted.append(observe.violations(table, fact.checks))
    if fact.source_table:
        wanted.append(observe.distinct_keys(fact.source_table, fact.primary_key))
    return wanted


def success_criteria(plan_xcom: dict[str, Any], **context: Any) -> list[dict[str, Any]]:
    """Throughput, latency, error rate and freshness against the baseline (guide's success criteria)."""
    from confluent_migration.migration import observe
    from confluent_migration.migration.criteria import Measurements, failures

    ledger = ledger_for(context)
    baseline = next((s.result for s in ledger.steps(["baseline"])), None)
    gates = next(reversed(ledger.steps(["gates"])), None)  # the last gates: those of the final tables
    data_errors = tuple(gates.data["data_errors"]) if gates else None
    the_plan = plan_of(plan_xcom)
    criteria = the_plan.params.criteria
    after = observe.measure(list(the_plan.new_statements), the_plan.freshness_columns(),
                            window_minutes=criteria.window_minutes, data_errors=data_errors)
    verdicts = criteria.evaluate(Measurements.from_dict(baseline), after)
    result = [v.as_dict() for v in verdicts]
    ledger.record("criteria", DONE, task_id=context["ti"].task_id, result=result, data={"after": after.__dict__})
    for v in verdicts:
        print(v.line())
    failed = failures(verdicts)
    if failed:
        raise GateError("success criteria not met:\n" + "\n".join(v.line() for v in failed))
    return result


def caught_up_and_gated(run: MigrationRun, *, after: Any, statements_key: str = "new_statements",
                        tables_key: str = "final_tables", wait_id: str = "wait_until_caught_up",
                        gates_id: str = "validation_gates") -> Any:
    """Wait until the plan's statements at ``statements_key`` are caught up, then run the validation
    gates on its tables at ``tables_key``; returns the gates task."""
    caught_up = StatementsCaughtUpSensor(
        task_id=wait_id, statement_names=planned(run.plan, statements_key, after=run.head),
        threshold="{{ params.pending_records_threshold }}", poke_interval=poll_seconds(),
        timeout=catch_up_timeout_seconds(), trigger_rule=AFTER_EMPTY_LEVELS)
    gates = call(gates_id, validation_gates, run.plan, tables_key)
    after >> caught_up >> gates
    return gates


def validation(run: MigrationRun, *, after: Any, step: int) -> Any:
    """The last step (validation and testing): caught up, gates, a throughput window, success criteria.

    The criteria compare the new statements' records read per second with the baseline over windows
    of the same length, the new one starting only once they have caught up (a window that held
    their backfill, or time before they ran, would compare nothing like for like).

    :param step: its number in the DAG's runbook (the group is ``phase_<step>_validation``)."""
    with TaskGroup(f"phase_{step}_validation", tooltip="Caught up, data gates, success criteria vs baseline"):
        gates = caught_up_and_gated(run, after=after)
        window = WindowSensor(task_id="throughput_window", minutes="{{ params.criteria_window_minutes }}")
        criteria = call("success_criteria", success_criteria, run.plan)
        gates >> window >> criteria
    return criteria


# -- the close -----------------------------------------------------------------------------------

def summarize(plan_xcom: dict[str, Any], windows: Mapping[str, list[str]] | None = None, **context: Any) -> str:
    """Write and print the run's summary; mark the ledger with the outcome."""
    from confluent_migration.migration.criteria import Verdict, failures
    from confluent_migration.migration.outcome import failed_tasks, what_next
    from confluent_migration.migration.summary import render_plan, render_summary, window_seconds

    the_plan = plan_of(plan_xcom)
    ledger = ledger_for(context)
    steps = ledger.steps()
    kinds = {s.kind for s in steps if s.done}
    gates = [Verdict(**v) for s in steps if s.kind == "gates" for v in s.result]
    criteria = [Verdict(**v) for s in steps if s.kind == "criteria" for v in s.result]
    if the_plan.params.dry_run:
        outcome = "dry run"
    elif "criteria" in kinds and not failures(criteria):  # the criteria are recorded before they fail the task
        outcome = "success"
    else:
        outcome = "failed"
    header = ledger.finish(outcome)
    facts = {}
    for name, (start_kind, end_kind) in (windows or {}).items():
        seconds = window_seconds(steps, start_kind, end_kind) if outcome == "success" else None
        facts[name] = f"{seconds:.1f} s" if seconds is not None else (
            "not reached" if outcome == "success" else f"not measured ({outcome})")
    text = render_summary(header, [s for s in steps if s.kind not in ("gates", "criteria")], gates=gates,
                          criteria=criteria, facts=facts, outcome=outcome)
    if outcome == "dry run":
        state = next((s.result for s in steps if s.kind == "preflight_state" and s.done), None)
        next_step = render_plan(the_plan, state)
    else:
        next_step = "" if outcome == "success" else what_next(the_plan, context["run_id"], failed_tasks(ledger))
    path = ledger.write_report("summary.txt", text + next_step)
    print(text + next_step)
    print(f"Summary written to {path}; roll back with DAG rollback_migration, migration_run={context['run_id']}")
    write_run_report(ledger, header, steps, text + next_step, the_plan)
    if outcome == "failed":
        print(next_step.strip().splitlines()[-1])  # the log's last line says what to do
    return text + next_step


def write_run_report(ledger: Any, header: dict[str, Any], steps: list[Any], summary: str, the_plan: Plan) -> None:
    """The HTML report with charts next to the summary; a report that cannot be drawn is said, not fatal."""
    from confluent_migration.hooks.flink_sql import FlinkSqlHook
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.hooks.metrics import ConfluentMetricsHook
    from confluent_migration.migration import observe
    from confluent_migration.migration.report import render_report, run_statements

    try:
        rows = {}
        if header.get("outcome") != "dry run":
            final = the_plan.final_tables
            counted = observe.counts(FlinkSqlHook(), [observe.Count(f) for f in final.values()])
            rows = {t: counted[observe.Count(flink)] for t, flink in final.items()}
        statements = run_statements(steps)
        progress = observe.progress_since(ConfluentMetricsHook(), statements, datetime.fromisoformat(header["started_at"]))
        environment = FlinkStatementsHook().extra.get("environment_id")
        console = {name: statement_url(environment, name) for name in statements} if environment else {}
        page = render_report(header, steps, summary, rows_after=rows, progress=progress, console=console,
                             writers=the_plan.table_writers())
        print(f"Report with charts: {ledger.write_report(REPORT_FILE, page)}")
    except Exception as exc:  # noqa: BLE001 - the summary above is the record; the charts are a view of it
        print(f"The HTML report could not be written ({exc}); the summary above holds the same figures")


def close(run: MigrationRun, *, after: Any, windows: Mapping[str, list[str]] | None = None) -> None:
    """The summary and the lock release: teardowns, so they run even when a step failed.

    :param windows: facts for the summary: name -> [kind of the first step, kind of the last step done].
    """
    summary = RunSummaryOperator(task_id="summary", python_callable=summarize, op_args=[run.plan, dict(windows or {})])
    release = call("release_table_lock", release_lock, run.plan)
    after >> summary >> release
    summary.as_teardown(setups=run.lock)
    release.as_teardown(setups=run.lock)

