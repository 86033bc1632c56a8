"""A person in the Airflow UI, in a real browser (Debian's headless Chromium driven by Playwright),
on the runtime tier's Airflow stack and a world of its own: signs in on the login page, triggers a
dry run of option B from the form with its defaults, then a real run of option B on one table
(``final_names=v2``, approval required), approves the switch of readers on the task's Required
actions tab, sees the dry run marked by its note and a statement's console link in its task's log,
and opens the run's report (charts, console links) through the summary task's link.

Migrating only skus_uoms_agg leaves skus_master's v1 statement reading it: a reader outside the run,
so the run asks a person. Screenshots of every step: ``test-artifacts/browser/`` (ignored by git).
"""

from __future__ import annotations

import re
import time

import pytest

from confluent_migration.run_notes import DRY_RUN_NOTE
from tests.runtime.conftest import CRITERIA_WINDOW_MINUTES, RUN_TIMEOUT
from tests.support.airflow_stack import ROOT, USER
from tests.support.browser import AirflowUi, Choice, chromium_page, wait_for

pytestmark = [pytest.mark.runtime, pytest.mark.browser]
DAG = "migrate_zero_downtime_dual_write"
TABLE = "skus_uoms_agg"
SHOTS = ROOT / "test-artifacts" / "browser"
# A person reads the request before answering. An answer within seconds of it can meet an Airflow
# 3.3 race: the scheduler handles the paused try's exit after the answer queued the next try, takes
# the try for killed, and the approval is asked again (README, "Approvals").
READING_SECONDS = 20


@pytest.fixture
def ui(airflow_stack):
    with chromium_page() as page:
        yield AirflowUi(page, airflow_stack.url, SHOTS)
    print(f"screenshots: {SHOTS}")


def test_a_person_migrates_a_table_from_the_ui(ui, runs, airflow_stack):
    client = airflow_stack.client
    ui.log_in(USER, airflow_stack.password)
    ui.page.get_by_role("link", name="Dags").first.wait_for()

    def submit(shot: str, **fields) -> str:
        """Trigger from the form; the new run's id, shown on its page in the UI."""
        before = {r["dag_run_id"] for r in client.get(f"dags/{DAG}/dagRuns", limit=100)["dag_runs"]}
        ui.trigger(DAG, shot, **fields)
        run_id = wait_for("the triggered run", lambda: {
            r["dag_run_id"] for r in client.get(f"dags/{DAG}/dagRuns", limit=100)["dag_runs"]} - before, 60).pop()
        ui.open_run(DAG, run_id)
        ui.page.get_by_text(run_id).first.wait_for()
        ui.leave()
        return run_id

    def finished(run_id: str, shot: str) -> None:
        ui.leave()
        result = client.wait(DAG, run_id, RUN_TIMEOUT, alive=airflow_stack.check_alive)
        assert result.state == "success", result.why()
        ui.open_run(DAG, run_id)
        ui.page.get_by_text(re.compile("^success$", re.I)).first.wait_for()
        ui.shot(shot)

    dry = submit("02-dry-run-form")  # every field at its default
    assert client.dag_run(DAG, dry)["conf"]["dry_run"] is True
    finished(dry, "03-dry-run-succeeded")
    assert "DRY RUN" in client.xcom(DAG, dry, "summary")
    assert client.dag_run(DAG, dry)["note"] == DRY_RUN_NOTE  # the scheduler's listener marked it
    ui.open_run(DAG, dry)
    ui.page.get_by_text("DRY RUN", exact=True).first.wait_for()  # the note, rendered as Markdown

    real = submit("04-real-run-form", tables=TABLE, dry_run=False, confirm=runs.database,
                  final_names=Choice("v2"), criteria_window_minutes=str(CRITERIA_WINDOW_MINUTES))
    conf = client.dag_run(DAG, real)["conf"]
    assert (conf["tables"], conf["dry_run"], conf["final_names"], conf["require_approval"],
            conf["criteria_window_minutes"]) == ([TABLE], False, "v2", True, CRITERIA_WINDOW_MINUTES)
    asked = wait_for("the approval request", lambda: [
        a for a in client.pending_approvals(DAG) if a["task_instance"]["dag_run_id"] == real], RUN_TIMEOUT)
    time.sleep(READING_SECONDS)
    task_id = asked[0]["task_instance"]["task_id"]
    ui.open_run(DAG, real, task_id, "required_actions")
    ui.page.get_by_text(asked[0]["subject"]).first.wait_for()
    ui.shot("05-approval-asked")
    ui.page.get_by_role("button", name="Approve").click()
    answer = wait_for("the recorded answer", lambda: [
        a for a in client.get(f"dags/{DAG}/dagRuns/~/hitlDetails", response_received=True)["hitl_details"]
        if a["task_instance"]["dag_run_id"] == real], 60)
    assert answer[0]["chosen_options"] == ["Approve"] and answer[0]["responded_by_user"]["name"] == USER
    finished(real, "06-real-run-succeeded")
    assert client.dag_run(DAG, real)["note"] is None

    started = next(ti for ti in client.get(f"dags/{DAG}/dagRuns/{real}/taskInstances", limit=200)["task_instances"]
                   if ti["operator"] == "SubmitStatementOperator" and ti["state"] == "success")
    ui.open_run(DAG, real, started["task_id"], map_index=started["map_index"])  # the task's log, its first tab
    link = ui.page.locator("a[href^='https://confluent.cloud/environments/']").first
    link.wait_for()
    assert "/flink/statements/" in link.get_attribute("href")
    ui.shot("06b-console-link-in-the-log")

    ui.open_run(DAG, real, "summary", "details")  # where the UI lists a task's extra links
    ui.page.get_by_role("link", name="Migration report").click()
    ui.page.wait_for_url("**/confluent-migration/reports/**")
    assert real in ui.page.locator("h1").inner_text() and "SUCCESS" in ui.page.locator("h1").inner_text()
    charts = ui.page.locator("figure svg")
    assert charts.count() >= 4, "rows per table, write gap, pending records and lag charts"
    for title in ("Rows per table", "Pending records per statement", "Estimated lag per statement"):
        assert title in ui.page.content()
    assert TABLE in ui.page.content()
    assert ui.page.locator("a[href^='https://confluent.cloud/environments/']").count() >= 2, "v1 stopped, v2 created"
    assert TABLE in ui.page.locator("pre").inner_text()
    ui.shot("07-report")
