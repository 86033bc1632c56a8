"""A GROUP BY over one source recomputes only the groups a step's records touched, a join of lookups
only the rows its records reach: what it emits must be what a full recompute of the query emits,
step by step, on a random change stream."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from sandbox.flink import service
from sandbox.flink.engine import Engine
from sandbox.flink.translate import QueryPlan
from sandbox.server import Sandbox

SOURCES = {
    "inc.items": ("`k` BIGINT NOT NULL, `g` BIGINT, `h` STRING, `v` INT, `s` STRING, PRIMARY KEY (`k`) NOT ENFORCED",
                  "DISTRIBUTED BY HASH(`k`) INTO 3 BUCKETS"),
    "inc.events": ("`g` BIGINT, `h` STRING, `v` INT, `s` STRING", "WITH ('changelog.mode' = 'append')"),
    "inc.groups": ("`g` BIGINT NOT NULL, `label` STRING, `w` INT, PRIMARY KEY (`g`) NOT ENFORCED",
                   "DISTRIBUTED BY HASH(`g`) INTO 2 BUCKETS"),
    "inc.tags": ("`h` STRING NOT NULL, `tag` STRING, PRIMARY KEY (`h`) NOT ENFORCED", ""),
}
# name -> (sink columns and key, or None for a SELECT's result changelog; the query)
QUERIES = {
    "count": ("`g` BIGINT NOT NULL, `n` BIGINT, `total` BIGINT, `top` STRING, PRIMARY KEY (`g`) NOT ENFORCED",
              "SELECT g, COUNT(*) AS n, SUM(v) AS total, MAX(s) AS top FROM `inc.items` WHERE g IS NOT NULL GROUP BY g"),
    "pairs": ("`g` BIGINT NOT NULL, `h` STRING NOT NULL, `kinds` BIGINT, PRIMARY KEY (`g`, `h`) NOT ENFORCED",
              "SELECT i.g, i.h, COUNT(DISTINCT i.s) AS kinds FROM `inc.items` i WHERE i.g IS NOT NULL AND i.h IS NOT NULL "
              "GROUP BY i.g, i.h HAVING COUNT(*) > 1"),
    "events": ("`h` STRING NOT NULL, `n` BIGINT, `low` INT, PRIMARY KEY (`h`) NOT ENFORCED",
               "SELECT h, COUNT(*) AS n, MIN(v) AS low FROM `inc.events` WHERE h IS NOT NULL GROUP BY h"),
    "select-nulls": (None, "SELECT g, COUNT(*) AS n, MAX(v) AS top FROM `inc.items` GROUP BY g"),
    "select-pairs": (None, "SELECT h, g, SUM(v) AS total FROM `inc.items` GROUP BY g, h HAVING SUM(v) > 20"),
    "lookups": ("`k` BIGINT NOT NULL, `v` INT, `label` STRING, `tag` STRING, PRIMARY KEY (`k`) NOT ENFORCED",
                "SELECT i.k, i.v, gr.label, t.tag FROM `inc.items` i LEFT JOIN `inc.groups` gr ON gr.g = i.g "
                "LEFT JOIN `inc.tags` t ON i.h = t.h"),
    "inner": ("`g` BIGINT, `k` BIGINT NOT NULL, `total` INT, PRIMARY KEY (`k`) NOT ENFORCED",
              "SELECT i.g, i.k, gr.w + i.v AS total FROM `inc.items` i JOIN `inc.groups` gr ON i.g = gr.g"),
}


def _item(rng: random.Random) -> dict:
    return {"k": rng.randrange(60), "g": rng.choice([None, *range(8)]), "h": rng.choice([None, "a", "b", "c"]),
            "v": rng.randrange(-5, 30), "s": rng.choice(["x", "y", "z", None])}


def _group(rng: random.Random) -> dict:
    return {"g": rng.randrange(9), "label": rng.choice([None, "l1", "l2"]), "w": rng.randrange(10)}


def _tag(rng: random.Random) -> dict:
    return {"h": rng.choice(["a", "b", "c", "d"]), "tag": rng.choice([None, "t1", "t2", "t3"])}


def _event(rng: random.Random) -> dict:
    return {"g": rng.randrange(4), "h": rng.choice([None, "p", "q", "r", "s"]), "v": rng.randrange(100),
            "s": "e"}


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    monkeypatch.setattr(service, "INSERT_STEP_SECONDS", 0.0)  # every tick steps every pipeline
    full = Engine._groups  # the twins named full-* recompute in full, as before
    monkeypatch.setattr(Engine, "_groups", staticmethod(
        lambda record, plan: [] if record.name.startswith("full-") else full(record, plan)))
    return Sandbox(SandboxConfig(data_dir=tmp_path))


def _outputs(sandbox: Sandbox, name: str, sink: bool) -> list:
    """Everything statement ``name`` emitted so far, as a sorted multiset."""
    flink = sandbox.flink
    if sink:
        rows = flink.engine.store.execute(
            "SELECT part, op, rkey, value FROM flink_records WHERE topic = ?", [f"{name}_sink"])
        return sorted(rows, key=repr)
    record = flink.statements.get(name)
    return sorted(((r["op"], json.dumps(r["row"])) for r in flink.engine.results(record.uid, 0, 10**6)), key=repr)


def test_recomputing_touched_groups_emits_what_a_full_recompute_emits(sandbox: Sandbox) -> None:
    rng = random.Random(13)
    flink = sandbox.flink
    for i, (table, (columns, tail)) in enumerate(SOURCES.items()):
        assert flink.submit(f"src-{i}", f"CREATE TABLE `{table}` ({columns}) {tail}")["status"]["phase"] == "COMPLETED"
    flink.produce("inc.items", [_item(rng) for _ in range(40)])
    flink.produce("inc.groups", [_group(rng) for _ in range(6)])
    flink.produce("inc.tags", [_tag(rng) for _ in range(3)])
    names = []
    for name, (sink, query) in QUERIES.items():
        for twin in (name, f"full-{name}"):
            if sink:
                flink.submit(f"sink-{twin}", f"CREATE TABLE `{twin}_sink` ({sink})")
                statement = flink.submit(twin, f"INSERT INTO `{twin}_sink` {query}")
            else:
                statement = flink.submit(twin, query)
            assert statement["status"]["phase"] == "RUNNING", statement["status"]
        plan = QueryPlan.from_json(flink.statements.get(name).job["plan"])
        assert Engine._groups(flink.statements.get(name), plan), f"{name} should recompute only touched groups"
        names.append((name, sink is not None))
    for tick in range(24):
        if tick == 8:  # a backlog larger than a result changelog's per-record steps
            flink.produce("inc.items", [_item(rng) for _ in range(205)])
        for _ in range(rng.randrange(0, 8)):
            op = rng.choices(["upsert", "delete"], [4, 1])[0]
            draw = rng.random()
            if draw < 0.3:
                flink.produce("inc.events", [_event(rng) for _ in range(rng.randrange(1, 4))], "insert")
            elif draw < 0.4:
                flink.produce("inc.groups", [_group(rng) for _ in range(rng.randrange(1, 3))], op)
            elif draw < 0.5:
                flink.produce("inc.tags", [_tag(rng)], op)
            else:
                flink.produce("inc.items", [_item(rng) for _ in range(rng.randrange(1, 4))], op)
        while flink.tick():
            pass
        for name, sink in names:
            for twin in (name, f"full-{name}"):
                assert flink.statements.get(twin).phase == "RUNNING", flink.statements.get(twin).detail
            assert _outputs(sandbox, name, sink) == _outputs(sandbox, f"full-{name}", sink), (name, tick)
    for name, sink in names:
        assert _outputs(sandbox, name, sink), f"{name} emitted nothing"
        incremental, full = (flink.engine.store.execute(
            f"SELECT * FROM flink_st_{flink.statements.get(n).uid.replace('-', '')}_out ORDER BY ALL")
            for n in (name, f"full-{name}"))
        assert incremental == full, name


def test_wide_rows_diff_as_the_column_by_column_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wide keyed outputs are compared as whole rows: the same changes and the same previous output as
    comparing them column by column, on random tables (NULLs, NaN, lists, a vanished and a new key)."""
    import duckdb

    from sandbox.flink import changelog

    rng = random.Random(5)
    names = [f"c{i}" for i in range(changelog.WIDE + 4)]
    types = ["BIGINT", "DOUBLE", "VARCHAR", "VARCHAR[]", "DECIMAL(10, 3)"]
    columns = ", ".join(f"{n} {'BIGINT' if i == 0 else types[i % len(types)]}" for i, n in enumerate(names))

    def value(i: int) -> str:
        kind = types[i % len(types)]
        if rng.random() < 0.2:
            return "NULL"
        if kind == "DOUBLE":
            return rng.choice(["'nan'", "1.5", "-0.0", "0.0"])
        if kind == "VARCHAR":
            return rng.choice(["'a'", "'b'", "''"])
        if kind == "VARCHAR[]":
            return rng.choice(["[]", "['a']", "['a', NULL]"])
        return str(rng.randrange(3))

    results = []
    for wide in (changelog.WIDE, 10**6):  # whole rows, then column by column
        monkeypatch.setattr(changelog, "WIDE", wide)
        conn = duckdb.connect()
        conn.execute(f"CREATE TABLE prev ({columns})")
        conn.execute(f"CREATE TABLE cur ({columns})")
        rng.seed(5)
        for step in range(12):
            rows = {k: [str(k)] + [value(i) for i in range(1, len(names))] for k in rng.sample(range(30), 20)}
            conn.execute("DELETE FROM cur")
            conn.execute("INSERT INTO cur VALUES " + ", ".join(f"({', '.join(r)})" for r in rows.values()))
            changes = changelog.diff(conn, "prev", "cur", names, ["c0"], retract=step % 2 == 0)
            results.append(sorted((c.op, repr(c.row)) for c in changes))
            results.append(conn.execute("SELECT * FROM prev ORDER BY c0").fetchall().__repr__())
    half = len(results) // 2
    assert any(results[:half:2]), "no change compared"
    assert results[:half] == results[half:]


def test_a_pipeline_started_from_the_earliest_offset_folds_every_record_and_goes_on(sandbox: Sandbox) -> None:
    """Started after a snapshot query folded part of its source's log, and after deletes: its sink must
    hold what a snapshot query of the source gives, and so again after more records arrive."""
    rng = random.Random(7)
    flink = sandbox.flink
    columns, tail = SOURCES["inc.items"]
    flink.submit("src-items", f"CREATE TABLE `inc.items` ({columns}) {tail}")
    flink.produce("inc.items", [_item(rng) for _ in range(50)])
    now = {"sql.snapshot.mode": "now"}
    assert flink.submit("early", "SELECT COUNT(*) FROM `inc.items`", now)["status"]["phase"] == "COMPLETED"
    flink.produce("inc.items", [_item(rng) for _ in range(30)])
    flink.produce("inc.items", [_item(rng) for _ in range(10)], "delete")
    flink.submit("sink", "CREATE TABLE `copy_sink` (`k` BIGINT NOT NULL, `g` BIGINT, `v` INT, "
                         "PRIMARY KEY (`k`) NOT ENFORCED)")

    def expected() -> list:
        name = f"now-{rng.random()}"
        assert flink.submit(name, "SELECT k, g, v FROM `inc.items`", now)["status"]["phase"] == "COMPLETED"
        uid = flink.statements.get(name).uid
        return sorted(tuple(r["row"]) for r in flink.engine.results(uid, 0, 10**6))

    def sink() -> list:
        return sorted(tuple(None if v is None else str(v) for v in row.values())
                      for row in flink.table_rows("copy_sink"))

    copy = flink.submit("copy", "INSERT INTO `copy_sink` SELECT k, g, v FROM `inc.items`")
    assert copy["status"]["phase"] == "RUNNING"
    while flink.tick():
        pass
    records = sum(flink.topics.end_offsets("inc.items").values())
    assert flink.statements.get("copy").job["records_in"] == records
    assert sink() == expected() and sink()
    flink.produce("inc.items", [_item(rng) for _ in range(20)])
    flink.produce("inc.items", [_item(rng) for _ in range(5)], "delete")
    while flink.tick():
        pass
    assert sink() == expected()
