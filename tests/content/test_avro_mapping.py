"""Confluent Cloud's Flink-to-Avro mapping, and schema evolution that FULL_TRANSITIVE accepts."""

from __future__ import annotations

import json

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityResult, SchemaCompatibilityType

from confluent_migration.avro_mapping import NAMESPACE, UnmappableType, evolved_value_schema, key_schema, value_schema
from confluent_migration.flink_ddl import parse_create_table

V1 = parse_create_table("""CREATE TABLE `p.q.things` (
  id BIGINT NOT NULL, code STRING NOT NULL, price DECIMAL(10, 2), dims ARRAY<DOUBLE>,
  attrs MAP<STRING, STRING>, created_at TIMESTAMP_LTZ(3) NOT NULL, day DATE,
  PRIMARY KEY (id) NOT ENFORCED)""")
V2 = parse_create_table("""CREATE TABLE `p.q.things` (
  id BIGINT NOT NULL, code STRING NOT NULL, price DECIMAL(10, 2), dims ARRAY<DOUBLE>,
  attrs MAP<STRING, STRING>, created_at TIMESTAMP_LTZ(3) NOT NULL, day DATE,
  updated_at TIMESTAMP_LTZ(3) NOT NULL, PRIMARY KEY (id) NOT ENFORCED)""")


def _compatible(reader: dict, writer: dict) -> bool:
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer)))
    return isinstance(result, SchemaCompatibilityResult) and result.compatibility is SchemaCompatibilityType.compatible


def test_value_schema_maps_types_and_leaves_out_the_key():
    schema = value_schema(V1)
    assert (schema["name"], schema["namespace"]) == ("things_value", NAMESPACE)
    fields = {f["name"]: f for f in schema["fields"]}
    assert "id" not in fields
    assert fields["code"] == {"name": "code", "type": "string"}
    assert fields["price"] == {"name": "price", "default": None, "type": [
        "null", {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}]}
    assert fields["created_at"]["type"] == {"type": "long", "logicalType": "timestamp-millis"}
    assert fields["dims"]["type"] == ["null", {"type": "array", "items": ["null", "double"]}]
    assert fields["attrs"]["type"] == ["null", {"type": "map", "values": ["null", "string"]}]
    assert fields["day"]["type"] == ["null", {"type": "int", "logicalType": "date"}]
    avro.schema.parse(json.dumps(schema))
    assert key_schema(V1)["fields"] == [{"name": "id", "type": "long"}]


def test_the_evolved_schema_gives_added_not_null_fields_a_default_and_is_full_compatible():
    evolved = evolved_value_schema(V1, V2)
    added = [f for f in evolved["fields"] if f["name"] == "updated_at"][0]
    assert added == {"name": "updated_at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": 0}
    old = value_schema(V1)
    assert _compatible(evolved, old) and _compatible(old, evolved)


def test_the_plain_mapping_of_the_new_table_is_not_backward_compatible():
    assert not _compatible(value_schema(V2), value_schema(V1))


@pytest.mark.filterwarnings("ignore:Unknown local-timestamp-millis")  # the Python avro package lacks it
def test_more_types_nested_records_and_a_composite_key():
    table = parse_create_table("""CREATE TABLE `a.b.events` (
      tenant STRING, seq BIGINT, local_ts TIMESTAMP(3) NOT NULL, micros TIMESTAMP_LTZ(6),
      dims ROW<l DOUBLE NOT NULL, unit STRING>, flags ARRAY<BOOLEAN NOT NULL> NOT NULL, b BYTES, n INT,
      PRIMARY KEY (seq, tenant) NOT ENFORCED)""")
    fields = {f["name"]: f["type"] for f in value_schema(table)["fields"]}
    assert fields["local_ts"] == {"type": "long", "logicalType": "local-timestamp-millis"}
    assert fields["micros"] == ["null", {"type": "long", "logicalType": "timestamp-micros"}]
    assert fields["dims"] == ["null", {"type": "record", "name": "events_value_dims", "fields": [
        {"name": "l", "type": "double"}, {"name": "unit", "type": ["null", "string"], "default": None}]}]
    assert fields["flags"] == {"type": "array", "items": "boolean"}
    assert (fields["b"], fields["n"]) == (["null", "bytes"], ["null", "int"])
    key = key_schema(table)
    assert (key["name"], [f["name"] for f in key["fields"]]) == ("events_key", ["seq", "tenant"])
    assert key["fields"][1] == {"name": "tenant", "type": "string"}  # a key column is NOT NULL
    avro.schema.parse(json.dumps(value_schema(table)))


def test_value_fields_include_all_keeps_the_key_in_the_value():
    table = parse_create_table("CREATE TABLE t (id BIGINT, v STRING, PRIMARY KEY (id) NOT ENFORCED) "
                               "WITH ('value.fields-include' = 'all')")
    assert [f["name"] for f in value_schema(table)["fields"]] == ["id", "v"]


def test_maps_need_string_keys():
    with pytest.raises(UnmappableType, match="MAP keys must be strings"):
        value_schema(parse_create_table("CREATE TABLE t (m MAP<INT, STRING>)"))


def test_an_added_not_null_decimal_defaults_to_a_valid_zero():
    before = parse_create_table("CREATE TABLE t (k INT, PRIMARY KEY (k) NOT ENFORCED)")
    after = parse_create_table("CREATE TABLE t (k INT, amount DECIMAL(9, 2) NOT NULL, PRIMARY KEY (k) NOT ENFORCED)")
    evolved = evolved_value_schema(before, after)
    schema = avro.schema.parse(json.dumps(evolved))
    assert evolved["fields"][0]["default"] == "\u0000"
    assert _compatible(evolved, value_schema(before)) and schema.fields[0].has_default
