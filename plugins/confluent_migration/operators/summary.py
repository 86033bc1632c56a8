"""The task that sums a run up (a migration's summary, the health check): a
:class:`~confluent_migration.operators.step.StepOperator` that, once the run's HTML report is
written next to its record, pushes the report's address for
:class:`~confluent_migration.links.RunReportLink`."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from confluent_migration.links import REPORT_FILE, REPORT_URL_KEY, RunReportLink, report_url
from confluent_migration.migration.ledger import ledger_for
from confluent_migration.operators.step import StepOperator


class RunSummaryOperator(StepOperator):
    """Runs ``python_callable`` (which writes the summary and the report); the task shows the report's
    link, whether the callable returned or raised."""

    operator_extra_links = (RunReportLink(),)

    def execute(self, context: Context) -> Any:
        try:
            return super().execute(context)
        finally:  # a check that fails (a health breach) links its report too
            if (ledger_for(context).folder / REPORT_FILE).exists():
                context["ti"].xcom_push(key=REPORT_URL_KEY, value=report_url(self.dag_id, context["run_id"]))
