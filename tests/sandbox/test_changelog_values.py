"""Folding a topic reads each record's JSON once for all its columns: every kind of column still
reads its typed value (text, numbers, bytes, arrays, maps, timestamps as text or epoch
milliseconds, an absent field's Avro default)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import duckdb

from sandbox.flink import changelog
from sandbox.flink.catalog import Column

COLUMNS = [
    Column("id", "BIGINT", nullable=False),
    Column("name", "STRING"),
    Column("price", "DECIMAL(10, 2)"),
    Column("ratio", "DOUBLE"),
    Column("raw", "BYTES"),
    Column("tags", "ARRAY<STRING>"),
    Column("sizes", "MAP<STRING, INT>"),
    Column("at", "TIMESTAMP_LTZ(3)"),
    Column("colour", "STRING", default="blue"),  # added later: records without it read its default
]
RECORDS = [
    {"id": 1, "name": "a'b", "price": "12.34", "ratio": 1e20, "raw": "AQI=", "tags": ["x", None],
     "sizes": {"s": 1}, "at": 1700000000123, "colour": "red"},
    {"id": 2, "name": None, "price": 5, "ratio": 0.5, "at": "2024-01-02T03:04:05.006Z"},
]


def test_every_kind_of_column_reads_its_typed_value_from_one_parse() -> None:
    conn = duckdb.connect()
    conn.execute("CREATE TABLE flink_records (topic VARCHAR, part INTEGER, off BIGINT, op VARCHAR,"
                 " rkey VARCHAR, value VARCHAR)")
    conn.executemany("INSERT INTO flink_records VALUES ('t', 0, ?, '+I', ?, ?)",
                     [(i, json.dumps(r["id"]), json.dumps(r)) for i, r in enumerate(RECORDS)])
    conn.execute("SET TimeZone = 'UTC'")
    changelog.create_state_table(conn, "state", "view", COLUMNS, temp=True)
    assert changelog.fold(conn, "state", "t", COLUMNS, True, {0: 0}, {0: len(RECORDS)}) == 2
    rows = conn.execute("SELECT * FROM view ORDER BY id").fetchall()
    utc = timezone.utc
    assert rows == [
        (1, "a'b", Decimal("12.34"), 1e20, b"\x01\x02", ["x", None], {"s": 1},
         datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=utc), "red"),
        (2, None, Decimal("5.00"), 0.5, None, None, None,
         datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=utc), "blue"),
    ]
