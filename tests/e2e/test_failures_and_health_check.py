"""A run failing half way is rolled back cleanly; the health check alerts, and fails when it cannot."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest

from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.links import REPORT_FILE, REPORT_URL_KEY, report_url
from confluent_migration.migration.ledger import Ledger, ledger_base, run_ids
from confluent_migration.migration.manifest import load_manifest
from confluent_migration.statements import statement_name
from sandbox.alert_receiver import CONN_ENV, AlertReceiver
from tests.support.world_checks import pipeline_state

pytestmark = pytest.mark.e2e
MANIFEST = load_manifest()


def _take_the_name_of_skus_master_v2_once_the_run_starts(ledger_dir: Path, stop: threading.Event) -> None:
    """Inject a half-way failure: as soon as a migration run is recorded, another statement takes the
    name its skus_master v2 statement will need (after the aggregates were migrated)."""
    while not stop.is_set():
        for header in ledger_dir.glob("runs/*/run.json"):
            run_id = json.loads(header.read_text())["run_id"]
            FlinkStatementsHook().submit_statement(statement_name("skus_master", 2, run_id), "SHOW TABLES")
            return
        time.sleep(0.2)


def test_a_run_failing_half_way_is_rolled_back_cleanly(run_project_dag, encarta, tmp_path):
    before = pipeline_state(encarta)
    stop = threading.Event()
    injector = threading.Thread(target=_take_the_name_of_skus_master_v2_once_the_run_starts,
                                args=(tmp_path / "ledger", stop), daemon=True)
    injector.start()
    result = run_project_dag("migrate_schema_registry_evolution", dry_run=False, confirm=encarta.config.database)
    stop.set()
    summary = result.xcom("summary")
    assert result.dag_run.state == "failed", result.why()
    assert result.failed_tasks() == ["phase_3_replace_pipelines.level_1_replace_v1[0]"], result.why()
    assert any("StatementConflictError" in error for error in result.errors), result.why()
    assert "FAILED" in summary and "skus-master-v2" in summary and "STARTED, NOT COMPLETED" in summary, summary
    failed = "phase_3_replace_pipelines.level_1_replace_v1[0]"
    assert f"FAILED TASKS:\n  {failed}: StatementConflictError" in summary, summary
    assert "v1 stopped to v2 caught up: not measured (failed)" in summary, summary
    assert re.search(r"  skus_master: written by .*STOPPED.*; latest schema \S*skus_master-value v2", summary), summary
    last = summary.strip().splitlines()[-1]
    assert last.startswith(f"NEXT STEP: task {failed} failed (StatementConflictError") and "NO WRITER for skus_master" \
        in last and f"migration_run={result.dag_run.run_id}" in last, summary

    rollback = run_project_dag("rollback_migration", confirm=encarta.config.database)
    assert rollback.dag_run.state == "success", rollback.xcom("summary")
    after = pipeline_state(encarta)
    assert after["subjects"] == before["subjects"]
    phases = {name: phase for name, phase, _ in after["statements"]}
    for spec in MANIFEST.tables:
        assert phases[spec.v1.statement] == "RUNNING"
    assert [n for n, p in phases.items() if "-v2-" in n and p == "RUNNING"] == []


@pytest.fixture
def webhook(monkeypatch):
    receiver = AlertReceiver().start()
    for key, value in receiver.connection_env().items():
        monkeypatch.setenv(key, value)
    yield receiver.received
    receiver.stop()


def test_the_health_check_passes_on_a_healthy_world_and_alerts_on_a_broken_one(run_project_dag, encarta, webhook):
    healthy = run_project_dag("post_migration_health_check", version="v1")
    assert healthy.dag_run.state == "success"
    assert "HEALTHY" in healthy.xcom("check_pipeline_health")
    assert webhook == []

    FlinkStatementsHook().set_stopped(MANIFEST.table("skus_master").v1.statement, True)
    broken = run_project_dag("post_migration_health_check", version="v1")
    assert broken.dag_run.state == "failed"
    assert len(webhook) == 1 and "post_migration_health_check" in webhook[0]["text"]
    assert "check_pipeline_health" in webhook[0]["text"] and "running pipelines" in webhook[0]["text"]

    for run, verdict in ((healthy, "healthy"), (broken, "breach")):  # each check is recorded, with its report
        ledger = Ledger(ledger_base(), run.dag_run.run_id)
        assert ledger.header()["kind"] == "health" and ledger.header()["outcome"] == verdict
        assert run.xcom("check_pipeline_health", REPORT_URL_KEY) == report_url(run.dag_run.dag_id, run.dag_run.run_id)
    page = (ledger.folder / REPORT_FILE).read_text()
    assert "BREACH (trend of the last 2 checks)" in page and page.count("<svg") == 4
    assert "Pipeline lag" in page and "Time since the newest update" in page and "running pipelines" in page
    assert run_ids(ledger_base()) == []  # a health check is no migration to roll back


def test_an_alert_that_cannot_be_delivered_fails_the_health_check_naming_the_connection(
        run_project_dag, encarta, monkeypatch):
    monkeypatch.delenv(CONN_ENV, raising=False)
    healthy = run_project_dag("post_migration_health_check", version="v1")
    assert healthy.dag_run.state == "failed", "a healthy day without an alert route must still fail"
    assert "AlertNotDelivered: alerts cannot be delivered: the connection 'migration_alerts_webhook' isn't defined" \
        in healthy.output, healthy.why()

    FlinkStatementsHook().set_stopped(MANIFEST.table("skus_master").v1.statement, True)
    broken = run_project_dag("post_migration_health_check", version="v1")
    assert broken.dag_run.state == "failed"
    assert "AlertNotDelivered: alerts cannot be delivered: the connection 'migration_alerts_webhook' isn't defined" \
        in broken.output, broken.why()
    assert "The undelivered alert: :rotating_light: *post_migration_health_check*" in broken.output
