"""
# Rollback of a migration run

Undoes exactly what a migration run recorded in its ledger, in reverse, from whatever point it
reached (also a run that failed half way). `migration_run` names the run (default: the latest
recorded migration). The guide's `git checkout HEAD~1` is not needed: the old SQL is versioned
under `include/sql/v1` and pre-flight recorded each statement's SQL and properties.

1. **Choose the run**: params and the confirm word, the run's steps listed, the tables locked.
   A **dry run** lists what would be undone and stops.
2. **Stop the new pipelines**: each v2 statement the run created is stopped (kept for inspection).
3. **Restore schemas**: the versions the run registered are soft-deleted (the pre-migration schema
   is latest again) and each subject's previous compatibility level comes back. READONLY subjects
   are refused with a clear error.
4. **Restore tables**: tables the run created are dropped and dropped ones recreated from their
   backups (options B and C).
5. **Restart the old pipelines**: each stopped v1 statement is resumed from its savepoint (state
   and offsets intact); one that is gone, or whose table was recreated, starts again from the
   earliest offset with the SQL recorded in pre-flight.
6. **Verify data flow** (planned mode): the old statements RUNNING, caught up, and writing
   records again. **Emergency** mode skips this check to be fast.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG, TaskGroup

from confluent_migration.migration.dag_defaults import RETRIES, TAGS, call, call_if
from confluent_migration.migration.lock import acquire_lock as lock_tables
from confluent_migration.migration.lock import release_lock
from confluent_migration.migration.params import describe_target, flink_target, rollback_params
from confluent_migration.migration.rollback import (
    GROUPS,
    changes_allowed,
    choose_run,
    rollback_summary,
    undo,
    verify_data_flow,
)

with DAG("rollback_migration", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc), catchup=False,
         max_active_runs=1, doc_md=__doc__, tags=[*TAGS, "rollback"], params=rollback_params(),
         description=f"Undoes a migration run in {describe_target(flink_target())}",
         default_args=dict(RETRIES)) as dag:
    with TaskGroup("phase_1_choose_the_run"):
        choice = call("check_params_and_find_run", choose_run)
        lock = call("acquire_table_lock", lock_tables, choice)
        go = call_if("changes_allowed", changes_allowed, choice)
        choice >> lock >> go
    previous = go
    for step, group in enumerate(GROUPS, start=2):
        with TaskGroup(f"phase_{step}_{group}"):
            undone = call(f"undo_{group}", undo, group, choice)
        previous >> undone
        previous = undone
    with TaskGroup(f"phase_{len(GROUPS) + 2}_verify_data_flow"):
        flowing = call("verify_new_changes_flow", verify_data_flow, choice)
    previous >> flowing
    summary = call("summary", rollback_summary, choice)
    release = call("release_table_lock", release_lock, choice)
    flowing >> summary >> release
    summary.as_teardown(setups=lock)
    release.as_teardown(setups=lock)
