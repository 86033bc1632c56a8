"""What the encarta world is made of, read from a migration manifest (default: the configured one,
``include/migration.yaml``): its source tables' DDL and, per derived table, its v1 DDL, its v1
pipeline and the name of the statement that runs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from confluent_migration import flink_ddl
from confluent_migration.migration import manifest as manifest_module


@dataclass(frozen=True)
class SqlFile:
    """One SQL file to submit as one statement."""

    statement: str
    table: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()


@dataclass(frozen=True)
class Layout:
    sources: list[SqlFile]  # CREATE TABLE of each source CDC table
    derived: list[SqlFile]  # v1 CREATE TABLE of each derived table
    pipelines: list[SqlFile]  # v1 INSERT INTO ... SELECT of each derived table, upstream first

    def table_names(self) -> list[str]:
        return [f.table for f in self.sources + self.derived]


def statement_name(prefix: str, table: str) -> str:
    """A valid statement name (``[a-z0-9-.]``) for a world DDL statement on ``table``."""
    short = table.rsplit(".", 1)[-1]
    return f"{prefix}-" + re.sub(r"[^a-z0-9]+", "-", short.lower()).strip("-")


def _create_table(path: Path, prefix: str) -> SqlFile:
    table = flink_ddl.parse_create_table(path.read_text()).name
    return SqlFile(statement_name(prefix, table), table, path)


def encarta_layout(version: str = "v1", manifest: Path | None = None) -> Layout:
    """The manifest's source tables, and its derived tables' DDL and pipelines of ``version`` (v1 or
    v2), upstream pipelines first."""
    loaded = manifest_module.load_manifest(manifest)
    sources = [_create_table(loaded.file(source.ddl), "encarta-source") for source in loaded.sources]
    derived, pipelines = [], []
    for entry in loaded.in_dependency_order():
        files = entry.version(version)
        derived.append(_create_table(loaded.file(files.ddl), "encarta-create"))
        pipelines.append(SqlFile(files.statement, entry.flink_table, loaded.file(files.dml)))
    return Layout(sources, derived, pipelines)
