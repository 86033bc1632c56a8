"""The run's summary task: a ``PythonOperator`` that, once the run's HTML report is written next to its
ledger, pushes the report's address for :class:`~confluent_migration.links.RunReportLink`."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import Context

from confluent_migration.links import REPORT_FILE, REPORT_URL_KEY, RunReportLink, report_url
from confluent_migration.migration.ledger import ledger_for


class RunSummaryOperator(PythonOperator):
    """Runs ``python_callable`` (which writes the summary and the report); the task shows the report's link."""

    operator_extra_links = (RunReportLink(),)

    def execute(self, context: Context) -> Any:
        summary = super().execute(context)
        if (ledger_for(context).folder / REPORT_FILE).exists():
            context["ti"].xcom_push(key=REPORT_URL_KEY, value=report_url(self.dag_id, context["run_id"]))
        return summary
