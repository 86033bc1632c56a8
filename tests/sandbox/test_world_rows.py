"""The world's row synthesiser and change generator, on their own (no server)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from sandbox.store import Store
from sandbox.world.changes import AppliedWatermark, ChangeGenerator, ChangeLog, Positions
from sandbox.flink.catalog import Column
from sandbox.world.rows import RowSynthesiser, TableSpec

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
SKUS = TableSpec(
    "sbx-uat.encarta.public.skus",
    (
        Column("id", "BIGINT", nullable=False),
        Column("sku_code", "STRING"),
        Column("brand", "STRING"),
        Column("gross_weight", "DECIMAL(10, 3)"),
        Column("is_active", "BOOLEAN"),
        Column("created_at", "TIMESTAMP_LTZ(3)", nullable=False),
        Column("updated_at", "TIMESTAMP_LTZ(3)", nullable=False),
    ),
    ("id",),
)
UOMS = TableSpec(
    "sbx-uat.encarta.public.uoms",
    (
        Column("id", "BIGINT", nullable=False),
        Column("sku_id", "BIGINT", nullable=False),
        Column("uom_code", "STRING"),
        Column("created_at", "TIMESTAMP_LTZ(3)", nullable=False),
        Column("updated_at", "TIMESTAMP_LTZ(3)", nullable=False),
    ),
    ("id",),
)
TABLES = {t.name: t for t in (SKUS, UOMS)}


def synthesise(seed: int = 7) -> tuple[RowSynthesiser, dict[str, list[dict]]]:
    synth = RowSynthesiser(TABLES, seed=seed, now=NOW)
    rows: dict[str, list[dict]] = {}
    for table, count in ((SKUS, 50), (UOMS, 150)):
        rows[table.name] = []
        for _ in range(count):
            row = synth.new_row(table)
            synth.remember(table, row)
            rows[table.name].append(row)
    return synth, rows


def test_rows_are_deterministic_for_a_seed_and_differ_across_seeds():
    assert synthesise(7)[1] == synthesise(7)[1]
    assert synthesise(7)[1] != synthesise(8)[1]


def test_rows_have_unique_keys_typed_values_and_created_at_not_after_updated_at():
    _, rows = synthesise()
    skus = rows[SKUS.name]
    assert len({r["id"] for r in skus}) == len(skus)
    for row in skus + rows[UOMS.name]:
        assert row["created_at"] <= row["updated_at"] <= NOW
        assert row["created_at"].microsecond % 1000 == 0
    weights = [r["gross_weight"] for r in skus if r["gross_weight"] is not None]
    assert weights and all(isinstance(w, Decimal) and w.as_tuple().exponent == -3 for w in weights)


def test_child_rows_refer_to_existing_parent_keys():
    _, rows = synthesise()
    sku_ids = {r["id"] for r in rows[SKUS.name]}
    assert {r["sku_id"] for r in rows[UOMS.name]} <= sku_ids


def test_generator_records_every_change_it_produces(tmp_path):
    synth, rows = synthesise()
    current = {name: {str(r["id"]): r for r in table_rows} for name, table_rows in rows.items()}
    produced: list[tuple[str, dict]] = []
    store = Store(tmp_path)
    change_log = ChangeLog(store)
    generator = ChangeGenerator(
        tables=TABLES,
        current=current,
        synthesiser=synth,
        produce=lambda batches: produced.extend((t, r) for t, rows in batches.items() for r in rows),
        log_=change_log,
        changes_per_second=0,
        applied=AppliedWatermark(change_log, [], lambda: Positions({}, {})),
    )
    made = generator.make_changes(40)
    assert [c.seq for c in made] == list(range(1, 41))
    assert {c.op for c in made} == {"insert", "update"}
    for name in TABLES:  # produced in the order recorded, table by table
        recorded = [c for c in made if c.table == name]
        rows_out = [r for t, r in produced if t == name]
        assert [c.key for c in recorded] == [str(r["id"]) for r in rows_out]
        for change, row in zip(recorded, rows_out, strict=True):
            assert change.updated_at == row["updated_at"] >= row["created_at"]
    assert [c.seq for c in ChangeLog(store).since(35)] == [36, 37, 38, 39, 40]
    store.close()


class FakePipelines:
    """Source ``src`` -> pipeline ``agg`` -> ``mid`` -> pipeline ``top`` (reads ``src`` too) -> ``top``.

    Offsets are single-partition; ``read`` says how far each pipeline has consumed.
    """

    def __init__(self) -> None:
        self.ends = {"src": 0, "mid": 0, "top": 0}
        self.read = {"agg": {"src": 0}, "top": {"src": 0, "mid": 0}}
        self.running = {"agg", "top"}

    def positions(self) -> Positions:
        sinks = {"agg": "mid", "top": "top"}
        writers: dict[str, list] = {}
        for name in self.running:
            writers.setdefault(sinks[name], []).append({t: {0: o} for t, o in self.read[name].items()})
        return Positions({t: {0: o} for t, o in self.ends.items()}, writers)

    def step(self, name: str) -> None:
        """``name`` consumes everything and writes one output record."""
        self.read[name] = {t: self.ends[t] for t in self.read[name]}
        self.ends["mid" if name == "agg" else "top"] += 1


def test_applied_follows_changes_through_the_pipelines_upstream_first_and_never_passes_made(tmp_path):
    store = Store(tmp_path)
    change_log = ChangeLog(store)
    world = FakePipelines()
    applied = AppliedWatermark(change_log, ["mid", "top"], world.positions)

    def make(count: int) -> None:  # produced first, then recorded, as the generator does
        world.ends["src"] += count
        change_log.record([("src", str(i), "insert", NOW) for i in range(count)])

    assert applied.poll() == 0
    make(3)
    assert applied.poll() == 0  # a probe started at change 3; nothing consumed yet
    world.step("top")  # downstream first: it has not seen agg's output for changes 1-3 yet
    make(2)
    assert applied.poll() == 0
    world.step("agg")
    assert applied.poll() == 0  # mid now holds 1-3, top has not read it
    world.step("top")
    assert applied.poll() == 3  # the probe of change 3 completes
    assert applied.poll() == 5  # the next one starts at 5, which both pipelines have already read
    make(4)
    assert applied.poll() == 5  # a probe at 9
    world.running.discard("agg")  # mid has no RUNNING writer (e.g. in a cut-over): 6-9 cannot be applied
    world.step("top")
    assert applied.poll() == 5
    world.running.add("agg")
    world.step("agg")
    assert applied.poll() == 5  # top has not read agg's output for 6-9
    world.step("top")
    assert applied.poll() == 9 == change_log.last_seq()
    store.close()


def test_a_probe_restarts_when_a_table_is_created_again(tmp_path):
    store = Store(tmp_path)
    change_log = ChangeLog(store)
    world = FakePipelines()
    applied = AppliedWatermark(change_log, ["mid", "top"], world.positions)
    world.ends["src"] += 2
    change_log.record([("src", str(i), "insert", NOW) for i in range(2)])
    world.step("agg")
    world.step("agg")
    assert applied.poll() == 0  # mid's target is its end now: 2
    world.ends["mid"], world.read["top"]["mid"] = 0, 0  # mid dropped and created again, empty
    assert applied.poll() == 0  # the probe is outdated: dropped
    world.step("agg")
    world.step("top")
    assert applied.poll() == 2
    store.close()


@pytest.mark.parametrize("table", [SKUS, UOMS])
def test_an_update_keeps_key_and_created_at_and_moves_updated_at(table):
    synth, rows = synthesise()
    before = rows[table.name][0]
    after = synth.updated_row(table, before, NOW)
    assert after["id"] == before["id"] and after["created_at"] == before["created_at"]
    assert after["updated_at"] == NOW
