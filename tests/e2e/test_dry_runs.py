"""Dry runs of the three options, and a changing run refused before anything changes, with
``dag.test()`` on one world that none of them may change (its state is compared before and after
each). The real runs (every option, its rollback) run under the real scheduler in the runtime tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from confluent_migration.migration.manifest import load_manifest
from tests.e2e.conftest import encarta_world
from tests.support.sandbox_fixtures import RunningSandbox
from tests.support.world_checks import pipeline_state

pytestmark = pytest.mark.e2e
MANIFEST = load_manifest()


@pytest.fixture(scope="module")
def encarta(tmp_path_factory) -> Iterator[RunningSandbox]:
    """The module's one world: every test here must leave it as it found it."""
    with pytest.MonkeyPatch.context() as patch, encarta_world(tmp_path_factory.mktemp("dry-runs"), patch) as sandbox:
        yield sandbox


def test_a_dry_run_validates_everything_and_changes_nothing(run_project_dag, encarta):
    before = pipeline_state(encarta)
    result = run_project_dag("migrate_schema_registry_evolution")  # dry_run is the default
    assert result.dag_run.state == "success"
    assert result.state("phase_2_schema_registry_updates.set_full_transitive") == "skipped"
    validated = [ti for ti in result.dag_run.get_task_instances()
                 if ti.task_id == "phase_1_backup_and_prepare.validate_v2_pipelines"]
    assert validated and {ti.state for ti in validated} == {"success"}, "the dry run must validate every statement"
    assert result.state("phase_1_backup_and_prepare.print_plan") == "success"
    summary = result.xcom("summary")
    assert "DRY RUN" in summary and "PLAN (option A" in summary and "expected write gap" in summary, summary
    assert pipeline_state(encarta) == before


def test_a_changing_run_without_confirm_fails_before_anything_changes(run_project_dag, encarta):
    before = pipeline_state(encarta)
    result = run_project_dag("migrate_schema_registry_evolution", dry_run=False, confirm="prod")
    assert result.dag_run.state == "failed"
    assert result.state("phase_1_backup_and_prepare.check_params_and_plan") == "failed"
    assert pipeline_state(encarta) == before


def test_option_b_dry_run_changes_nothing(run_project_dag, encarta):
    before = pipeline_state(encarta)
    dry = run_project_dag("migrate_zero_downtime_dual_write")  # dry_run is the default
    assert dry.dag_run.state == "success"
    assert dry.state("phase_2_create_v2_tables.create_v2_tables") == "skipped"
    assert dry.state("phase_6_return_to_original_names.recreate_original_tables.drop_tables") == "skipped"
    assert "DRY RUN" in dry.xcom("summary")
    assert pipeline_state(encarta) == before


def test_option_c_dry_run_plans_the_ddl_and_changes_nothing(run_project_dag, encarta):
    before = pipeline_state(encarta)
    result = run_project_dag("migrate_maintenance_window_recreate")  # dry_run is the default
    assert result.dag_run.state == "success"
    queries = [q["sql"] for batch in result.xcom("phase_1_backup_and_prepare.plan_validate_queries_batches")
               for q in batch["items"]]
    assert len(queries) == 4 * len(MANIFEST.tables)  # v2 query, v2 DDL, backup DDL, DROP per table
    assert sum(q.startswith("DROP TABLE") for q in queries) == len(MANIFEST.tables)
    assert result.state("phase_2_wait_for_the_window.wait_for_window_start") == "skipped"
    assert result.state("phase_4_table_recreation.drop_tables") == "skipped"
    assert "DRY RUN" in result.xcom("summary")
    assert pipeline_state(encarta) == before
