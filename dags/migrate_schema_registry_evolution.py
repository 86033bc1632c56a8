"""
# Option A: Schema Registry evolution

Migrates the chosen tables (default all, upstream first) to the v2 schema **in place**: the tables
keep their names and topics; consumers change nothing.

1. **Backup and prepare** (changes nothing): params and the confirm word, the three APIs answer, a
   lock on the tables held across DAGs, readers of the tables listed (external ones flagged),
   statements/subjects/columns/rows recorded, baseline metrics, subjects backed up and read back,
   v2 schemas checked under FULL_TRANSITIVE (offline and by the registry), v2 pipelines validated
   with `sql.dry-run` (both mapped over a few batches of tables, each batch's calls made at
   once). A **dry run** (the default) stops here.
2. **Schema Registry updates**: each value subject set to FULL_TRANSITIVE (the previous level is
   recorded; Confluent Cloud's default is BACKWARD), then its v2 schema registered.
3. **Replace pipelines**: a running statement keeps the schema it was created with, so each v1
   statement is *stopped* (offsets recorded; not deleted, so rollback can resume it) and a v2
   statement writing the same table starts from the earliest offset: the pipelines are stateful,
   and reprocessing rewrites every row with a real `updated_at` instead of the schema default.
   Each table's stop and start are paired (`level_<n>_replace_v1`, mapped over batches of the
   level's tables, the tables of a batch side by side), so its write gap does not wait for other
   tables; a level waits for the level it reads.
4. **Validation**: caught up (pending records under the threshold), the columns the v2 DDL adds,
   column counts equal the v2 DDL's, every row meeting the manifest's `checks` (here
   `created_at <= updated_at`; NULL fails), row parity with the source, statements RUNNING;
   success criteria against the baseline. A summary closes every run.

Every change is recorded in the run's ledger as it happens; the Airflow DAG `rollback_migration` undoes it.
"""

from __future__ import annotations

# This DAG's operator modules: the DAG processor imports them once, not in each parse (README: Parse time)
import airflow.sdk.bases.sensor

from confluent_migration.migration.building import close, migration_dag, preflight, validation
from confluent_migration.migration.dag_defaults import OPTION_A
from confluent_migration.migration.options import evolve_schemas, replace_pipelines

del airflow  # named above for the DAG processor only

with migration_dag("migrate_schema_registry_evolution", doc_md=__doc__, tags=["option-a"]) as dag:
    run = preflight(OPTION_A)
    registered = evolve_schemas(run)
    replaced = replace_pipelines(run, after=registered)
    validated = validation(run, after=replaced, step=4)
    close(run, after=validated, windows={"v1 stopped to v2 caught up": ["statement_stopped", "statement_created"]})
