"""A short summary of a running world, read over HTTP the way an operator would see it:
the world's control endpoint for tables and changes, Confluent's statements API for the pipelines'
phases, and the Metrics API for their pending records ("Messages Behind").
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import requests

PENDING_RECORDS = "io.confluent.flink/pending_records"


def world(url: str, auth: tuple[str, str], timeout: float = 10, tables: bool = True) -> dict:
    """The raw ``GET /sandbox/v1/world`` document (``tables=False``: without counting rows)."""
    response = requests.get(f"{url}/sandbox/v1/world", params={"tables": str(tables).lower()}, auth=auth,
                            timeout=timeout)
    response.raise_for_status()
    return response.json()


def wait_until_ready(url: str, auth: tuple[str, str], timeout: float = 300) -> dict:
    """Wait until the world is built (its pipelines submitted); raise if the build failed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            doc = world(url, auth, tables=False)
        except requests.Timeout:  # a build on a busy host can keep the server from answering for a while
            doc = {"state": "slow to answer"}
        if doc["state"] == "ready":
            return doc
        if doc["state"] == "failed":
            raise RuntimeError(f"the encarta world failed to build at {url}: {doc.get('error')}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the encarta world at {url} is still {doc['state']} after {timeout:.0f}s")
        time.sleep(0.5)


def pending_records(url: str, auth: tuple[str, str], statements: list[str]) -> dict[str, float | None]:
    """The latest ``pending_records`` of each statement, from one Metrics API query."""
    end = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
    body = {
        "aggregations": [{"metric": PENDING_RECORDS}],
        "filter": {"op": "OR", "filters": [
            {"field": "resource.flink_statement.name", "op": "EQ", "value": name} for name in statements
        ]},
        "granularity": "PT1M",
        "intervals": [f"{(end - timedelta(minutes=5)).isoformat()}/{end.isoformat()}"],
        "group_by": ["resource.flink_statement.name"],
        "limit": 1000,
    }
    response = requests.post(f"{url}/v2/metrics/cloud/query", json=body, auth=auth, timeout=10)
    response.raise_for_status()
    latest: dict[str, tuple[str, float]] = {}
    for point in response.json().get("data", []):
        name = point.get("resource.flink_statement.name")
        if name and (name not in latest or point["timestamp"] >= latest[name][0]):
            latest[name] = (point["timestamp"], point["value"])
    return {name: latest[name][1] if name in latest else None for name in statements}


def pipeline_statements(base: str, auth: tuple[str, str]) -> list[dict]:
    """Every continuous ``INSERT`` statement of the environment (the world's v1 pipelines and any
    a migration started), from the statements API, following ``metadata.next``."""
    found, page = [], f"{base}/statements?page_size=100"
    while page:
        response = requests.get(page, auth=auth, timeout=10)
        response.raise_for_status()
        doc = response.json()
        found += [{"statement": s["name"], "phase": s["status"]["phase"]} for s in doc["data"]
                  if s["spec"]["statement"].lstrip().upper().startswith("INSERT")
                  and not s["status"].get("traits", {}).get("is_bounded")]
        page = doc.get("metadata", {}).get("next") or ""
    return found


def status(url: str, auth: tuple[str, str]) -> dict:
    """The world's pipelines and every other running or stopped pipeline statement (phase, pending
    records), records per table, changes made and applied."""
    doc = world(url, auth)
    base = f"{url}/sql/v1/organizations/{doc['organization_id']}/environments/{doc['environment_id']}"
    statements = pipeline_statements(base, auth)
    pending = pending_records(url, auth, [s["statement"] for s in statements]) if statements else {}
    phases = {s["statement"]: s["phase"] for s in statements}
    world_names = {p["statement"] for p in doc["pipelines"]}
    pipelines = [{**p, "phase": phases.get(p["statement"], "ABSENT"), "pending_records": pending.get(p["statement"])}
                 for p in doc["pipelines"]]
    others = [{**s, "pending_records": pending.get(s["statement"])} for s in statements
              if s["statement"] not in world_names]
    return {
        "state": doc["state"],
        "pipelines": pipelines,
        "other_statements": others,
        "tables": doc["tables"],
        "changes": doc["changes"],
    }


def summary(status_doc: dict) -> str:
    """``status()`` as a few lines of text for a terminal."""
    lines = [f"encarta world: {status_doc['state']}"]
    for p in status_doc["pipelines"] + status_doc["other_statements"]:
        lines.append(f"  {p['statement']:<48} {p['phase']:<10} pending records: {p['pending_records']}")
    for name, count in status_doc["tables"].items():
        lines.append(f"  {name:<55} {count:>7} records")
    c = status_doc["changes"]
    lines.append(f"  changes made: {c['made']}, applied: {c['applied']}, pending: {c['made'] - c['applied']}"
                 f"{' (generator paused)' if c['paused'] else ''}")
    return "\n".join(lines)
