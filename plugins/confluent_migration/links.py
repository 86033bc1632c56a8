"""Extra links from a task to the Confluent Cloud console (the statement and the subject it touched)
and from a run's summary to its HTML report, served by this package's plugin.

The operator pushes the URL to XCom when it knows the statement or subject; the link reads it back
(as the dbt Cloud provider does), so a task that never reached Confluent shows no link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from airflow.configuration import conf

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

CONSOLE = "https://confluent.cloud/environments"
STATEMENT_URL_KEY = "confluent_statement_url"
SUBJECT_URL_KEY = "confluent_subject_url"
REPORT_URL_KEY = "migration_report_url"
REPORTS_PREFIX = "/confluent-migration/reports"  # where the plugin mounts report_server.app
REPORT_FILE = "report.html"
# A mapped task is shown by what it acts on (its table, statement or subject), not by its index.
MAP_LABEL = "{{ task.map_label }}"


def statement_url(environment_id: str, statement_name: str) -> str:
    return f"{CONSOLE}/{environment_id}/flink/statements/{statement_name}/activity"


def subject_url(environment_id: str, subject: str) -> str:
    return f"{CONSOLE}/{environment_id}/stream-governance/schema-registry/data-contracts/{quote(subject, safe='')}"


def report_url(dag_id: str, run_id: str) -> str:
    """The run's report in the Airflow UI's own server, under the path of ``[api] base_url``."""
    base = urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")
    return f"{base}{REPORTS_PREFIX}/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"


class _XComUrlLink(BaseOperatorLink):
    xcom_key: str

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return XCom.get_value(key=self.xcom_key, ti_key=ti_key) or ""


class ConfluentStatementLink(_XComUrlLink):
    """The Flink statement of this task in the Confluent Cloud console."""

    name = "Confluent Flink statement"
    xcom_key = STATEMENT_URL_KEY


class SchemaRegistrySubjectLink(_XComUrlLink):
    """The Schema Registry subject of this task in the Confluent Cloud console."""

    name = "Confluent Schema Registry subject"
    xcom_key = SUBJECT_URL_KEY


class RunReportLink(_XComUrlLink):
    """The run's HTML report (charts of rows, write gaps, throughput) served by the plugin."""

    name = "Migration report"
    xcom_key = REPORT_URL_KEY
