"""The committed value schemas (include/schemas) against their DDL, and v1 -> v2 under FULL_TRANSITIVE.

Each ``.avsc`` must be what Confluent Cloud's Flink-to-Avro mapping makes of its table's DDL, field
by field; v2's must be the *evolution* a migration registers (added NOT NULL fields get a default),
because the plain mapping of the v2 DDL (what a fresh CREATE TABLE registers) cannot read v1 data.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import avro.io
import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityResult, SchemaCompatibilityType

from confluent_migration.avro_mapping import NAMESPACE, evolved_value_schema, value_schema
from confluent_migration.migration.manifest import TableSpec, load_manifest

MANIFEST = load_manifest()
SPECS = MANIFEST.in_dependency_order()
TIMESTAMP_MILLIS = {"type": "long", "logicalType": "timestamp-millis"}


def committed(spec: TableSpec, version: str) -> dict:
    return json.loads(MANIFEST.sql(spec.version(version).schema))


def mapped(spec: TableSpec, version: str) -> dict:
    """What the schema must be: v1 as CREATE TABLE registers it, v2 as the migration evolves it."""
    v1 = MANIFEST.definition(spec, "v1")
    return value_schema(v1, spec.name) if version == "v1" else evolved_value_schema(
        v1, MANIFEST.definition(spec, "v2"), spec.name)


def check(reader: dict, writer: dict) -> SchemaCompatibilityResult:
    return ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer)))


def compatible(reader: dict, writer: dict) -> bool:
    return check(reader, writer).compatibility is SchemaCompatibilityType.compatible


CASES = [(spec, version) for spec in SPECS for version in ("v1", "v2")]


@pytest.mark.parametrize(("spec", "version"), CASES, ids=[f"{v}-{s.name}" for s, v in CASES])
def test_each_committed_schema_is_its_ddl_field_by_field(spec: TableSpec, version: str):
    schema, table = committed(spec, version), MANIFEST.definition(spec, version)
    where = spec.version(version).schema
    assert (schema["type"], schema["name"], schema["namespace"]) == ("record", f"{spec.name}_value", NAMESPACE), where
    value_columns = [c for c in table.columns if c.name not in table.primary_key]  # except-key
    assert [f["name"] for f in schema["fields"]] == [c.name for c in value_columns], f"{where}: names or order"
    for field, column in zip(schema["fields"], value_columns):
        nullable_union = isinstance(field["type"], list) and field["type"][0] == "null"
        assert nullable_union == column.nullable, f"{where}: {column.name} nullability"
        if column.nullable:
            assert field["default"] is None, f"{where}: {column.name} default"
        if column.type == "TIMESTAMP_LTZ(3)":
            assert (field["type"][1] if column.nullable else field["type"]) == TIMESTAMP_MILLIS, where
    expected = mapped(spec, version)
    for field, want in zip(schema["fields"], expected["fields"]):
        assert field == want, f"{where}: field {field['name']}"
    assert schema == expected, where


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_v2_is_full_transitive_compatible_with_v1(spec: TableSpec):
    """FULL_TRANSITIVE with one earlier version: v2 reads v1 data and v1 reads v2 data."""
    v1, v2 = committed(spec, "v1"), committed(spec, "v2")
    assert compatible(reader=v2, writer=v1), check(v2, v1).messages
    assert compatible(reader=v1, writer=v2), check(v1, v2).messages


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_added_field_has_a_default_of_epoch_zero(spec: TableSpec):
    before = {f["name"] for f in committed(spec, "v1")["fields"]}
    added = [f for f in committed(spec, "v2")["fields"] if f["name"] not in before]
    assert added and all(f["type"] == TIMESTAMP_MILLIS and f["default"] == 0 for f in added), added


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_what_a_fresh_create_table_registers_for_v2_cannot_read_v1_data(spec: TableSpec):
    """CREATE TABLE maps a NOT NULL column to a field without a default: fine for a new topic,
    refused as an evolution of the v1 subject (BACKWARD half of FULL fails)."""
    plain = value_schema(MANIFEST.definition(spec, "v2"), spec.name)
    result = check(reader=plain, writer=committed(spec, "v1"))
    assert result.compatibility is SchemaCompatibilityType.incompatible
    assert {i.name for i in result.incompatibilities} == {"reader_field_missing_default_value"}
    assert "updated_at" in result.messages


# -- the guide's snippet ------------------------------------------------------------------------

GUIDE_FIELDS = [  # verbatim from the guide's "skus_master schema evolution"
    {"name": "created_at", "type": "long", "logicalType": "timestamp-millis"},
    {"name": "updated_at", "type": "long", "logicalType": "timestamp-millis"},
]


def guide_schema(spec: TableSpec, *, name: str) -> dict:
    """The guide's evolution: the existing fields, then its two timestamp fields."""
    existing = [f for f in committed(spec, "v1")["fields"] if f["name"] not in ("created_at", "updated_at")]
    return {"type": "record", "name": name, "fields": existing + GUIDE_FIELDS}


def test_the_guides_logical_type_beside_type_long_is_ignored():
    """Beside ``"type": "long"`` the logicalType is a field attribute no reader maps: the field is a
    plain long (a table read from that schema has a BIGINT, not a TIMESTAMP_LTZ(3))."""
    spec = MANIFEST.table("skus_master")
    guide = avro.schema.parse(json.dumps(guide_schema(spec, name="skus_master")))
    ours = avro.schema.parse(json.dumps(committed(spec, "v2")))
    field = guide.fields_dict["updated_at"]
    assert (field.type.type, field.type.get_prop("logicalType")) == ("long", None)
    assert field.get_prop("logicalType") == "timestamp-millis"  # kept, but on the field
    assert ours.fields_dict["updated_at"].type.get_prop("logicalType") == "timestamp-millis"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_the_guides_evolution_is_refused_under_full_transitive(spec: TableSpec):
    v1 = committed(spec, "v1")
    as_written = check(reader=guide_schema(spec, name=spec.name), writer=v1)
    assert {i.name for i in as_written.incompatibilities} == {"name_mismatch", "reader_field_missing_default_value"}
    renamed = guide_schema(spec, name=f"{spec.name}_value") | {"namespace": NAMESPACE}
    no_default = check(reader=renamed, writer=v1)  # even with Confluent's record name
    assert no_default.compatibility is SchemaCompatibilityType.incompatible
    assert "updated_at" in no_default.messages


# -- what v1 records read as after the migration --------------------------------------------------

def sample_record(schema: dict) -> dict[str, Any]:
    """A record of ``schema``: null where it may be, a plain value otherwise."""
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    values = {"long": 7, "int": 7, "string": "x", "boolean": True, "double": 1.5, "float": 1.5}
    record = {}
    for field in schema["fields"]:
        kind = field["type"]
        if isinstance(kind, list):
            record[field["name"]] = None
        elif kind == TIMESTAMP_MILLIS:
            record[field["name"]] = moment
        elif isinstance(kind, dict) and kind.get("logicalType") == "decimal":
            record[field["name"]] = Decimal(1).scaleb(-kind["scale"])
        else:
            record[field["name"]] = values[kind]
    return record


def encode(schema: dict, record: dict) -> bytes:
    buffer = io.BytesIO()
    avro.io.DatumWriter(avro.schema.parse(json.dumps(schema))).write(record, avro.io.BinaryEncoder(buffer))
    return buffer.getvalue()


def decode(payload: bytes, writer: dict, reader: dict) -> dict:
    datum_reader = avro.io.DatumReader(avro.schema.parse(json.dumps(writer)), avro.schema.parse(json.dumps(reader)))
    return datum_reader.read(avro.io.BinaryDecoder(io.BytesIO(payload)))


def millis(value: datetime | int) -> int:
    """A timestamp-millis value as its long. A default is filled in as the long itself (0 is
    1970-01-01T00:00:00Z); a value written by a writer comes back as a datetime."""
    return value if isinstance(value, int) else round(value.timestamp() * 1000)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_records_written_before_the_migration_read_the_epoch_until_reprocessed(spec: TableSpec):
    v1, v2 = committed(spec, "v1"), committed(spec, "v2")
    old = sample_record(v1)
    read = decode(encode(v1, old), writer=v1, reader=v2)
    assert millis(read["updated_at"]) == 0
    if "created_at" in old:  # skus_master: created_at is real, so the guide's check 2 flags the row
        assert millis(read["created_at"]) == millis(old["created_at"]) > millis(read["updated_at"])
    else:  # the aggregates: both timestamps are the epoch
        assert millis(read["created_at"]) == 0
    new = sample_record(v2)
    assert decode(encode(v2, new), writer=v2, reader=v1) == {k: new[k] for k in old}  # v1 readers ignore them
