"""Option B's (zero-downtime dual write) dry run, with ``dag.test()``. Its real runs (both
``final_names``, both approvals, the rollbacks) run under the real scheduler in the runtime tier."""

from __future__ import annotations

import pytest

from tests.support.world_checks import pipeline_state

pytestmark = pytest.mark.e2e


def test_option_b_dry_run_changes_nothing(run_project_dag, encarta):
    before = pipeline_state(encarta)
    dry = run_project_dag("migrate_zero_downtime_dual_write")  # dry_run is the default
    assert dry.dag_run.state == "success"
    assert dry.state("phase_2_create_v2_tables.create_v2_tables") == "skipped"
    assert dry.state("phase_6_return_to_original_names.recreate_original_tables.drop_tables") == "skipped"
    assert "DRY RUN" in dry.xcom("summary")
    assert pipeline_state(encarta) == before
