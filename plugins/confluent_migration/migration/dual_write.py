"""Option B (zero-downtime dual write): its plan and its own phases, each change recorded in the ledger.

The v2 pipelines write new ``<table>_v2`` tables from the earliest offset while the v1 pipelines
keep running (Confluent's recipe for a stateful change); after the gates, reads switch to the
``_v2`` tables and the v1 statements are stopped (not deleted: rollback resumes them). With
``final_names=original`` (the default) the run then returns to the original names, since Kafka
topics cannot be renamed: each v1 table is backed up (counts verified), dropped and recreated with
the v2 DDL, a final v2 statement fills it from the earliest offset while readers still use
``_v2``, the gates pass on it, readers move back, and the interim ``_v2`` statements and tables
are retired.

Ledger kinds: ``table_created`` (statement_name, sql, table) -> the table is dropped;
``statement_created`` -> stopped; ``statement_stopped`` -> resumed, or restarted from the earliest
offset when its table was recreated; ``table_backed_up``/``table_dropped`` -> the v1 table is
recreated and refilled from its backup (``rollback.py``). ``statement_retired`` and
``table_retired`` (the interim ``_v2`` writers and tables) need no undo: rollback stops every
statement the run created and drops every table it created.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from airflow.sdk import Param, TaskGroup

from confluent_migration.migration.building import MigrationRun, caught_up_and_gated, planned, poll_seconds
from confluent_migration.migration.dag_defaults import call, call_if
from confluent_migration.migration.ledger import DONE, TABLE_CREATED, ledger_for, recorded_items
from confluent_migration.migration.options import start_levels, stop_statements
from confluent_migration.migration.params import FINAL_NAMES_ORIGINAL, FINAL_NAMES_V2
from confluent_migration.migration.recreate import recreate_tables
from confluent_migration.operators.approval import RejectableApprovalOperator
from confluent_migration.operators.flink import SubmitStatementOperator
from confluent_migration.statements import COMPLETED

STATEMENT_RETIRED, TABLE_RETIRED = "statement_retired", "table_retired"
REQUIRE_APPROVAL = "require_approval"

OPTION_PARAMS = {
    REQUIRE_APPROVAL: Param(True, type="boolean", title="Require approval to switch reads",
                            description="When statements outside this project read the tables, a person approves "
                                        "in the UI before the v1 pipelines stop. Off: no approval step."),
    "final_names": Param(FINAL_NAMES_ORIGINAL, type="string", enum=[FINAL_NAMES_ORIGINAL, FINAL_NAMES_V2],
                         title="Final table names",
                         description="original: readers keep their table names; each v1 table is backed up, "
                                     "dropped and recreated with the v2 schema after dual write, then readers "
                                     "move back and the _v2 tables are retired. v2: the migrated tables keep "
                                     "their _v2 names; v1 tables and stopped pipelines are kept for rollback."),
}


class LeftoverTableError(RuntimeError):
    """A ``_v2`` table exists before the run creates it; the message names it and what to do."""


def check_v2_tables_absent(plan_xcom: dict[str, Any]) -> list[str]:
    """No ``_v2`` table exists yet, so each ``table_created`` step is a table this run made (and
    rollback may drop it); the DDL's ``IF NOT EXISTS`` would otherwise adopt a leftover silently."""
    from confluent_migration.hooks.flink_sql import FlinkSqlHook
    from confluent_migration.migration import observe
    from confluent_migration.migration.plan_types import OptionBPlan

    sql = FlinkSqlHook()
    tables = [c.table for c in OptionBPlan.from_xcom(plan_xcom).creates]
    leftovers = [t for t, columns in observe.columns_of(sql, tables).items() if columns]
    if leftovers:
        raise LeftoverTableError(f"{leftovers} exist already (left by an earlier option B run?): roll that run back "
                                 "with rollback_migration, or drop them by hand after checking nobody reads them")
    return tables


def create_v2_tables(run: MigrationRun) -> Any:
    """Step 2 (create the v2 tables): ``<table>_v2`` from the v2 DDL; each recorded for rollback."""
    with TaskGroup("phase_2_create_v2_tables", tooltip="CREATE TABLE <table>_v2 with the v2 DDL"):
        absent = call("check_v2_tables_absent", check_v2_tables_absent, run.plan)
        created = SubmitStatementOperator.partial(
            task_id="create_v2_tables", target_phase="COMPLETED", poll_interval=poll_seconds(),
            **recorded_items(TABLE_CREATED, ["statement_name", "sql", "table"])
        ).expand_kwargs(planned(run.plan, "creates", after=run.head, batched=True))
        run.head >> absent >> created
    return created


def start_dual_write(run: MigrationRun, after: Any) -> Any:
    """Step 3 (dual write and backfill): per dependency level, start each v2 statement writing its
    ``_v2`` table from the earliest offset, while the v1 statements keep writing the old tables."""
    with TaskGroup("phase_3_dual_write_backfill",
                   tooltip="v2 statements write the _v2 tables from the earliest offset; v1 keeps running"):
        return start_levels(run, after=after)


def backfill_gates(run: MigrationRun, after: Any) -> Any:
    """Step 4 (backfill gates): the v2 statements caught up, then parity and timestamp gates on the
    ``_v2`` tables, before anything stops (the full validation runs again once v1 is stopped)."""
    with TaskGroup("phase_4_backfill_gates", tooltip="v2 caught up; parity and timestamps of the _v2 tables"):
        return caught_up_and_gated(run, after=after, statements_key="dual_write_statements",
                                   tables_key="dual_write_tables", wait_id="wait_until_backfill_caught_up",
                                   gates_id="parity_and_timestamp_gates")


def list_external_readers(plan_xcom: dict[str, Any], source_key: str, target_key: str,
                          **context: Any) -> dict[str, list[str]]:
    """The live statements reading the tables of the plan's field ``source_key`` that are not this
    project's: their owners move them to the tables of ``target_key`` by hand."""
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.migration import observe
    from confluent_migration.migration.plan_types import OptionBPlan

    the_plan = OptionBPlan.from_xcom(plan_xcom)
    sources, targets = getattr(the_plan, source_key), getattr(the_plan, target_key)
    own = set(the_plan.old_statements) | set(the_plan.new_statements) | set(the_plan.dual_write_statements)
    found = observe.readers(FlinkStatementsHook().list_statements(), sources, own)
    external = {t: r["external"] for t, r in found.items() if r["external"]}
    ledger_for(context).record(f"readers_moved_to_{target_key}", DONE, task_id=context["ti"].task_id,
                               result={"readers": found, "external": external})
    print(f"The project's own downstream statements read {list(targets.values())}")
    if external:
        print("EXTERNAL consumers still read the old tables; move them: "
              + "; ".join(f"{t} -> {targets[t]}: {', '.join(names)}" for t, names in external.items()))
    else:
        print(f"No external consumer reads {list(sources.values())}")
    return external


def approval_needed(external: dict[str, list[str]], **context: Any) -> bool:
    if not external:
        print("No external reader: nothing to approve")
        return False
    if not context["params"].get(REQUIRE_APPROVAL, True):
        print(f"{REQUIRE_APPROVAL} is off: the old writers stop without approval; external readers: {external}")
        return False
    return True


def move_readers(run: MigrationRun, *, after: Any, source_key: str, target_key: str, subject: str) -> tuple[Any, Any]:
    """List the external readers of ``source_key``'s tables, ask for approval when there are any
    (and ``require_approval`` is on); returns (listing, approval): the old writers stop after both."""
    external = call("list_external_readers", list_external_readers, run.plan, source_key, target_key)
    needed = call_if("approval_needed", approval_needed, external)
    approve = RejectableApprovalOperator(
        task_id="approve_switch_of_readers", subject=subject,
        body="External statements read the old tables: {{ ti.xcom_pull(task_ids='" + external.operator.task_id
             + "') }}. Move them to the new tables, then approve. Reject fails the run; "
             "roll it back with rollback_migration.")
    after >> external >> needed >> approve
    return external, approve


def switch_reads(run: MigrationRun, after: Any) -> Any:
    """Step 5 (switch reads, stop v1 writes): list external readers, approval when there are any,
    then stop each v1 statement (offsets recorded; not deleted, so rollback resumes it)."""
    with TaskGroup("phase_5_switch_reads_stop_v1",
                   tooltip="External readers listed and approved; v1 statements stopped (not deleted)"):
        listed, approved = move_readers(run, after=after, source_key="v1_tables",
                                        target_key="dual_write_tables",
                                        subject="Switch reads to the _v2 tables and stop the v1 pipelines?")
        stop = stop_statements(run, "stop_v1", "stop_v1")
        [listed, approved] >> stop
    return stop


def original_names_chosen(plan_xcom: dict[str, Any]) -> bool:
    from confluent_migration.migration.plan_types import OptionBPlan

    final_names = OptionBPlan.from_xcom(plan_xcom).final_names
    if final_names != FINAL_NAMES_ORIGINAL:
        print(f"final_names={final_names}: the _v2 tables are final; v1 tables and statements are kept for rollback")
        return False
    return True


def retire_dual_write(run: MigrationRun, *, after: Any) -> Any:
    """Readers back to the original names (approval when external ones exist), then the interim
    ``_v2`` statements stopped and their tables dropped: the final tables passed the same gates."""
    with TaskGroup("move_readers_back", tooltip="Readers back to the original names; _v2 writers and tables retired"):
        listed, approved = move_readers(run, after=after, source_key="dual_write_tables",
                                        target_key="final_tables",
                                        subject="Move reads back to the original tables and retire the _v2 tables?")
        stop = stop_statements(run, "stop_dual_write", "retire_statements", kind=STATEMENT_RETIRED)
        drop = SubmitStatementOperator.partial(
            task_id="drop_v2_tables", target_phase=COMPLETED, poll_interval=poll_seconds(),
            **recorded_items(TABLE_RETIRED, ["statement_name", "sql", "table"])
        ).expand_kwargs(planned(run.plan, "retire_tables", after=run.head, batched=True))
        [listed, approved] >> stop >> drop
    return drop


def return_to_original_names(run: MigrationRun, after: Any) -> Any:
    """Step 6 (``final_names=original``; skipped for ``v2``): recreate each v1 table with the v2
    DDL behind a verified backup, fill it with its final v2 statement from the earliest offset
    (upstream first) while readers use ``_v2``, gate it, move readers back, retire ``_v2``."""
    with TaskGroup("phase_6_return_to_original_names",
                   tooltip="Back up, drop, recreate the original tables with v2; fill them; readers back"):
        chosen = call_if("original_names_chosen", original_names_chosen, run.plan)
        after >> chosen
        back = replace(run, head=chosen)
        recreated = recreate_tables(back, "recreate_original_tables", after=chosen)
        with TaskGroup("fill_original_tables", tooltip="Final v2 statements from the earliest offset, upstream first"):
            filled = start_levels(back, after=recreated, levels_key="return_levels")
            gates = caught_up_and_gated(back, after=filled, gates_id="original_tables_gates")
        return retire_dual_write(back, after=gates)
