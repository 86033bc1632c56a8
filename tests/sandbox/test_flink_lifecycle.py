"""Stopping and resuming statements (PUT with ``metadata.resource_version``, JSON Patch of
``/spec/stopped``), ``latest_offsets``, resumed state, and carry-over offsets.

These run on a private sandbox whose exchanges must keep the contract (the spec's own
contradictions about PUT are waived centrally: ``sandbox.contracts.KNOWN_SPEC_DEFECTS``).
"""

from __future__ import annotations

import pytest

from tests.support.flink_http import Flink, aggregate_pipeline, eventually, rows_of, unique

pytestmark = pytest.mark.private_sandbox


def test_stop_reports_offsets_and_resume_keeps_state(flink: Flink) -> None:
    source, sink, name = aggregate_pipeline(flink)
    flink.insert(source, "(1, 'a', 1), (2, 'a', 2), (3, 'b', 3)")
    eventually(flink, lambda: len(rows_of(flink, sink, "grp")) == 2, "the first output")

    assert flink.set_stopped(name, True).status_code == 200
    stopped = flink.phase(name, "STOPPED")
    offsets = stopped["status"]["latest_offsets"][source]
    consumed = sum(int(part.split(",")[1].split(":")[1]) for part in offsets.split(";"))
    assert consumed == 3 and offsets.startswith("partition:0,offset:")
    assert stopped["status"]["latest_offsets_timestamp"]
    assert stopped["spec"]["stopped"] is True

    flink.insert(source, "(4, 'a', 4)")
    assert rows_of(flink, sink, "grp")[0] == ["a", "3", "2", "2"]  # stopped: nothing consumed

    assert flink.set_stopped(name, False).status_code == 200
    flink.phase(name, "RUNNING")
    eventually(flink, lambda: rows_of(flink, sink, "grp")[0] == ["a", "7", "3", "4"], "the resumed aggregate")


def test_carry_over_waits_for_the_old_statement_and_is_refused_for_stateful_ones(flink: Flink) -> None:
    source = flink.table(unique("log"), "`id` INT, `msg` STRING")
    old_sink = flink.table(unique("copy-v1"), "`id` INT, `msg` STRING")
    new_sink = flink.table(unique("copy-v2"), "`id` INT, `msg` STRING")
    old = unique("copy-old")
    flink.create(old, f"INSERT INTO `{old_sink}` SELECT id, msg FROM `{source}`")
    flink.insert(source, "(1, 'one'), (2, 'two')")
    eventually(flink, lambda: len(rows_of(flink, old_sink, "id")) == 2, "the old copy")

    new = unique("copy-new")
    flink.create(new, f"INSERT INTO `{new_sink}` SELECT id, UPPER(msg) FROM `{source}`",
                 {"sql.tables.initial-offset-from": old})
    assert flink.get(new)["status"]["phase"] == "PENDING"
    assert flink.set_stopped(old, True).status_code == 200
    flink.phase(new, "RUNNING")
    flink.insert(source, "(3, 'three')")
    eventually(flink, lambda: rows_of(flink, new_sink, "id") == [["3", "THREE"]], "only records after the old one")

    keyed = flink.table(unique("copy-agg"), "`msg` STRING NOT NULL, `top` INT", key="msg")
    stateful = unique("copy-agg")
    flink.create(stateful, f"INSERT INTO `{keyed}` SELECT msg, MAX(id) FROM `{source}` GROUP BY msg",
                 {"sql.tables.initial-offset-from": old})
    assert "stateless" in flink.phase(stateful, "FAILED")["status"]["detail"]


def test_put_stops_and_resumes_refuses_changes_and_stale_versions(flink: Flink) -> None:
    source, sink, name = aggregate_pipeline(flink)
    flink.insert(source, "(1, 'a', 1)")
    eventually(flink, lambda: len(rows_of(flink, sink, "grp")) == 1, "the first output")

    stale = flink.get(name)["metadata"]["resource_version"]
    flink.insert(source, "(2, 'b', 2)")  # data flowing through a statement does not change its resource
    eventually(flink, lambda: len(rows_of(flink, sink, "grp")) == 2, "the second output")
    assert flink.get(name)["metadata"]["resource_version"] == stale
    assert flink.put_stopped(name, True).status_code == 202
    stopped = flink.phase(name, "STOPPED")
    assert stopped["status"]["latest_offsets"][source]

    response = flink.put_stopped(name, False, resource_version=stale)
    assert response.status_code == 409
    assert "read it again" in response.json()["errors"][0]["detail"]

    statement = flink.get(name)
    body = {"name": name, "metadata": {"resource_version": statement["metadata"]["resource_version"]},
            "spec": {**statement["spec"], "statement": "SHOW JOBS", "stopped": False}}
    changed = flink.http.put(f"{flink.base}/{name}", json=body, timeout=30)
    assert changed.status_code == 400
    assert "cannot be changed" in changed.json()["errors"][0]["detail"]

    assert flink.put_stopped(name, False).status_code == 202
    flink.phase(name, "RUNNING")
    flink.insert(source, "(3, 'a', 2)")
    eventually(flink, lambda: rows_of(flink, sink, "grp")[0] == ["a", "3", "2", "2"], "the resumed aggregate")
