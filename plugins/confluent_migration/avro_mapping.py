"""Confluent Cloud's Flink-to-Avro mapping: the schemas CREATE TABLE registers for a table.

A table with a primary key registers ``<topic>-key`` (the key columns) and ``<topic>-value``. Confluent
Cloud's default is ``'value.fields-include' = 'except-key'``: the value holds only the other columns
(the key travels in the Kafka record key), so ``skus_master``'s ``id`` is in ``-key``, not ``-value``.
A table declaring ``'value.fields-include' = 'all'`` keeps its key columns in the value too.
Records are named ``<table>_key`` / ``<table>_value`` in ``org.apache.flink.avro.generated.record``.
``TIMESTAMP_LTZ(3)`` is ``{"type": "long", "logicalType": "timestamp-millis"}`` (the logical type
sits inside the type object; beside ``"type"`` Avro ignores it), ``DECIMAL(p, s)`` is bytes with
logical type ``decimal``, and a nullable column is ``["null", T]`` with default null.

A schema *evolution* (registering a new version under an existing subject) needs more than the
mapping: under FULL/FULL_TRANSITIVE every added field must have a default, or old records could
not be read with the new schema. CREATE TABLE itself registers a NOT NULL column without a default
(the mapping above); :func:`evolved_value_schema` gives each added NOT NULL field the zero of its
type (epoch 0 for timestamps), which is what a migration registers.
"""

from __future__ import annotations

from typing import Any

from confluent_migration.flink_ddl import FlinkType, TableDefinition

NAMESPACE = "org.apache.flink.avro.generated.record"

_PRIMITIVES = {
    "BOOLEAN": "boolean",
    "TINYINT": "int",
    "SMALLINT": "int",
    "INT": "int",
    "BIGINT": "long",
    "FLOAT": "float",
    "DOUBLE": "double",
    "STRING": "string",
    "VARCHAR": "string",
    "CHAR": "string",
    "BYTES": "bytes",
    "BINARY": "bytes",
    "VARBINARY": "bytes",
}
_ZERO = {"boolean": False, "int": 0, "long": 0, "float": 0.0, "double": 0.0, "string": "", "bytes": ""}
_DECIMAL_ZERO = "\u0000"  # one byte 0x00: the two's-complement unscaled value 0


class UnmappableType(ValueError):
    """A Flink type with no Avro form in Confluent's mapping (e.g. MAP with non-string keys)."""


def avro_type(flink_type: FlinkType, record_name: str) -> Any:
    """The Avro type of a (non-null) Flink type."""
    name = flink_type.name
    if name in _PRIMITIVES:
        return _PRIMITIVES[name]
    if name == "DECIMAL":
        precision, scale = (list(flink_type.params) + [10, 0])[:2] if flink_type.params else (10, 0)
        return {"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale}
    if name == "DATE":
        return {"type": "int", "logicalType": "date"}
    if name == "TIME":
        return {"type": "int", "logicalType": "time-millis"}
    if name in ("TIMESTAMP", "TIMESTAMP_LTZ"):
        precision = flink_type.params[0] if flink_type.params else 6
        unit = "millis" if precision <= 3 else "micros"
        prefix = "" if name == "TIMESTAMP_LTZ" else "local-"
        return {"type": "long", "logicalType": f"{prefix}timestamp-{unit}"}
    if name == "ARRAY":
        return {"type": "array", "items": _nullable(flink_type.elements[0], record_name)}
    if name == "MAP":
        key, value = flink_type.elements
        if key.name not in ("STRING", "VARCHAR", "CHAR"):
            raise UnmappableType(f"MAP keys must be strings to map to Avro, not {key}")
        return {"type": "map", "values": _nullable(value, record_name)}
    if name == "ROW":
        return _record(record_name, [(n, t) for n, t in flink_type.fields], namespace=None)
    raise UnmappableType(f"no Avro mapping for Flink type {flink_type}")


def _nullable(flink_type: FlinkType, record_name: str) -> Any:
    inner = avro_type(flink_type, record_name)
    return ["null", inner] if flink_type.nullable else inner


def _field(name: str, flink_type: FlinkType, record_name: str) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": _nullable(flink_type, f"{record_name}_{name}")}
    if flink_type.nullable:
        field["default"] = None
    return field


def _record(name: str, columns: list[tuple[str, FlinkType]], namespace: str | None = NAMESPACE) -> dict:
    record: dict[str, Any] = {"type": "record", "name": name}
    if namespace:
        record["namespace"] = namespace
    record["fields"] = [_field(column, flink_type, name) for column, flink_type in columns]
    return record


def value_columns(table: TableDefinition) -> list[str]:
    """The columns the value schema holds: all but the key ones, unless the table says
    ``'value.fields-include' = 'all'``."""
    keep_key = table.options.get("value.fields-include", "except-key").lower() == "all"
    return [c.name for c in table.columns if keep_key or c.name not in table.primary_key]


def value_schema(table: TableDefinition, short_name: str | None = None) -> dict:
    """The ``<topic>-value`` schema CREATE TABLE registers; record ``<short_name>_value``."""
    included = set(value_columns(table))
    return _record(f"{short_name or table.short_name}_value",
                   [(c.name, c.flink_type) for c in table.columns if c.name in included])


def key_schema(table: TableDefinition, short_name: str | None = None) -> dict | None:
    """The ``<topic>-key`` schema (the key columns in key order), or None without a primary key."""
    if not table.primary_key:
        return None
    return _record(f"{short_name or table.short_name}_key",
                   [(k, table.column(k).flink_type) for k in table.primary_key])


def evolved_value_schema(before: TableDefinition, after: TableDefinition, short_name: str | None = None) -> dict:
    """``after``'s value schema as a compatible evolution of ``before``'s: every field ``before``
    lacks gets a default (null for nullable fields, the zero of its type otherwise)."""
    schema = value_schema(after, short_name or before.short_name)
    existing = {c.name for c in before.columns}
    for field in schema["fields"]:
        if field["name"] not in existing and "default" not in field:
            field["default"] = zero_value(field["type"])
    return schema


def zero_value(avro: Any) -> Any:
    """The zero of an Avro (non-union) type, as a JSON default."""
    base = avro["type"] if isinstance(avro, dict) else avro
    if isinstance(avro, dict) and avro.get("logicalType") == "decimal":
        return _DECIMAL_ZERO
    if base in _ZERO:
        return _ZERO[base]
    if base == "array":
        return []
    if base == "map":
        return {}
    raise UnmappableType(f"no zero default for Avro type {avro}")
