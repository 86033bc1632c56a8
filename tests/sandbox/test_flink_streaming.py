"""Continuous statements over real HTTP: aggregates and joins that update as source records arrive,
unbounded SELECTs emitting a changelog, startup modes, schema evolution through Schema Registry, and
restart durability. (Stop and resume are in ``test_flink_lifecycle.py``.)"""

from __future__ import annotations

import json
from collections.abc import Callable

import requests

from tests.support.flink_http import Flink, aggregate_pipeline, eventually, rows_of, unique
from tests.support.sandbox_fixtures import RunningSandbox


def test_continuous_aggregate_updates_as_records_arrive(flink: Flink) -> None:
    source, sink, _ = aggregate_pipeline(flink)
    flink.insert(source, "(1, 'a', 10), (2, 'a', 5), (3, 'b', 7)")
    eventually(flink, lambda: rows_of(flink, sink, "grp") == [["a", "15", "2", "10"], ["b", "7", "1", "7"]],
               "the first aggregate")
    flink.insert(source, "(2, 'b', 20), (4, 'c', 1)")  # key 2 moves from a to b
    eventually(flink, lambda: rows_of(flink, sink, "grp") == [["a", "10", "1", "10"], ["b", "27", "2", "20"],
                                                                ["c", "1", "1", "1"]], "the updated aggregate")


def test_continuous_left_join_with_coalesce_and_cast(flink: Flink) -> None:
    skus = flink.table(unique("sbx-uat.encarta.public.skus"),
                       "`sku_id` BIGINT NOT NULL, `uom_id` BIGINT, `updated_ms` BIGINT", key="sku_id")
    uoms = flink.table(unique("sbx-uat.encarta.public.uoms"), "`uom_id` BIGINT NOT NULL, `code` STRING", key="uom_id")
    sink = flink.table(unique("sku-uom"), "`sku_id` BIGINT NOT NULL, `uom_code` STRING, `sku_text` STRING, "
                       "`updated_at` TIMESTAMP_LTZ(3)", key="sku_id")
    name = unique("join")
    flink.create(name, f"INSERT INTO `{sink}` SELECT s.sku_id, COALESCE(u.code, 'n/a'), CAST(s.sku_id AS STRING), "
                       f"TO_TIMESTAMP_LTZ(s.updated_ms, 3) FROM `{skus}` AS s LEFT JOIN `{uoms}` AS u "
                       "ON s.uom_id = u.uom_id")
    flink.phase(name, "RUNNING")
    flink.insert(skus, "(1, 10, 1700000000123), (2, 20, 1700000000456)")
    flink.insert(uoms, "(10, 'EA')")
    eventually(flink, lambda: rows_of(flink, sink, "sku_id") == [
        ["1", "EA", "1", "2023-11-14 22:13:20.123"], ["2", "n/a", "2", "2023-11-14 22:13:20.456"]], "the join")
    flink.insert(uoms, "(20, 'CS')")
    eventually(flink, lambda: rows_of(flink, sink, "sku_id")[1][1] == "CS", "the join to update")


def test_unbounded_select_stays_running_and_emits_a_changelog(flink: Flink) -> None:
    source = flink.table(unique("events"), "`id` INT NOT NULL, `grp` STRING", key="id")
    flink.insert(source, "(1, 'a'), (2, 'a')")
    name = unique("stream")
    flink.create(name, f"SELECT grp, COUNT(*) AS n FROM `{source}` GROUP BY grp")
    statement = flink.phase(name, "RUNNING")
    traits = statement["status"]["traits"]
    assert traits["is_bounded"] is False and traits["is_append_only"] is False
    assert [c["name"] for c in traits["schema"]["columns"]] == ["grp", "n"]
    # per record, as Flink: +I for the group's first record, then -U/+U for each further one
    eventually(flink, lambda: len(flink.results(name)) == 3, "the first results")
    flink.insert(source, "(3, 'a')")
    eventually(flink, lambda: len(flink.results(name)) == 5, "the update")
    assert flink.results(name) == [{"op": 0, "row": ["a", "1"]}, {"op": 1, "row": ["a", "1"]},
                                   {"op": 2, "row": ["a", "2"]}, {"op": 1, "row": ["a", "2"]},
                                   {"op": 2, "row": ["a", "3"]}]
    assert flink.get(name)["status"]["phase"] == "RUNNING"


def test_latest_offset_startup_mode_skips_existing_records(flink: Flink) -> None:
    source = flink.table(unique("late"), "`id` INT, `msg` STRING")
    sink = flink.table(unique("late-copy"), "`id` INT, `msg` STRING")
    flink.insert(source, "(1, 'old')")
    name = unique("late-stmt")
    flink.create(name, f"INSERT INTO `{sink}` SELECT * FROM `{source}`",
                 {"sql.tables.scan.startup.mode": "latest-offset"})
    flink.phase(name, "RUNNING")
    flink.insert(source, "(2, 'new')")
    eventually(flink, lambda: rows_of(flink, sink, "id") == [["2", "new"]], "the new record only")


def test_append_sink_refuses_an_updating_query(flink: Flink) -> None:
    source = flink.table(unique("upd-src"), "`id` INT NOT NULL, `grp` STRING", key="id")
    sink = flink.table(unique("append-sink"), "`grp` STRING, `n` BIGINT")
    name = unique("refused")
    flink.create(name, f"INSERT INTO `{sink}` SELECT grp, COUNT(*) FROM `{source}` GROUP BY grp")
    assert "doesn't support consuming update" in flink.phase(name, "FAILED")["status"]["detail"]


def add_value_fields(flink: Flink, table: str, *fields: dict) -> None:
    """Register a new latest value schema of ``table``: its latest one with ``fields`` appended."""
    subject = f"{table}-value"
    sr = requests.Session()
    sr.auth = flink.sandbox.auth
    latest = sr.get(f"{flink.sandbox.url}/subjects/{subject}/versions/latest", timeout=30).json()
    schema = json.loads(latest["schema"])
    schema["fields"] += list(fields)
    registered = sr.post(f"{flink.sandbox.url}/subjects/{subject}/versions", json={"schema": json.dumps(schema)},
                         headers={"Content-Type": "application/vnd.schemaregistry.v1+json"}, timeout=30)
    assert registered.status_code == 200, registered.text


def test_new_value_schema_version_adds_a_column_read_as_its_default(flink: Flink) -> None:
    table = flink.table(unique("evolve"), "`id` INT NOT NULL, `name` STRING", key="id")
    flink.insert(table, "(1, 'before')")
    add_value_fields(flink, table, {"name": "colour", "type": ["null", "string"], "default": None})
    describe = flink.run(unique("desc"), f"DESCRIBE `{table}`")
    assert [r["row"][0] for r in flink.results(describe["name"])] == ["id", "name", "colour"]
    flink.insert(table, "(2, 'after', 'red')")
    assert rows_of(flink, table, "id") == [["1", "before", None], ["2", "after", "red"]]


def test_old_records_read_logical_type_defaults_of_a_newer_value_schema(flink: Flink) -> None:
    """Avro gives a logical type's default in its underlying type (a ``timestamp-millis`` default is
    epoch milliseconds, a ``date`` one days): records written before the field existed read it."""
    table = flink.table(unique("evolve-ts"), "`id` INT NOT NULL, `name` STRING", key="id")
    flink.insert(table, "(1, 'before')")
    add_value_fields(flink, table,
                     {"name": "created_at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": 0},
                     {"name": "since", "type": {"type": "int", "logicalType": "date"}, "default": 1})
    assert rows_of(flink, table, "id") == [["1", "before", "1970-01-01 00:00:00.000", "1970-01-02"]]
    flink.insert(table, "(2, 'after', TO_TIMESTAMP_LTZ(1700000000123, 3), DATE '2024-01-31')")
    assert flink.snapshot(f"SELECT id, created_at, since FROM `{table}` WHERE created_at > TO_TIMESTAMP_LTZ(0, 3)") \
        == [["2", "2023-11-14 22:13:20.123", "2024-01-31"]]


def test_state_and_statements_survive_a_restart(sandbox_factory: Callable[..., RunningSandbox], tmp_path) -> None:
    first = sandbox_factory(data_dir=tmp_path / "durable")
    flink = Flink(first)
    source, sink, name = aggregate_pipeline(flink)
    flink.insert(source, "(1, 'a', 1), (2, 'a', 2)")
    eventually(flink, lambda: rows_of(flink, sink, "grp") == [["a", "3", "2", "2"]], "the first output")
    first.process.stop()

    second = sandbox_factory(data_dir=tmp_path / "durable")
    flink = Flink(second)
    assert flink.get(name)["status"]["phase"] == "RUNNING"
    flink.insert(source, "(3, 'a', 3)")
    eventually(flink, lambda: rows_of(flink, sink, "grp") == [["a", "6", "3", "3"]], "the aggregate after restart")


