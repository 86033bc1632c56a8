"""The report server as the API server mounts it (the plugin's ``fastapi_apps`` entry), over HTTP with
Airflow's own auth manager: who may read a run's report, and what a missing one says; and the summary
task that links to it."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from confluent_migration.links import REPORT_FILE, REPORT_URL_KEY, report_url
from confluent_migration.migration.ledger import Ledger, ledger_base, ledger_for
from confluent_migration.operators.summary import RunSummaryOperator
from confluent_migration.plugin import ConfluentMigrationPlugin

DAG_ID = "migrate_schema_registry_evolution"
RUN_ID = "manual__2026-11-01T10:00:00+00:00"
PAGE = "<html><body><h1>report</h1><svg></svg></body></html>"


@pytest.fixture
def client(airflow_db, tmp_path, monkeypatch) -> TestClient:
    """The plugin's app mounted at its prefix, as Airflow's ``init_plugins`` mounts it; one run with a report."""
    monkeypatch.setenv("CONFLUENT_MIGRATION_LEDGER", f"file://{tmp_path}/ledger")
    ledger = Ledger(ledger_base(), RUN_ID)
    ledger.start(dag_id=DAG_ID, option="A", tables=["skus_master"], params={"dry_run": False})
    ledger.write_report(REPORT_FILE, PAGE)
    api = FastAPI()
    for entry in ConfluentMigrationPlugin.fastapi_apps:
        api.mount(entry["url_prefix"], entry["app"])
    return TestClient(api)


def token(role: str | None) -> dict[str, str]:
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    jwt = create_auth_manager().generate_jwt(SimpleAuthManagerUser(username="someone", role=role))
    return {"Authorization": f"Bearer {jwt}"}


def test_a_viewer_reads_the_report_of_a_run_at_its_link(client):
    response = client.get(report_url(DAG_ID, RUN_ID), headers=token("VIEWER"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == PAGE


def test_the_ui_session_cookie_is_enough(client):
    client.cookies.set("_token", token("VIEWER")["Authorization"].removeprefix("Bearer "))
    assert client.get(report_url(DAG_ID, RUN_ID)).text == PAGE


@pytest.mark.parametrize(("headers", "status"), [({}, 401), ("no role", 403)])
def test_nobody_else_reads_it(client, headers, status):
    headers = token(None) if headers == "no role" else headers
    assert client.get(report_url(DAG_ID, RUN_ID), headers=headers).status_code == status


@pytest.mark.parametrize(("dag_id", "run_id"), [(DAG_ID, "manual__never"), ("rollback_migration", RUN_ID)])
def test_a_run_without_a_report_is_a_404_saying_where_it_looked(client, dag_id, run_id):
    response = client.get(report_url(dag_id, run_id), headers=token("VIEWER"))
    assert response.status_code == 404
    assert "CONFLUENT_MIGRATION_LEDGER" in response.json()["detail"] and run_id in response.json()["detail"]


def summarize(report: bool, **context) -> str:
    if report:
        ledger_for(context).write_report(REPORT_FILE, PAGE)
    return "the summary"


@pytest.mark.parametrize("report", [True, False])
def test_the_summary_task_links_to_its_report_once_written(run_dag, tmp_path, monkeypatch, report):
    monkeypatch.setenv("CONFLUENT_MIGRATION_LEDGER", f"file://{tmp_path}/ledger")
    result = run_dag(lambda: RunSummaryOperator(task_id="summary", python_callable=summarize, op_args=[report]))
    assert result.state("summary") == "success"
    assert result.xcom("summary") == "the summary"
    want = report_url(result.dag_run.dag_id, result.dag_run.run_id) if report else None
    assert (result.xcom("summary", key=REPORT_URL_KEY) or None) == want  # the link is stored as '' when none
