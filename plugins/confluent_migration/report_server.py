"""The runs' HTML reports served by Airflow's own API server (an Airflow 3 plugin's FastAPI app).

``GET {REPORTS_PREFIX}/{dag_id}/{run_id}`` answers the ``report.html`` a migration run wrote next to
its ledger, to a caller Airflow lets read that DAG's runs (the UI's session cookie or a bearer
token, checked as Airflow's REST API checks them). The run's ``summary`` task links to it.
"""

from __future__ import annotations

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse

from confluent_migration.links import REPORT_FILE
from confluent_migration.migration.ledger import Ledger, ledger_base

can_read_runs = requires_access_dag("GET", DagAccessEntity.RUN)
app = FastAPI(title="Confluent migration run reports")


@app.get("/{dag_id}/{run_id}", response_class=HTMLResponse, dependencies=[Depends(can_read_runs)])
def run_report(dag_id: str, run_id: str) -> HTMLResponse:
    """The report of run ``run_id`` of DAG ``dag_id``; 404 naming where it was looked for."""
    ledger = Ledger(ledger_base(), run_id)
    path = ledger.folder / REPORT_FILE
    if not (ledger.exists() and ledger.header().get("dag_id") == dag_id and path.exists()):
        raise HTTPException(404, f"No report of {dag_id} run {run_id} at {path} (written by the run's summary "
                                 "task; check the ledger location CONFLUENT_MIGRATION_LEDGER)")
    return HTMLResponse(path.read_text())
