"""The Flink catalog of the sandbox: tables are topics are subjects.

CREATE TABLE creates the topic (``DISTRIBUTED BY ... INTO n BUCKETS`` partitions; a primary key
implies 6) and registers ``<table>-value`` (and ``<table>-key`` with a primary key) in Schema
Registry with Confluent's Flink-to-Avro mapping. A table's columns follow its value subject: when a
newer version is registered there (by anyone), fields it adds become columns, read with the field's
default from records written before it, as Avro schema resolution does. DROP TABLE deletes the topic
and its subjects (soft, then permanent).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from confluent_migration import avro_mapping, flink_ddl
from sandbox.errors import SchemaRegistryError
from sandbox.flink.topics import Topics
from sandbox.flink.types import to_duckdb
from sandbox.store import Store

DEFAULT_BUCKETS = 6


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Flink type, e.g. "STRING", "DECIMAL(10, 2)", "TIMESTAMP_LTZ(3)"
    nullable: bool = True
    comment: str | None = None
    default: Any = None  # the Avro default read for records written before the column existed

    @property
    def duckdb_type(self) -> str:
        return to_duckdb(self.type)

    @property
    def full_type(self) -> str:
        return self.type if self.nullable else f"{self.type} NOT NULL"

    def to_json(self) -> dict:
        """Its fields (``Column(**doc)`` reads them back); plain, not ``asdict``'s slower deep copy."""
        return {"name": self.name, "type": self.type, "nullable": self.nullable, "comment": self.comment,
                "default": self.default}


@dataclass(frozen=True)
class Table:
    name: str
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)
    distributed_by: list[str] = field(default_factory=list)
    partitions: int = 1
    options: dict[str, str] = field(default_factory=dict)

    @property
    def changelog_mode(self) -> str:
        return self.options.get("changelog.mode", "upsert" if self.primary_key else "append")

    @property
    def key_columns(self) -> list[str]:
        """Columns that key records: the primary key, else the DISTRIBUTED BY columns."""
        return self.primary_key or self.distributed_by

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def create_statement(self) -> str:
        """``SHOW CREATE TABLE`` text."""
        lines = [f"  `{c.name}` {c.full_type}" + (f" COMMENT '{c.comment}'" if c.comment else "")
                 for c in self.columns]
        if self.primary_key:
            lines.append("  PRIMARY KEY (" + ", ".join(f"`{k}`" for k in self.primary_key) + ") NOT ENFORCED")
        text = f"CREATE TABLE `{self.name}` (\n" + ",\n".join(lines) + "\n)"
        if self.key_columns:
            text += ("\nDISTRIBUTED BY HASH(" + ", ".join(f"`{k}`" for k in self.key_columns)
                     + f") INTO {self.partitions} BUCKETS")
        options = {
            "changelog.mode": self.changelog_mode,
            "connector": "confluent",
            "kafka.cleanup-policy": "delete",
            "scan.startup.mode": "earliest-offset",
            "value.format": "avro-registry",
            **({"key.format": "avro-registry"} if self.key_columns else {}),
            **self.options,
        }
        text += "\nWITH (\n" + ",\n".join(f"  '{k}' = '{v}'" for k, v in sorted(options.items())) + "\n)"
        return text


class TableExists(ValueError):
    pass


class TableNotFound(KeyError):
    pass


class SchemaRegistrationFailed(ValueError):
    pass


_AVRO_TO_FLINK = {
    "string": "STRING",
    "int": "INT",
    "long": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "bytes": "BYTES",
}
_LOGICAL_TO_FLINK = {
    "timestamp-millis": "TIMESTAMP_LTZ(3)",
    "timestamp-micros": "TIMESTAMP_LTZ(6)",
    "local-timestamp-millis": "TIMESTAMP(3)",
    "local-timestamp-micros": "TIMESTAMP(6)",
    "date": "DATE",
    "time-millis": "TIME(3)",
}


def flink_type_of_avro(schema: Any) -> tuple[str, bool]:
    """(Flink type, nullable) of an Avro field type, for columns a newer value schema adds."""
    nullable = False
    if isinstance(schema, list):
        branches = [s for s in schema if s != "null"]
        nullable = len(branches) < len(schema)
        schema = branches[0] if len(branches) == 1 else "string"
    if isinstance(schema, dict):
        logical = schema.get("logicalType")
        if logical == "decimal":
            return f"DECIMAL({schema.get('precision', 10)}, {schema.get('scale', 0)})", nullable
        if logical in _LOGICAL_TO_FLINK:
            return _LOGICAL_TO_FLINK[logical], nullable
        if schema.get("type") == "array":
            return f"ARRAY<{flink_type_of_avro(schema['items'])[0]}>", nullable
        if schema.get("type") == "map":
            return f"MAP<STRING, {flink_type_of_avro(schema['values'])[0]}>", nullable
        schema = schema.get("type")
    return _AVRO_TO_FLINK.get(schema, "STRING"), nullable


class Catalog:
    """Tables of the sandbox's one database, persisted in ``flink_tables``."""

    def __init__(self, store: Store, topics: Topics, schema_registry: Any) -> None:
        self.store = store
        self.topics = topics
        self.schema_registry = schema_registry
        store.execute(
            "CREATE TABLE IF NOT EXISTS flink_tables ("
            " name VARCHAR PRIMARY KEY, definition VARCHAR, value_schema_id INTEGER,"
            " created_at TIMESTAMPTZ DEFAULT current_timestamp)"
        )

    # -- create / drop ---------------------------------------------------------------------------

    def create(self, table: Table, if_not_exists: bool = False) -> bool:
        """Create the table, its topic and subjects; False if it existed and ``if_not_exists``."""
        if self.exists(table.name):
            if if_not_exists:
                return False
            raise TableExists(f"Table (or view) `{table.name}` already exists in the current database.")
        for col in table.columns:
            col.duckdb_type  # noqa: B018 - refuse types the sandbox cannot hold before creating anything
        value_id, _ = self._register_schemas(table)
        self.topics.create(table.name, table.partitions)
        self.store.execute(
            "INSERT INTO flink_tables (name, definition, value_schema_id) VALUES (?, ?, ?)",
            [table.name, json.dumps(table_to_json(table)), value_id],
        )
        return True

    def drop(self, name: str, if_exists: bool = False) -> bool:
        if not self.exists(name):
            if if_exists:
                return False
            raise TableNotFound(f"Table with identifier '{name}' does not exist.")
        self.store.execute("DELETE FROM flink_tables WHERE name = ?", [name])
        self.topics.delete(name)
        for subject in (f"{name}-value", f"{name}-key"):
            if self.schema_registry.latest(subject) is not None:
                self.schema_registry.delete_subject(subject, permanent=False)
                self.schema_registry.delete_subject(subject, permanent=True)
        return True

    def _register_schemas(self, table: Table) -> tuple[int, int | None]:
        definition = _ddl_definition(table)
        short = _avro_name(definition.short_name)
        try:
            value_id = self.schema_registry.register(
                f"{table.name}-value", _schema_text(avro_mapping.value_schema(definition, short)))
            key_id = None
            if table.primary_key:
                key_id = self.schema_registry.register(
                    f"{table.name}-key", _schema_text(avro_mapping.key_schema(definition, short)))
        except SchemaRegistryError as err:
            raise SchemaRegistrationFailed(
                f"Registering the schemas of table `{table.name}` failed: {err.message}") from err
        return value_id, key_id

    # -- lookup ----------------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        return self.store.query_one("SELECT 1 FROM flink_tables WHERE name = ?", [name]) is not None

    def names(self) -> list[str]:
        return [r[0] for r in self.store.execute("SELECT name FROM flink_tables ORDER BY name")]

    def get(self, name: str) -> Table:
        """The table as of now: its DDL columns, evolved by newer value-schema versions."""
        row = self.store.query_one("SELECT definition, value_schema_id FROM flink_tables WHERE name = ?", [name])
        if row is None:
            raise TableNotFound(f"Table with identifier '{name}' does not exist.")
        table = table_from_json(json.loads(row[0]))
        latest = self.schema_registry.latest(f"{name}-value")
        if latest is None or latest.id == row[1]:
            return table
        return _evolved(table, json.loads(latest.schema))


def _evolved(table: Table, value_schema: dict) -> Table:
    fields = {f["name"]: f for f in value_schema.get("fields", [])}
    columns = [c for c in table.columns if c.name in fields or c.name in table.key_columns]
    known = {c.name for c in columns}
    for name, avro_field in fields.items():
        if name in known:
            continue
        flink_type, nullable = flink_type_of_avro(avro_field["type"])
        columns.append(Column(name, flink_type, nullable, avro_field.get("doc"), avro_field.get("default")))
    return Table(table.name, columns, table.primary_key, table.distributed_by, table.partitions, table.options)


def _avro_name(name: str) -> str:
    """An Avro-valid record name part: characters Avro refuses (``-`` of topic names) become ``_``."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return cleaned if re.match(r"[A-Za-z_]", cleaned) else f"_{cleaned}"


def _schema_text(schema: Any) -> str:
    return schema if isinstance(schema, str) else json.dumps(schema)


def _ddl_definition(table: Table) -> Any:
    return flink_ddl.TableDefinition(
        name=table.name,
        columns=[flink_ddl.Column(c.name, c.type, c.nullable, c.comment) for c in table.columns],
        primary_key=list(table.primary_key),
        distributed_by=list(table.distributed_by),
        buckets=table.partitions,
        options=dict(table.options),
        as_select=None,
        if_not_exists=False,
    )


def table_to_json(table: Table) -> dict:
    return {
        "name": table.name,
        "columns": [c.to_json() for c in table.columns],
        "primary_key": table.primary_key,
        "distributed_by": table.distributed_by,
        "partitions": table.partitions,
        "options": table.options,
    }


def table_from_json(doc: dict) -> Table:
    return Table(
        doc["name"],
        [Column(**c) for c in doc["columns"]],
        doc["primary_key"],
        doc["distributed_by"],
        doc["partitions"],
        doc["options"],
    )
