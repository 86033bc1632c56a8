"""Registers the console and report links with Airflow so the UI can show them for serialized DAGs,
and serves the runs' HTML reports from the API server (``fastapi_apps``)."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from confluent_migration import run_notes
from confluent_migration.links import REPORTS_PREFIX, ConfluentStatementLink, RunReportLink, SchemaRegistrySubjectLink


async def reports_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``report_server.app``, imported on the first request: every Airflow process loads plugins (task
    processes too), only the API server serves them."""
    from confluent_migration.report_server import app

    await app(scope, receive, send)


class ConfluentMigrationPlugin(AirflowPlugin):
    name = "confluent_migration"
    operator_extra_links = [ConfluentStatementLink(), SchemaRegistrySubjectLink(), RunReportLink()]
    listeners = [run_notes]  # marks dry runs with a run note
    fastapi_apps = [{"name": "Confluent migration run reports", "app": reports_app, "url_prefix": REPORTS_PREFIX}]
