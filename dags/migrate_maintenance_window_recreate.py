"""
# Option C: table recreation in a maintenance window

Migrates the chosen tables (default all) to the v2 schema by **recreating** them: same names,
new topics and subjects; the pipelines are down from the first stop until the v2 pipelines have
caught up, and the summary reports that window's length.

1. **Backup and prepare** (changes nothing): everything that can be checked before stopping, as in
   option A: params and the confirm word, the three APIs, a lock on the tables held across DAGs,
   readers listed, statements/subjects/columns/rows recorded, baseline metrics, subjects backed up,
   v2 schemas checked, and the v2 DDL, v2 pipelines, backup DDL and DROP validated with
   `sql.dry-run`. A **dry run** (the default) stops here.
2. **Wait for the window**: with `window_start` set (ISO 8601 with a time zone), a deferrable wait
   (no worker slot held) until it opens; empty starts at once.
3. **Stop pipelines**, downstream first (`skus_master` before the aggregates it reads), so no
   running statement reads from a stopped producer; offsets recorded.
4. **Table recreation**: each table backed up into `<table>_backup_<run hash>` (its v1 DDL, then a
   bounded snapshot `INSERT ... SELECT`; row counts must be equal), dropped only after its backup is
   verified and `confirm` matched, then created with the v2 DDL.
5. **Start the v2 pipelines**, upstream first, from the earliest offset (every row rebuilt with
   real timestamps).
6. **Validation**: caught up, gates, success criteria; the summary gives the window's length.

Each per-table step (stop, back up, drop, create, start) is mapped over a few batches of the tables
(`CONFLUENT_MIGRATION_BATCHES`, default 4), the tables of a batch side by side, each table its own
step in the ledger: a step costs a few task start-ups, not one per table.

Every change is recorded in the run's ledger as it happens; the Airflow DAG `rollback_migration`
undoes it (drops the v2 tables, recreates the v1 tables from their backups, starts the v1 pipelines
again from the earliest offset).
"""

from __future__ import annotations

# This DAG's operator modules: the DAG processor imports them once, not in each parse (README: Parse time)
import airflow.providers.standard.sensors.date_time
import airflow.sdk.bases.sensor
from airflow.sdk import Param

from confluent_migration.migration.building import close, migration_dag, preflight, validation
from confluent_migration.migration.dag_defaults import OPTION_C
from confluent_migration.migration.params import OPTIONAL_STRING
from confluent_migration.migration.recreate import maintenance_window

del airflow  # named above for the DAG processor only

WINDOW_START = Param(None, type=OPTIONAL_STRING, title="Window start",
                     description="When the maintenance window opens (ISO 8601 with a time zone, e.g. "
                                 "2026-01-31T22:00:00+00:00); empty: at once. Checks run before the wait.")

with migration_dag("migrate_maintenance_window_recreate", doc_md=__doc__, tags=["option-c"],
                   option_params={"window_start": WINDOW_START}) as dag:
    run = preflight(OPTION_C)
    started = maintenance_window(run)
    validated = validation(run, after=started, step=6)
    close(run, after=validated, windows={"maintenance window (first v1 stop to v2 caught up and gates checked)":
                                         ["statement_stopped", "gates"]})
