"""The in-process Python API of the Flink sandbox (``Sandbox.flink``) that the world builds on:
submit, get, produce (upserts and deletes), table_rows, wait_idle and progress."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from sandbox.errors import ApiError
from sandbox.server import Sandbox
from tests.support.browser import wait_for


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    sandbox = Sandbox(SandboxConfig(data_dir=tmp_path))
    sandbox.start()
    yield sandbox
    sandbox.stop()


def test_produce_fold_and_a_running_pipeline(sandbox: Sandbox) -> None:
    flink = sandbox.flink
    flink.submit("src", "CREATE TABLE `sbx-uat.encarta.public.items` (`id` BIGINT NOT NULL, `name` STRING, "
                        "`price` DECIMAL(10, 2), `updated_at` TIMESTAMP_LTZ(3), PRIMARY KEY (`id`) NOT ENFORCED) "
                        "DISTRIBUTED BY HASH(`id`) INTO 2 BUCKETS")
    flink.submit("dst", "CREATE TABLE `priced` (`name` STRING NOT NULL, `items` BIGINT, `top` DECIMAL(10, 2), "
                        "PRIMARY KEY (`name`) NOT ENFORCED) DISTRIBUTED BY HASH(`name`) INTO 2 BUCKETS")
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    flink.produce("sbx-uat.encarta.public.items", [
        {"id": 1, "name": "a", "price": Decimal("1.50"), "updated_at": moment},
        {"id": 2, "name": "a", "price": Decimal("2.25"), "updated_at": moment},
        {"id": 3, "name": "b", "price": Decimal("9.99"), "updated_at": moment},
    ])
    statement = flink.submit("pipe", "INSERT INTO `priced` SELECT name, COUNT(*), MAX(price) "
                                     "FROM `sbx-uat.encarta.public.items` GROUP BY name")
    assert statement["status"]["phase"] == "RUNNING"
    assert flink.get("pipe")["name"] == "pipe"

    flink.produce("sbx-uat.encarta.public.items", [{"id": 3}], op="delete")
    assert flink.wait_idle(10)
    assert sorted(flink.table_rows("priced"), key=lambda r: r["name"]) == [
        {"name": "a", "items": 2, "top": Decimal("2.25")}]
    items = {r["id"]: r for r in flink.table_rows("sbx-uat.encarta.public.items")}
    assert set(items) == {1, 2} and items[1]["updated_at"] == moment

    progress = {p["name"]: p for p in flink.progress()}
    assert progress["pipe"]["records_in"] == 4 and progress["pipe"]["pending_records"] == 0

    with pytest.raises(ApiError) as used:
        flink.submit("pipe", "SHOW TABLES")
    assert used.value.status == 409
    with pytest.raises(ValueError, match="no columns"):
        flink.produce("priced", [{"nope": 1}])


def test_a_stop_asked_while_other_statements_step_is_served_within_the_same_tick(tmp_path: Path,
                                                                                 monkeypatch) -> None:
    """The control plane does not queue a stop behind the other statements' data: a stop asked
    while the tick steps a running pipeline is STOPPED when that tick ends, not one tick later."""
    from sandbox.flink import service

    monkeypatch.setattr(service, "INSERT_STEP_SECONDS", 0.0)
    sandbox = Sandbox(SandboxConfig(data_dir=tmp_path))  # no executor: the test ticks by hand
    flink = sandbox.flink
    flink.submit("src", "CREATE TABLE `src` (`id` BIGINT NOT NULL, `grp` STRING, PRIMARY KEY (`id`) NOT ENFORCED)")
    for sink in ("first", "second"):
        flink.submit(sink, f"CREATE TABLE `{sink}` (`grp` STRING NOT NULL, `n` BIGINT, PRIMARY KEY (`grp`) NOT ENFORCED)")
        flink.submit(f"{sink}-pipe", f"INSERT INTO `{sink}` SELECT grp, COUNT(*) FROM `src` GROUP BY grp")
    flink.tick()
    assert {flink.get(n)["status"]["phase"] for n in ("first-pipe", "second-pipe")} == {"RUNNING"}

    flink.produce("src", [{"id": 1, "grp": "a"}])
    step = flink.engine.step

    def step_then_ask_a_stop(record):  # noqa: ANN001 - the sandbox's statement record
        if record.name == "second-pipe":  # the tick has stepped first-pipe already
            flink.patch("first-pipe", [{"op": "replace", "path": "/spec/stopped", "value": True}])
        return step(record)

    monkeypatch.setattr(flink.engine, "step", step_then_ask_a_stop)
    flink.tick()
    assert flink.get("first-pipe")["status"]["phase"] == "STOPPED"
    sandbox.store.close()


def test_a_stop_waits_for_no_step_and_a_create_for_the_step_in_progress_only(tmp_path: Path,
                                                                              monkeypatch) -> None:
    """A stop asked while a step holds the engine's and the store's locks, even of the statement
    being stepped, is answered at once; that statement is STOPPED when its step ends, the step's
    progress kept. A create waits for the step in progress only: the runner lets it in and turns it
    RUNNING (and the other stopped statement STOPPED) before it steps another statement."""
    from sandbox.flink import service

    monkeypatch.setattr(service, "INSERT_STEP_SECONDS", 0.0)
    sandbox = Sandbox(SandboxConfig(data_dir=tmp_path))  # no executor: the test ticks by hand
    flink = sandbox.flink
    flink.submit("src", "CREATE TABLE `src` (`id` BIGINT NOT NULL, `grp` STRING, "
                        "PRIMARY KEY (`id`) NOT ENFORCED)")
    for sink in ("first", "second", "third", "fourth"):
        flink.submit(sink, f"CREATE TABLE `{sink}` (`grp` STRING NOT NULL, `n` BIGINT, "
                           "PRIMARY KEY (`grp`) NOT ENFORCED)")
    for sink in ("first", "second", "third"):
        flink.submit(f"{sink}-pipe", f"INSERT INTO `{sink}` SELECT grp, COUNT(*) FROM `src` GROUP BY grp")
    flink.tick()
    flink.produce("src", [{"id": 1, "grp": "a"}])
    step, creates, answered, seen = flink.engine.step, [], {}, {}
    stop = [{"op": "replace", "path": "/spec/stopped", "value": True}]

    def step_while_calls_come(record):  # noqa: ANN001 - the sandbox's statement record
        if record.name == "first-pipe":
            with flink.store.lock:  # as the step's transaction holds it
                for name in ("first-pipe", "third-pipe"):
                    stopper = threading.Thread(
                        target=lambda n=name: answered.update({n: flink.patch(n, stop)["status"]["phase"]}))
                    stopper.start()
                    stopper.join(5)
                creates.append(threading.Thread(target=flink.submit, args=(
                    "fourth-pipe", "INSERT INTO `fourth` SELECT grp, COUNT(*) FROM `src` GROUP BY grp")))
                creates[0].start()
                wait_for("the create to wait for the step", lambda: flink.lock.waiting == 1,
                         timeout=5, poll=0.001)
        if record.name == "second-pipe":
            seen.update({n: flink.get(n)["status"]["phase"]
                         for n in ("first-pipe", "third-pipe", "fourth-pipe")})
        return step(record)

    monkeypatch.setattr(flink.engine, "step", step_while_calls_come)
    flink.tick()
    creates[0].join(10)
    assert answered == {"first-pipe": "STOPPING", "third-pipe": "STOPPING"}
    assert seen == {"first-pipe": "STOPPED", "third-pipe": "STOPPED", "fourth-pipe": "RUNNING"}
    progress = {p["name"]: p for p in flink.progress()}
    assert progress["first-pipe"]["records_in"] == 1 and progress["third-pipe"]["records_in"] == 0
    listed, _ = flink.list(100, None, None)  # the stops' documents, written behind, are in the store
    assert {r["name"]: r["status"]["phase"] for r in listed if r["name"].endswith("-pipe")} == {
        "first-pipe": "STOPPED", "second-pipe": "RUNNING", "third-pipe": "STOPPED", "fourth-pipe": "RUNNING"}
    sandbox.store.close()


def test_the_runner_wakes_for_a_start_or_a_stop_instead_of_ending_its_pause(tmp_path: Path,
                                                                             monkeypatch) -> None:
    """An idle runner pauses between ticks; a create or a stop wakes it, so the new statement runs
    (or the stopped one stops) at once, not when the pause ends (a minute here)."""
    from sandbox.flink import executor

    monkeypatch.setattr(executor, "TICK_SECONDS", 60.0)
    sandbox = Sandbox(SandboxConfig(data_dir=tmp_path))
    sandbox.start()
    flink = sandbox.flink

    def phase_soon(phase: str) -> None:  # well before the runner's pause would end
        wait_for(f"pipe {phase}", lambda: flink.get("pipe")["status"]["phase"] == phase,
                 timeout=10, poll=0.01)

    try:
        for name in ("src", "dst"):
            flink.submit(name, f"CREATE TABLE `{name}` (`id` BIGINT NOT NULL, "
                               "PRIMARY KEY (`id`) NOT ENFORCED)")
        threading.Event().wait(0.2)  # the runner is in its pause
        flink.submit("pipe", "INSERT INTO `dst` SELECT `id` FROM `src`")
        phase_soon("RUNNING")
        flink.patch("pipe", [{"op": "replace", "path": "/spec/stopped", "value": True}])
        phase_soon("STOPPED")
    finally:
        sandbox.stop()


def test_reading_a_statement_does_not_wait_for_a_step_in_progress(sandbox: Sandbox) -> None:
    """A GET answers from the statement as last saved while a step holds the locks (on Confluent
    Cloud a read does not wait for the statements' work); a finished statement is read from the store."""
    flink = sandbox.flink
    for name in ("fed", "feeds"):
        flink.submit(name, f"CREATE TABLE `{name}` (`id` BIGINT NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED) "
                           "DISTRIBUTED BY HASH(`id`) INTO 1 BUCKETS")
    flink.submit("feed", "INSERT INTO `fed` SELECT `id` FROM `feeds`")
    read: list[dict] = []
    with flink.lock, flink.store.lock:  # a step in progress
        reader = threading.Thread(target=lambda: read.append(flink.get("feed")))
        reader.start()
        reader.join(10)
        answered_while_held = not reader.is_alive()
    reader.join(10)
    assert answered_while_held
    assert read[0]["status"]["phase"] == "RUNNING"
    assert flink.get("fed")["status"]["phase"] == "COMPLETED"
    with pytest.raises(ApiError) as missing:
        flink.get("nope")
    assert missing.value.status == 404


@pytest.mark.parametrize("head", [
    "",
    "-- " + "a long licence header " * 30 + "\n",
    "/* 'a quote inside a comment " + "x" * 380 + "' */\n",
])
def test_a_statement_is_told_by_its_first_words_after_any_comments(sandbox: Sandbox, head: str) -> None:
    flink = sandbox.flink
    created = flink.submit("t", head + "CREATE TABLE `t` (`id` BIGINT NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED) "
                                       "DISTRIBUTED BY HASH(`id`) INTO 1 BUCKETS")
    shown = flink.submit("show", head + "SHOW TABLES")
    assert (created["status"]["traits"]["sql_kind"], shown["status"]["traits"]["sql_kind"]) == (
        "CREATE_TABLE", "SHOW_TABLES")


def test_a_statement_planned_before_is_planned_again_once_a_table_it_reads_changed(sandbox: Sandbox) -> None:
    """A dry run's plan serves the statement's create while its sources are as they were; a source
    created again with another column makes the create plan anew (and fail against its sink)."""
    flink = sandbox.flink

    def create_table(name: str, columns: str) -> None:
        flink.submit(f"ddl-{name}-{len(columns)}", f"CREATE TABLE `{name}` ({columns}, PRIMARY KEY (`id`) "
                                                    "NOT ENFORCED) DISTRIBUTED BY HASH(`id`) INTO 1 BUCKETS")

    create_table("src", "`id` BIGINT NOT NULL, `a` STRING")
    create_table("dst", "`id` BIGINT NOT NULL, `a` STRING")
    flink.produce("src", [{"id": 1, "a": "x"}])
    copy = "INSERT INTO `dst` SELECT * FROM `src`"
    checked = flink.submit("check", copy, {"sql.dry-run": "true"})
    assert checked["status"]["phase"] == "COMPLETED"
    assert flink.submit("copy", copy)["status"]["phase"] == "RUNNING"
    wait_for("the copy", lambda: flink.table_rows("dst") == [{"id": 1, "a": "x"}], timeout=10, poll=0.1)
    flink.submit("drop-src", "DROP TABLE `src`")
    create_table("src", "`id` BIGINT NOT NULL, `a` STRING, `b` STRING")
    again = flink.submit("copy-again", copy)
    assert again["status"]["phase"] == "FAILED"
    assert "Column types of query result and sink for 'dst' do not match" in again["status"]["detail"]
