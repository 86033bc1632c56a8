"""Confluent Cloud's Flink-to-Avro mapping, and schema evolution that FULL_TRANSITIVE accepts."""

from __future__ import annotations

import json

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityResult, SchemaCompatibilityType

from confluent_migration.avro_mapping import NAMESPACE, evolved_value_schema, key_schema, value_schema
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
