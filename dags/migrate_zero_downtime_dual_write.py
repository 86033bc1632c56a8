"""
# Option B: zero-downtime dual write

An Airflow DAG that migrates the chosen tables (default all, upstream first) to the v2 schema
**alongside** the running v1 pipelines, Confluent's recipe for a stateful change: new `_v2`
tables are filled from the earliest offset while v1 keeps serving, then reads switch and v1 stops.

1. **Backup and prepare** (changes nothing): as option A (params and the confirm word, the APIs,
   the table lock, readers listed, state, baseline, schema backups, v2 pipelines validated). The v2
   schemas are checked against any `<table>_v2-value` subject left from before. A **dry run** (the
   default) stops here.
2. **Create the v2 tables**: `<table>_v2` from the v2 DDL (each recorded as `table_created`).
3. **Dual write and backfill**: each v2 statement starts writing its `_v2` table from the earliest
   offset (the pipelines are stateful), upstream first; `skus_master`'s v2 statement reads the
   `_v2` aggregates. The v1 statements keep running: nothing stops serving.
4. **Backfill gates**: the v2 statements caught up (pending records under the threshold), then on
   each `_v2` table: the columns the v2 DDL adds, column counts, every row meeting the manifest's
   `checks` (here `created_at <= updated_at`; NULL fails), row parity with its source, writers
   RUNNING. All before any v1 pipeline stops.
5. **Switch reads, stop v1 writes**: the project's own downstream statements already read `_v2`.
   Statements outside the project reading the v1 tables are listed; when there are any and the
   param `require_approval` is on (default), a person approves in the UI (Airflow's
   human-in-the-loop `ApprovalOperator`; *Reject* fails the run, then roll it back). With no external
   reader, or `require_approval` off, there is no approval step. Then each v1 statement is
   *stopped* (offsets recorded; not deleted, so rollback can resume it).
6. **Return to the original names** (param `final_names`, default `original`): Kafka topics cannot
   be renamed, so the guide's "drop old tables and rename new ones" becomes: back up each v1 table
   (counts verified), drop it (confirm checked), recreate it with the v2 DDL, and fill it with a
   final v2 statement from the earliest offset (upstream first) while readers still use `_v2`:
   no downtime. Once caught up and gated, readers move back (approval as in step 5), the interim
   `_v2` statements stop and the `_v2` tables are dropped (their rows are in the gated original
   tables). With `final_names=v2` this phase is skipped: consumers read `<table>_v2`, and the v1
   tables and stopped v1 statements stay for rollback.
7. **Validation**: the gates again on the final tables, and the success criteria against the baseline.

Each per-table step (stop, back up, drop, create, start) is mapped over a few batches of the tables
(`CONFLUENT_MIGRATION_BATCHES`, default 4), the tables of a batch side by side, each table its own
step in the ledger: a step costs a few task start-ups, not one per table.

Every change is recorded in the run's ledger; the Airflow DAG `rollback_migration` undoes it: stops the
new statements, drops the tables this run created, recreates dropped v1 tables from their backups,
and resumes the v1 statements (or restarts them from the earliest offset where their table was
recreated).
"""

from __future__ import annotations

# This DAG's operator modules: the DAG processor imports them once, not in each parse (README: Parse time)
import airflow.providers.standard.operators.hitl
import airflow.sdk.bases.sensor

from confluent_migration.migration.building import close, migration_dag, preflight, validation
from confluent_migration.migration.dag_defaults import OPTION_B
from confluent_migration.migration.dual_write import (
    OPTION_PARAMS,
    REQUIRE_APPROVAL,
    backfill_gates,
    create_v2_tables,
    return_to_original_names,
    start_dual_write,
    switch_reads,
)

del airflow  # named above for the DAG processor only

with migration_dag("migrate_zero_downtime_dual_write", doc_md=__doc__, option_params=OPTION_PARAMS,
                   tags=["option-b"]) as dag:
    run = preflight(OPTION_B, option_flags={REQUIRE_APPROVAL: True})
    created = create_v2_tables(run)
    backfilling = start_dual_write(run, after=created)
    gated = backfill_gates(run, after=backfilling)
    switched = switch_reads(run, after=gated)
    returned = return_to_original_names(run, after=switched)
    validated = validation(run, after=returned, step=7)
    close(run, after=validated, windows={"dual write to v1 stopped": ["statement_created", "statement_stopped"],
                                         "first v1 table dropped to _v2 retired": ["table_dropped", "table_retired"]})
