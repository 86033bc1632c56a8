"""The options' own phases, built from the operators, each change recorded in the ledger as it happens.

Ledger kinds (what rollback undoes, in reverse):

- ``compatibility_set`` (subject; result ``previous``) -> the previous level is restored;
- ``schema_registered`` (subject, schema; result ``version``) -> that version is soft-deleted;
- ``statement_stopped`` (statement_name) -> resumed from its savepoint (or restarted from the
  earliest offset if it was deleted or its table recreated);
- ``statement_created`` (statement_name) -> stopped;
- ``schemas_backed_up`` -> nothing (a backup is kept).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import TaskGroup

from confluent_migration.migration.building import (
    AFTER_EMPTY_LEVELS,
    MigrationRun,
    batch_count,
    in_batches,
    plan_of,
    planned,
    poll_seconds,
)
from confluent_migration.migration.dag_defaults import call
from confluent_migration.migration.ledger import (
    COMPATIBILITY_SET,
    DONE,
    SCHEMA_REGISTERED,
    STARTED,
    STATEMENT_CREATED,
    STATEMENT_STOPPED,
    change_allowed,
    done_items,
    record_step,
    recorded_items,
)
from confluent_migration.errors import StatementFailedError
from confluent_migration.operators.flink import ReplaceStatementOperator, StopStatementOperator, SubmitStatementOperator
from confluent_migration.operators.schema_registry import RegisterSchemaOperator, SetSubjectCompatibilityOperator
from confluent_migration.statements import describe_failure


def stop_statements(run: MigrationRun, task_id: str, *plan_path: Any, kind: str = STATEMENT_STOPPED) -> Any:
    """Stop the statements listed at ``plan_path`` of the plan (mapped over batches of them, each
    statement its own ledger step), offsets recorded; not deleted.

    :param kind: the ledger kind (``statement_stopped``: rollback brings the statement back)."""
    return StopStatementOperator.partial(
        task_id=task_id, poll_interval=poll_seconds(), trigger_rule=AFTER_EMPTY_LEVELS,
        **recorded_items(kind, ["statement_name"])
    ).expand_kwargs(planned(run.plan, *plan_path, after=run.head, batched=True))


def start_v2(run: MigrationRun, level: int, levels_key: str = "levels") -> Any:
    """Start the v2 statements of one dependency level (mapped over batches of them) from the earliest
    offset, each its own ledger step. A killed task leaves what it started running (a table's only
    writer, where its v1 is stopped): a retry adopts it, a rollback stops it (recorded ``started``)."""
    return SubmitStatementOperator.partial(
        task_id=f"level_{level}_start_v2", poll_interval=poll_seconds(), trigger_rule=AFTER_EMPTY_LEVELS,
        stop_on_kill=False,
        **recorded_items(STATEMENT_CREATED, ["statement_name", "sql", "properties"])
    ).expand_kwargs(planned(run.plan, levels_key, level, "start", after=run.head, batched=True))


def start_levels(run: MigrationRun, *, after: Any, levels_key: str = "levels") -> Any:
    """Start the v2 statements level by level, upstream first; returns the last level's task."""
    previous = after
    for n in range(run.levels):
        start = start_v2(run, n, levels_key)
        previous >> start
        previous = start
    return previous


def evolve_schemas(run: MigrationRun) -> Any:
    """Step 2 (Schema Registry updates): FULL_TRANSITIVE on each value subject, then the v2 schema,
    each mapped over batches of subjects (each subject a step of its own in the ledger)."""
    with TaskGroup("phase_2_schema_registry_updates",
                   tooltip="FULL_TRANSITIVE (previous level recorded), then register the v2 value schemas"):
        level = SetSubjectCompatibilityOperator.partial(
            task_id="set_full_transitive", **recorded_items(COMPATIBILITY_SET, ["subject", "level"])
        ).expand_kwargs(planned(run.plan, "set_compatibility", after=run.head, batched=True))
        register = RegisterSchemaOperator.partial(
            task_id="register_v2_schemas", **recorded_items(SCHEMA_REGISTERED, ["subject", "schema"])
        ).expand_kwargs(planned(run.plan, "register_schemas", after=run.head, batched=True))
        run.head >> level >> register
    return register


def upstream_running(plan_xcom: dict[str, Any], level: int) -> list[str]:
    """The v2 statements started at the levels before ``level`` are still RUNNING (DEGRADED warns):
    a level whose upstream v2 failed after it started must not lose its own v1 writer too."""
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook

    levels = plan_of(plan_xcom).levels
    started = [entry.statement_name for earlier in levels[:level] for entry in earlier.start]
    hook = FlinkStatementsHook()
    listed = {s.name: s for s in hook.list_statements()}  # one listing, not a GET per statement
    for name in started:
        statement = listed.get(name) or hook.get_statement(name)  # absent: its 404 names it
        if statement.phase not in ("RUNNING", "DEGRADED"):
            raise StatementFailedError(
                describe_failure(statement, hook.get_exceptions(name) if statement.is_failed else [])
                + f"\nLevel {level}'s v1 statements are not stopped while an upstream v2 statement is "
                  f"{statement.phase}: roll the run back (rollback_migration), fix the cause, migrate again")
    print(f"Upstream v2 statements RUNNING: {started or 'none'}")
    return started


def replace_pipelines(run: MigrationRun, after: Any) -> Any:
    """Step 3 (replace pipelines): per dependency level, each table's v1 statement is stopped (offsets
    recorded, not deleted) and at once its v2 statement started, writing the same table from the
    earliest offset, paired per table and side by side in a few tasks (mapped over batches of the
    level's tables): a table's write gap is its own stop and start, whatever the number of tables.
    A level starts once the level before it is done, and only while the v2 statements upstream of it
    are RUNNING."""
    with TaskGroup("phase_3_replace_pipelines",
                   tooltip="Per table: stop v1 (recording offsets), start v2 from the earliest offset; upstream first"):
        previous = after
        for n in range(run.levels):
            if n:
                check = call(f"level_{n}_upstream_running", upstream_running, run.plan, n,
                             trigger_rule=AFTER_EMPTY_LEVELS)
                previous >> check
                previous = check
            pairs = call(f"plan_level_{n}_replacements", replacement_batches, run.plan, n)
            run.head >> pairs
            replaced = ReplaceStatementOperator.partial(
                task_id=f"level_{n}_replace_v1", poll_interval=poll_seconds(), trigger_rule=AFTER_EMPTY_LEVELS,
                **REPLACEMENT_RECORDS,
            ).expand_kwargs(pairs)
            previous >> replaced
            previous = replaced
    return previous


def replacements(plan_xcom: dict[str, Any], level: int) -> list[dict[str, Any]]:
    """Each table of a level as the arguments of its replacement: the v1 statement, the v2 one."""
    from confluent_migration.migration.plan_types import InPlacePlan

    entries = InPlacePlan.from_xcom(plan_xcom).levels[level]
    return [{"replaces": stop.statement_name, "statement_name": start.statement_name,
             "sql": start.sql, "properties": start.properties}
            for stop, start in zip(entries.stop, entries.start, strict=True)]


def replacement_batches(plan_xcom: dict[str, Any], level: int) -> list[dict[str, Any]]:
    """A level's replacements in batches (:func:`in_batches`), one mapped task each."""
    return in_batches(replacements(plan_xcom, level), batch_count())


# A replacement's ledger, per table (its index in the level's list), in the order it acts: the v1
# stop started, done (its offsets) once STOPPED, the v2 create started at once, done once RUNNING.
# Rollback undoes them in reverse. A retried task adopts the tables whose create is done.
CREATED_FIELDS = ("statement_name", "sql", "properties")


def _created(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item.get(name) for name in CREATED_FIELDS}


def record_stop_started(context: Any, index: int, item: dict[str, Any]) -> None:
    record_step(context, STATEMENT_STOPPED, STARTED, {"statement_name": item["replaces"]}, map_index=index)


def record_stop_then_create(context: Any, offsets: dict[str, Any], *, index: int, item: dict[str, Any]) -> None:
    record_step(context, STATEMENT_STOPPED, DONE, {"statement_name": item["replaces"]}, offsets, map_index=index)
    record_step(context, STATEMENT_CREATED, STARTED, _created(item), map_index=index)


def record_created(context: Any, index: int, item: dict[str, Any], result: Any) -> None:
    record_step(context, STATEMENT_CREATED, DONE, _created(item), result, map_index=index)


REPLACEMENT_RECORDS: dict[str, Any] = {
    "pre_execute": change_allowed, "before_item": record_stop_started, "on_stopped": record_stop_then_create,
    "after_item": record_created,
    "done_items": done_items(STATEMENT_CREATED, ["statement_name"])}  # a create done: the table is replaced
