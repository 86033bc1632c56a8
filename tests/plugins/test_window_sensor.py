"""The throughput window (``WindowSensor``): it waits its templated minutes, deferred to the
triggerer (``dag.test()`` runs the trigger inline, then the task resumes) or asleep in its task."""

from __future__ import annotations

import time

import pytest


@pytest.mark.parametrize("deferrable", [True, False])
def test_the_window_waits_its_templated_minutes_then_succeeds(run_dag, deferrable):
    from confluent_migration.sensors.window import WindowSensor

    started = time.monotonic()
    result = run_dag(lambda: WindowSensor(task_id="window", minutes="{{ 0.01 * 2 }}", deferrable=deferrable))
    waited = time.monotonic() - started
    assert result.state("window") == "success", result.why()
    assert waited >= 1.2  # 0.02 minutes
    assert "Waiting 0:00:01.200000 (a 0.02-minute window)" in result.output
    assert ("The 0.02-minute window has passed" in result.output) is deferrable
