"""The sandbox's Metrics API (``POST /v2/metrics/cloud/query``) over real HTTP, for the Flink statement
metrics, computed from the statements' real counters. (On a private sandbox, since one test stops a
statement.)"""

from __future__ import annotations

import pytest
import requests

from tests.support.flink_http import Flink, eventually, rows_of, unique

pytestmark = pytest.mark.private_sandbox

METRIC = "io.confluent.flink/"


def query(flink: Flink, body: dict) -> requests.Response:
    return flink.http.post(f"{flink.sandbox.url}/v2/metrics/cloud/query", json=body, timeout=30)


def by_statement(*names: str) -> dict:
    return {"op": "OR", "filters": [{"field": "resource.flink_statement.name", "op": "EQ", "value": n}
                                    for n in names]}


def copy_pipeline(flink: Flink) -> tuple[str, str, str]:
    source = flink.table(unique("m-src"), "`id` INT NOT NULL, `grp` STRING", key="id")
    sink = flink.table(unique("m-dst"), "`grp` STRING NOT NULL, `n` BIGINT", key="grp")
    name = unique("m-agg")
    flink.create(name, f"INSERT INTO `{sink}` SELECT grp, COUNT(*) FROM `{source}` GROUP BY grp")
    flink.phase(name, "RUNNING")
    return source, sink, name


def total(response: requests.Response) -> float:
    assert response.status_code == 200, response.text
    return sum(point["value"] for point in response.json()["data"])


def test_records_in_and_out_per_statement(flink: Flink) -> None:
    source, sink, name = copy_pipeline(flink)
    other_source, _, other = copy_pipeline(flink)
    flink.insert(source, "(1, 'a'), (2, 'a'), (3, 'b')")
    flink.insert(other_source, "(1, 'x')")
    eventually(flink, lambda: len(rows_of(flink, sink, "grp")) == 2, "the pipeline to consume")

    pool = flink.sandbox.config.compute_pool_id
    body = {
        "aggregations": [{"metric": METRIC + "num_records_in"}],
        "filter": {"op": "AND", "filters": [
            {"field": "resource.flink_statement.name", "op": "EQ", "value": name},
            {"field": "resource.compute_pool.id", "op": "EQ", "value": pool}]},
        "granularity": "PT1M",
        "intervals": ["now-10m/now"],
        "group_by": ["resource.flink_statement.name"],
        "limit": 1000,
    }
    eventually(flink, lambda: total(query(flink, body)) == 3, "num_records_in to count the 3 records")
    points = query(flink, body).json()["data"]
    assert {p["resource.flink_statement.name"] for p in points} == {name}
    assert all(p["timestamp"].endswith(":00Z") for p in points)  # minute buckets

    out = {**body, "aggregations": [{"metric": METRIC + "num_records_out"}]}
    assert total(query(flink, out)) == 2  # +I a (n=2), +I b: the three records arrived in one step

    both = {**body, "filter": by_statement(name, other), "granularity": "ALL", "format": "GROUPED"}
    eventually(flink, lambda: {g["resource.flink_statement.name"]: sum(p["value"] for p in g["points"])
                               for g in query(flink, both).json()["data"]} == {name: 3, other: 1},
               "both statements' counts")


def test_pending_records_are_the_messages_behind(flink: Flink) -> None:
    source, sink, name = copy_pipeline(flink)
    flink.insert(source, "(1, 'a')")
    eventually(flink, lambda: len(rows_of(flink, sink, "grp")) == 1, "the pipeline to consume")
    flink.set_stopped(name, True)
    flink.phase(name, "STOPPED")
    flink.insert(source, "(2, 'b'), (3, 'c')")
    body = {"aggregations": [{"metric": METRIC + "pending_records"}], "filter": by_statement(name),
            "granularity": "PT1M", "intervals": ["PT5M/now"]}
    response = query(flink, body)
    assert response.status_code == 200
    assert response.json()["data"][-1]["value"] == 2


def test_watermarks_report_none_yet_and_bad_queries_are_refused(flink: Flink) -> None:
    _, _, name = copy_pipeline(flink)
    body = {"aggregations": [{"metric": METRIC + "current_input_watermark_milliseconds"}],
            "filter": by_statement(name), "granularity": "PT1M", "intervals": ["now-5m/now"]}
    data = query(flink, body).json()["data"]
    assert data and all(p["value"] == -(2**63) for p in data)

    unknown = query(flink, {**body, "aggregations": [{"metric": "io.confluent.flink/no_such_metric"}]})
    assert unknown.status_code == 400
    assert "no_such_metric" in unknown.json()["errors"][0]["detail"]
