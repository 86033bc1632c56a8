"""Option C's dry run with ``dag.test()``; the migration and its rollback run under the real
scheduler in the runtime tier (tests/runtime)."""

from __future__ import annotations

import pytest

from confluent_migration.migration.manifest import load_manifest
from tests.support.world_checks import pipeline_state

pytestmark = pytest.mark.e2e
MANIFEST = load_manifest()


def test_option_c_dry_run_plans_the_ddl_and_changes_nothing(run_project_dag, encarta):
    before = pipeline_state(encarta)
    result = run_project_dag("migrate_maintenance_window_recreate")  # dry_run is the default
    assert result.dag_run.state == "success"
    queries = [q["sql"] for q in result.xcom("phase_1_backup_and_prepare.plan_validate_queries")]
    assert len(queries) == 4 * len(MANIFEST.tables)  # v2 query, v2 DDL, backup DDL, DROP per table
    assert sum(q.startswith("DROP TABLE") for q in queries) == len(MANIFEST.tables)
    assert result.state("phase_2_wait_for_the_window.wait_for_window_start") == "skipped"
    assert result.state("phase_4_table_recreation.drop_tables") == "skipped"
    assert "DRY RUN" in result.xcom("summary")
    assert pipeline_state(encarta) == before
