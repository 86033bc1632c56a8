"""What the runtime tests check in the world after a migration and after its rollback."""

from __future__ import annotations

from confluent_migration.hooks.flink_sql import FlinkSqlHook
from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration import observe
from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.plans import v2_table

MANIFEST = load_manifest()


def columns(spec, version: str) -> list[str]:
    return [c.name for c in MANIFEST.definition(spec, version).columns]


def _sql(text: str) -> str:
    return " ".join(text.split()).rstrip(";").strip()


def assert_v1_restored(statement_names: dict[str, str]) -> None:
    """After a rollback: per table (name -> the v1 statement expected to write it), that statement
    is RUNNING the v1 SQL and is the table's only live writer, the table has the v1 columns, and
    nothing writes its ``_v2`` table (no v2 statement is live)."""
    sql, statements = FlinkSqlHook(), FlinkStatementsHook().list_statements()
    for name, statement in statement_names.items():
        spec = MANIFEST.table(name)
        writers = observe.writers_of(statements, spec.flink_table)
        assert [(w.name, w.phase) for w in writers] == [(statement, "RUNNING")], (name, writers)
        assert _sql(writers[0].sql) == _sql(MANIFEST.sql(spec.v1.dml)), f"{statement} does not run the v1 SQL"
        assert observe.column_names(sql, spec.flink_table) == columns(spec, "v1"), name
        assert not observe.writers_of(statements, v2_table(spec.flink_table)), f"{name}: a v2 statement is live"
