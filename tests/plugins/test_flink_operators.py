"""Flink statement operators, sensors and triggers in real ``dag.test()`` runs against the sandbox.

``dag.test()`` runs a deferred task's trigger inline, so ``deferrable=True`` tests the trigger path.
"""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace
from datetime import datetime, timedelta, timezone

import pytest
from airflow.providers.standard.operators.python import PythonOperator

from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.links import STATEMENT_URL_KEY
from confluent_migration.operators.flink import (
    ReplaceStatementOperator,
    DeleteStatementOperator,
    DryRunStatementOperator,
    ListStatementsOperator,
    ResumeStatementOperator,
    StopStatementOperator,
    SubmitStatementOperator,
)
from confluent_migration.sensors.flink import StatementPhaseSensor, StatementsCaughtUpSensor
from confluent_migration.statements import statement_name
from tests.plugins.conftest import ddl, unique


@pytest.fixture
def tables(flink) -> tuple[str, str]:
    """A keyed source with three rows and an empty keyed sink of per-group totals."""
    source, sink = unique("ops_src", "_"), unique("ops_sink", "_")
    ddl(f"CREATE TABLE `{source}` (`id` INT NOT NULL, `grp` STRING, `qty` INT, PRIMARY KEY (`id`) NOT ENFORCED) "
        "DISTRIBUTED BY HASH(`id`) INTO 2 BUCKETS")
    ddl(f"INSERT INTO `{source}` VALUES (1, 'a', 10), (2, 'a', 5), (3, 'b', 7)")
    ddl(f"CREATE TABLE `{sink}` (`grp` STRING NOT NULL, `total` INT, PRIMARY KEY (`grp`) NOT ENFORCED)")
    return source, sink


def pipeline_sql(source: str, sink: str) -> str:
    return f"INSERT INTO `{sink}` SELECT grp, CAST(SUM(qty) AS INT) FROM `{source}` GROUP BY grp"


def submit(source: str, sink: str, run: str, **kwargs) -> SubmitStatementOperator:
    return SubmitStatementOperator(task_id=kwargs.pop("task_id", "submit"), sql=pipeline_sql(source, sink), table=sink,
                                   pipeline_version=2, migration_run=run,
                                   properties={"sql.tables.scan.startup.mode": "earliest-offset"},
                                   poll_interval=0.5, **kwargs)


def test_submit_defers_until_running_and_links_to_the_statement(run_dag, tables):
    source, sink = tables
    run = uuid.uuid4().hex
    result = run_dag(lambda: submit(source, sink, run))
    assert result.state("submit") == "success"
    snapshot = result.xcom("submit")
    name = statement_name(sink, 2, run)
    assert snapshot["name"] == name == result.xcom("submit", key="statement_name")
    assert snapshot["phase"] == "RUNNING"
    assert snapshot["properties"]["sql.tables.scan.startup.mode"] == "earliest-offset"
    assert snapshot["properties"]["sql.current-catalog"] == "sandbox-env"
    assert result.xcom("submit", key=STATEMENT_URL_KEY) == (
        f"https://confluent.cloud/environments/env-sandbox/flink/statements/{name}/activity")


def test_a_retried_task_adopts_its_running_statement(run_dag, tables):
    source, sink = tables
    run = uuid.uuid4().hex
    first = run_dag(lambda: submit(source, sink, run, deferrable=False))
    again = run_dag(lambda: submit(source, sink, run))  # the same migration run: a retry of the task
    name = statement_name(sink, 2, run)
    assert first.state("submit") == again.state("submit") == "success"
    assert f"Adopted existing Flink statement '{name}' (phase RUNNING)" in again.output
    assert [s.name for s in FlinkStatementsHook().list_statements()].count(name) == 1


def test_a_statement_of_that_name_with_other_sql_is_refused_naming_both(run_dag, tables):
    source, sink = tables
    run = uuid.uuid4().hex
    run_dag(lambda: submit(source, sink, run, deferrable=False))
    other_sql = f"INSERT INTO `{sink}` SELECT grp, CAST(MAX(qty) AS INT) FROM `{source}` GROUP BY grp"
    result = run_dag(lambda: SubmitStatementOperator(task_id="submit", sql=other_sql, table=sink, pipeline_version=2,
                                                     migration_run=run,
                                                     properties={"sql.tables.scan.startup.mode": "earliest-offset"}))
    assert result.state("submit") == "failed"
    out = result.output
    assert f"Flink statement '{statement_name(sink, 2, run)}' already exists and differs" in out
    assert "SUM(qty)" in out and "MAX(qty)" in out


@pytest.mark.parametrize("deferrable", [True, False])
def test_a_failed_statement_fails_the_task_with_its_detail_and_exceptions(run_dag, flink, deferrable):
    name = unique("ops-bad")
    result = run_dag(lambda: SubmitStatementOperator(task_id="bad", sql="SELECT nope FROM `no-such-table`",
                                                     statement_name=name, target_phase="COMPLETED",
                                                     deferrable=deferrable, defer_after=0, poll_interval=0.5))
    assert result.state("bad") == "failed"
    out = result.output
    assert f"Flink statement '{name}' is FAILED:" in out and "not found" in out.lower()
    assert "exception" in out and "StatementFailedError" in out


@pytest.mark.parametrize("deferrable", [True, False])
def test_a_wait_that_outlasts_its_timeout_fails_saying_so(run_dag, tables, deferrable):
    source, sink = tables  # a continuous statement never COMPLETES
    result = run_dag(lambda: submit(source, sink, uuid.uuid4().hex, target_phase="COMPLETED", wait_timeout=2,
                                    deferrable=deferrable, defer_after=0))
    assert result.state("submit") == "failed"
    out = result.output
    assert "was still RUNNING when the wait for COMPLETED timed out" in out and "StatementTimeoutError" in out


def test_stop_records_offsets_then_resume_list_and_delete(run_dag, tables):
    source, sink = tables
    run = uuid.uuid4().hex
    name = statement_name(sink, 2, run)

    def build() -> None:
        started = submit(source, sink, run)
        phase = StatementPhaseSensor(task_id="running", statement_name=name, poke_interval=0.5)
        stop = StopStatementOperator(task_id="stop", statement_name=name, poll_interval=0.5)
        stopped = StatementPhaseSensor(task_id="stopped", statement_name=name, target_phases=["STOPPED"],
                                       deferrable=False, poke_interval=0.5)
        resume = ResumeStatementOperator(task_id="resume", statement_name=name, poll_interval=0.5, deferrable=False)
        listed = ListStatementsOperator(task_id="list", statement_names=[name, "no-such-statement"])
        delete = DeleteStatementOperator(task_id="delete", statement_name=name)
        started >> phase >> stop >> stopped >> resume >> listed >> delete

    result = run_dag(build)
    assert {t: result.state(t) for t in ("submit", "running", "stop", "stopped", "resume", "list", "delete")} == dict.fromkeys(
        ("submit", "running", "stop", "stopped", "resume", "list", "delete"), "success")
    stopped = result.xcom("stop")
    assert stopped["phase"] == "STOPPED" and stopped["latest_offsets_timestamp"]
    assert set(stopped["offsets"]) == {source} and sum(stopped["offsets"][source].values()) == 3
    assert result.xcom("stop", key="latest_offsets") == stopped["latest_offsets"]
    (listed,) = result.xcom("list")
    assert (listed["name"], listed["phase"], listed["sql"]) == (name, "RUNNING", pipeline_sql(source, sink))
    assert result.xcom("delete") is True
    assert FlinkStatementsHook().find_statement(name) is None


@pytest.mark.parametrize("deferrable", [True, False])
def test_replace_stops_the_old_statement_then_starts_the_new_one_and_a_retry_changes_nothing(run_dag, tables,
                                                                                             deferrable):
    """In one task: the old writer STOPPED (its offsets handed to ``on_stopped`` before anything is
    submitted), then the new one RUNNING; deferred waits resume where they left off; a retry of
    the task finds both done and adopts the new statement."""
    source, sink = tables
    run = uuid.uuid4().hex
    old, new = statement_name(sink, 1, run), statement_name(sink, 2, run)
    run_dag(lambda: submit(source, sink, run, statement_name=old, deferrable=False))
    seen = []

    def on_stopped(context, offsets):
        seen.append((offsets, FlinkStatementsHook().find_statement(new)))

    def replace() -> ReplaceStatementOperator:
        return ReplaceStatementOperator(task_id="replace", replaces=old, statement_name=new, sql=pipeline_sql(source, sink),
                                        properties={"sql.tables.scan.startup.mode": "earliest-offset"},
                                        on_stopped=on_stopped, poll_interval=0.5, deferrable=deferrable, defer_after=0)

    first, again = run_dag(replace), run_dag(replace)
    assert first.state("replace") == again.state("replace") == "success"
    (offsets, new_then), _ = seen
    assert offsets["statement_name"] == old and offsets["phase"] == "STOPPED" and new_then is None
    assert sum(offsets["offsets"][source].values()) == 3
    hook = FlinkStatementsHook()
    assert (hook.get_statement(old).phase, hook.get_statement(new).phase) == ("STOPPED", "RUNNING")
    assert first.xcom("replace")["name"] == new and f"Adopted existing Flink statement '{new}'" in again.output


def test_a_replacement_polls_its_write_gap_after_a_second_whatever_its_poll_interval(run_dag, tables,
                                                                                      monkeypatch):
    """The stop and the create of a replacement are a table's write gap: they poll every
    ``GAP_POLL_SECONDS``, not after ``poll_interval`` (10 s by default), which other waits keep."""
    from confluent_migration.operators import flink

    source, sink = tables
    run = uuid.uuid4().hex
    old, new = statement_name(sink, 1, run), statement_name(sink, 2, run)
    run_dag(lambda: submit(source, sink, run, statement_name=old, deferrable=False))
    slept, sleep = [], time.sleep  # the stop is STOPPING when asked: its wait polls at least once

    def recorded_sleep(seconds):
        slept.append(round(seconds, 2))
        sleep(min(seconds, 0.3))

    monkeypatch.setattr(flink, "time", SimpleNamespace(time=time.time, sleep=recorded_sleep))  # the operators
    result = run_dag(lambda: ReplaceStatementOperator(
        task_id="replace", replaces=old, statement_name=new, sql=pipeline_sql(source, sink), poll_interval=30,
        deferrable=False))
    assert result.state("replace") == "success", result.why()
    assert slept and slept[0] == flink.GAP_POLL_SECONDS and max(slept) < 30


def running_pipelines(count: int) -> list[dict]:
    """``count`` tables written by a RUNNING v1 statement each, as batch items replacing them with v2."""
    run, hook, items = uuid.uuid4().hex, FlinkStatementsHook(), []
    for n in range(count):
        source, sink = unique(f"batch_src{n}", "_"), unique(f"batch_sink{n}", "_")
        ddl(f"CREATE TABLE `{source}` (`id` INT NOT NULL, `grp` STRING, `qty` INT, PRIMARY KEY (`id`) NOT ENFORCED)")
        ddl(f"INSERT INTO `{source}` VALUES (1, 'a', 10), (2, 'b', 5)")
        ddl(f"CREATE TABLE `{sink}` (`grp` STRING NOT NULL, `total` INT, PRIMARY KEY (`grp`) NOT ENFORCED)")
        old = statement_name(sink, 1, run)
        hook.submit_statement(old, pipeline_sql(source, sink))
        items.append({"replaces": old, "statement_name": statement_name(sink, 2, run), "sql": pipeline_sql(source, sink),
                      "properties": {"sql.tables.scan.startup.mode": "earliest-offset"}})
    for item in items:
        StopStatementOperator(task_id="w", statement_name=item["replaces"]).wait_for(
            hook.get_statement(item["replaces"]), {"RUNNING"}, when_long="return")
    return items


def replace_batch(items, start, **kwargs):
    from confluent_migration.migration.options import REPLACEMENT_RECORDS

    return start() >> ReplaceStatementOperator(task_id="replace", items=items, first_index=3, poll_interval=0.5,
                                                **REPLACEMENT_RECORDS, **kwargs)


def events_by_table(result, tmp_path):
    from airflow.sdk import ObjectStoragePath

    from confluent_migration.migration.ledger import Ledger

    ledger = Ledger(ObjectStoragePath(f"file://{tmp_path}/ledger"), result.dag_run.run_id)
    found: dict[int, list] = {}
    for event in ledger.events():
        if event["kind"] in ("statement_stopped", "statement_created"):
            found.setdefault(event["map_index"], []).append((event["kind"], event["status"]))
    return found


FOUR_RECORDS = [("statement_stopped", "started"), ("statement_stopped", "done"),
                ("statement_created", "started"), ("statement_created", "done")]


def test_a_batch_replacement_pairs_each_tables_stop_and_create_and_a_failed_table_leaves_a_clear_state(
        run_dag, flink, monkeypatch, tmp_path):
    from tests.plugins.conftest import ledger_started

    items = running_pipelines(3)
    hook = FlinkStatementsHook()
    taken = items[1]["statement_name"]
    hook.submit_statement(taken, "SHOW TABLES")  # another statement holds the name of table 1's v2
    result = run_dag(lambda: replace_batch(items, ledger_started(monkeypatch, tmp_path), deferrable=False))
    assert result.state("replace") == "failed"  # a name conflict is a verdict: not retried
    assert f"{taken} failed: StatementConflictError: Flink statement '{taken}' already exists and differs" \
        in result.output
    assert "1 of 3 items failed" in result.output
    for n in (0, 2):  # the other tables were replaced, each stop and create recorded
        assert (hook.get_statement(items[n]["replaces"]).phase,
                hook.get_statement(items[n]["statement_name"]).phase) == ("STOPPED", "RUNNING")
    events = events_by_table(result, tmp_path)
    assert events[3] == events[5] == FOUR_RECORDS  # first_index 3: the items' indexes in the whole list
    assert events[4] == FOUR_RECORDS[:3]  # stopped, its create started and not done: rollback knows
    assert hook.get_statement(items[1]["replaces"]).phase == "STOPPED"


def test_a_retried_deferred_batch_replacement_adopts_the_tables_done_and_finishes_the_others(
        run_dag, flink, monkeypatch, tmp_path):
    from datetime import timedelta

    from tests.plugins.conftest import ledger_started

    items = running_pipelines(3)
    hook = FlinkStatementsHook()
    missing = dict(items[2], replaces=unique("not-yet"))  # its v1 is not there on the first try
    items[2] = missing

    def start_it(context):
        hook.submit_statement(missing["replaces"], missing["sql"])

    result = run_dag(lambda: replace_batch(items, ledger_started(monkeypatch, tmp_path), deferrable=True,
                                           defer_after=0, retries=1, retry_delay=timedelta(0),
                                           on_retry_callback=start_it))
    assert result.state("replace") == "success", result.why()
    assert f"{missing['statement_name']} failed: ConfluentApiError" in result.output
    for item in items[:2]:
        assert f"{item['statement_name']} was done by an earlier try: adopted" in result.output
    assert "Deferring while" in result.output
    snapshots = result.xcom("replace")
    assert [s["name"] for s in snapshots] == [item["statement_name"] for item in items]
    assert {hook.get_statement(item["statement_name"]).phase for item in items} == {"RUNNING"}
    assert {hook.get_statement(item["replaces"]).phase for item in items} == {"STOPPED"}
    events = events_by_table(result, tmp_path)
    assert events[3] == events[4] == FOUR_RECORDS  # adopted by the retry: nothing recorded twice
    assert events[5] == [("statement_stopped", "started"), *FOUR_RECORDS]  # the first try failed before the stop


def test_a_batch_trigger_fires_once_a_stop_ended_and_keeps_the_operators_state(run_dag, tables):
    import asyncio

    from confluent_migration.triggers.flink import StatementsPhaseTrigger, first_event

    source, sink = tables
    run = uuid.uuid4().hex
    old, new = statement_name(sink, 1, run), statement_name(sink, 2, run)
    run_dag(lambda: [submit(source, sink, run, task_id="old", statement_name=old, deferrable=False),
                     submit(source, sink, run, task_id="new", statement_name=new, deferrable=False)])
    FlinkStatementsHook().set_stopped(old, True)
    trigger = StatementsPhaseTrigger([{"statement_name": new, "target_phases": ["COMPLETED"], "urgent": False},
                                      {"statement_name": old, "target_phases": ["STOPPED"], "urgent": True}],
                                     time.time() + 60, poll_interval=0.5, carry={"state": [1, 2]})
    event = asyncio.run(asyncio.wait_for(first_event(trigger), 30))  # the continuous one never COMPLETES
    assert event["carry"] == {"state": [1, 2]} and list(event["events"]) == [old]
    assert (event["events"][old]["status"], event["events"][old]["phase"]) == ("success", "STOPPED")


def test_dry_run_plans_a_valid_statement_and_fails_an_invalid_one(run_dag, tables):
    source, sink = tables
    result = run_dag(lambda: [
        DryRunStatementOperator(task_id="ok", sql=pipeline_sql(source, sink)),
        DryRunStatementOperator(task_id="bad", sql="SELECT * FROM `no-such-table`"),
    ])
    assert result.state("ok") == "success" and result.xcom("ok")["phase"] == "COMPLETED"
    assert result.state("bad") == "failed"
    assert "Flink rejected the statement in a dry run" in result.output
    assert not [s for s in FlinkStatementsHook().list_statements() if s.name.startswith("dry-run-")]


def test_a_batch_of_dry_runs_validates_every_item_and_names_each_rejected_one(run_dag, tables):
    source, sink = tables
    items = [{"sql": pipeline_sql(source, sink), "properties": None, "acts_on": "good v2 pipeline"},
             {"sql": "SELECT * FROM `no-such-table`", "properties": None, "acts_on": "first bad pipeline"},
             {"sql": "SELECT * FROM `nor-this-one`", "properties": None, "acts_on": "second bad pipeline"}]
    result = run_dag(lambda: [DryRunStatementOperator(task_id="ok", items=items[:1]),
                              DryRunStatementOperator(task_id="batch", items=items)])
    assert result.state("ok") == "success" and [r["phase"] for r in result.xcom("ok")] == ["COMPLETED"]
    assert result.state("batch") == "failed"
    assert "batch: 2 of 3 items failed (1 completed)" in result.output, result.output
    for bad in ("first bad pipeline", "second bad pipeline"):
        assert f"- {bad}: StatementFailedError: Flink rejected the statement in a dry run" in result.output
    assert "Dry run of good v2 pipeline: COMPLETED" in result.output

    alone = run_dag(lambda: DryRunStatementOperator(task_id="one_bad", items=items[:2]))  # one failed: its own error
    assert alone.state("one_bad") == "failed"
    assert "StatementFailedError: first bad pipeline: Flink rejected the statement in a dry run" in alone.output


def test_catch_up_sensor_waits_for_pending_records_under_the_threshold(run_dag, tables):
    source, sink = tables
    run = uuid.uuid4().hex
    name = statement_name(sink, 2, run)
    result = run_dag(lambda: submit(source, sink, run) >> StatementsCaughtUpSensor(
        task_id="caught_up", statement_names=[name], threshold=0, poke_interval=0.5, timeout=60))
    assert result.state("caught_up") == "success"
    assert result.xcom("caught_up") == {name: 0}


def test_catch_up_sensor_fails_for_a_statement_that_does_not_exist(run_dag, flink):
    result = run_dag(lambda: StatementsCaughtUpSensor(task_id="caught_up", statement_names=["no-such-statement"],
                                                      poke_interval=0.5, timeout=30))
    assert result.state("caught_up") == "failed"
    assert "no-such-statement" in result.output and "ConfluentApiError" in result.output, result.why()


@pytest.mark.parametrize("deferrable", [True, False])
def test_catch_up_sensor_fails_at_once_when_a_statement_turns_failed_after_running(run_dag, flink, deferrable):
    """A FAILED statement reports no pending records: without a look at its phase the wait would pass."""
    source, sink = unique("ops_nullable", "_"), unique("ops_not_null", "_")
    ddl(f"CREATE TABLE `{source}` (`id` INT NOT NULL, `label` STRING, PRIMARY KEY (`id`) NOT ENFORCED)")
    ddl(f"CREATE TABLE `{sink}` (`id` INT NOT NULL, `label` STRING NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED)")
    ddl(f"INSERT INTO `{source}` VALUES (1, 'a')")
    run = uuid.uuid4().hex
    name = statement_name(sink, 2, run)

    def write_null_until_failed() -> None:
        """The statement fails on its next step; the sensor must meet it FAILED, whatever the metrics still say."""
        ddl(f"INSERT INTO `{source}` VALUES (2, CAST(NULL AS STRING))")
        deadline = time.monotonic() + 30
        while FlinkStatementsHook().get_statement(name).phase != "FAILED":
            assert time.monotonic() < deadline, f"{name} did not fail on the NULL"
            time.sleep(0.2)

    def build() -> None:
        start = SubmitStatementOperator(task_id="submit", sql=f"INSERT INTO `{sink}` SELECT id, label FROM `{source}`",
                                        table=sink, pipeline_version=2, migration_run=run, poll_interval=0.5)
        break_it = PythonOperator(task_id="write_null", python_callable=write_null_until_failed)
        caught_up = StatementsCaughtUpSensor(task_id="caught_up", statement_names=[name], threshold=0,
                                             poke_interval=0.5, timeout=120, deferrable=deferrable, defer_after=0)
        start >> break_it >> caught_up

    result = run_dag(build)
    assert result.state("submit") == result.state("write_null") == "success", result.why()
    assert result.state("caught_up") == "failed", result.why()
    assert f"Flink statement '{name}' is FAILED" in result.output and "never catch up" in result.output
    assert FlinkStatementsHook().get_statement(name).phase == "FAILED"



def test_a_runs_progress_comes_per_statement_in_buckets_the_metrics_api_accepts(run_dag, tables):
    """What the run report charts: pending and read records per statement, finer buckets for a shorter run."""
    from confluent_migration.hooks.metrics import ConfluentMetricsHook
    from confluent_migration.migration.observe import progress_since

    source, sink = tables
    run = uuid.uuid4().hex
    name = statement_name(sink, 2, run)
    assert run_dag(lambda: submit(source, sink, run)).state("submit") == "success"
    hook, now = ConfluentMetricsHook(), datetime.now(timezone.utc)
    deadline = time.monotonic() + 30
    # a sample may come before the statement read its rows (0 read), or between the two queries
    # (pending, then read): wait until both series show the rows read, not for a sample
    while True:
        progress = progress_since(hook, [name], now - timedelta(minutes=3))
        read = sum(v for _, v in progress.read.get(name, []))
        pending = [v for _, v in progress.pending.get(name, [])]
        if read >= 3 and pending and pending[-1] == 0:
            break
        assert time.monotonic() < deadline, f"the metrics never showed 3 rows read, none pending: {progress}"
        time.sleep(1)
    assert progress.bucket_seconds == 60 and read == 3  # the source's 3 rows
    many = [name] + [f"{name}-{i}" for i in range(79)]  # 80 statements: 1,000 points are 12 one-minute buckets
    for names, hours, bucket in (([name], 10, 300), ([name], 72, 300), (many, 0.5, 300), (many, 24, 14400)):
        assert progress_since(hook, names, now - timedelta(hours=hours)).bucket_seconds == bucket  # PT1M: 6 h at most


def test_a_killed_replacement_leaves_its_new_writer_running_where_a_plain_submit_stops_its_own(
        run_dag, tables):
    """Killing a replacement after its create must not leave the table without a writer (its old
    statement is stopped): the new one keeps running for the retry to adopt. A plain submit, whose
    table keeps its writer, still stops what it started."""
    source, sink = tables
    run = uuid.uuid4().hex
    old, new, other = statement_name(sink, 1, run), statement_name(sink, 2, run), statement_name(sink, 3, run)
    run_dag(lambda: submit(source, sink, run, statement_name=old, deferrable=False))
    result = run_dag(lambda: ReplaceStatementOperator(task_id="replace", replaces=old, statement_name=new,
                                                      sql=pipeline_sql(source, sink), poll_interval=0.5))
    assert result.state("replace") == "success", result.why()
    sql = pipeline_sql(source, sink)
    killed = ReplaceStatementOperator(task_id="replace", replaces=old, statement_name=new, sql=sql)
    killed.submit_item({"statement_name": new, "sql": sql})  # what the killed task had submitted
    killed.on_kill()
    plain = submit(source, sink, run, statement_name=other)
    plain.submit_item({"statement_name": other, "sql": sql})
    plain.on_kill()
    hook = FlinkStatementsHook()
    assert hook.get_statement(new).phase == "RUNNING" and not hook.get_statement(new).stopped
    assert hook.get_statement(other).stopped

