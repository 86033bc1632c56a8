"""The world's row synthesiser and change generator, on their own (no server)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from sandbox.store import Store
from sandbox.world.changes import AppliedWatermark, ChangeGenerator, ChangeLog
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
    pending = [3]
    generator = ChangeGenerator(
        tables=TABLES,
        current=current,
        synthesiser=synth,
        produce=lambda table, batch: produced.extend((table, r) for r in batch),
        log_=change_log,
        changes_per_second=0,
        applied=AppliedWatermark(change_log, lambda: pending[0]),
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
    assert generator.applied.poll() == 0  # the pipelines still have records to consume
    pending[0] = 0
    assert generator.applied.poll() == 40
    store.close()


@pytest.mark.parametrize("table", [SKUS, UOMS])
def test_an_update_keeps_key_and_created_at_and_moves_updated_at(table):
    synth, rows = synthesise()
    before = rows[table.name][0]
    after = synth.updated_row(table, before, NOW)
    assert after["id"] == before["id"] and after["created_at"] == before["created_at"]
    assert after["updated_at"] == NOW
