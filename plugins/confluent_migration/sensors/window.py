"""The throughput window: wait a templated number of minutes, in the triggerer.

Airflow's ``WaitSensor`` does the same, but its module (with ``deprecated`` and ``wrapt``) is imported
by every parse of a DAG file that uses it, about 10 ms of a task run's (README: Parse time); this
one imports its trigger when it runs. Its trigger does not end the task: the task resumes in
``execute_complete``, so ``dag.test()``, which runs triggers inline, runs it as the scheduler does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, Context


class WindowSensor(BaseSensorOperator):
    """Succeed ``minutes`` after the task starts (a retry waits the whole window again).

    :param minutes: the window's length in minutes (templated, e.g. ``{{ params.criteria_window_minutes }}``).
    :param deferrable: wait in the triggerer, holding no worker slot (default True); else sleep.
    """

    template_fields: Sequence[str] = ("minutes",)

    def __init__(self, *, minutes: str | float, deferrable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minutes = minutes
        self.deferrable = deferrable

    def execute(self, context: Context) -> None:
        window = timedelta(minutes=float(self.minutes))
        self.log.info("Waiting %s (a %s-minute window)", window, self.minutes)
        if not self.deferrable:
            time.sleep(window.total_seconds())
            return
        from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

        self.defer(trigger=TimeDeltaTrigger(window), method_name="execute_complete")

    def execute_complete(self, context: Context, event: Any = None) -> None:
        self.log.info("The %s-minute window has passed", self.minutes)
