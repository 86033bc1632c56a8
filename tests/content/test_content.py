"""The migration's SQL content: what v1 and v2 of each table are, derived from the files themselves.

The column counts below are the expectation of this *sample* (the guide's 117 -> 118, 78 -> 80,
2 -> 4): no product check hard-codes them; the validation compares the catalog with the DDL.
"""

from __future__ import annotations

import re

import jinja2
import pytest
import sqlglot
from sqlglot import exp

from confluent_migration.flink_ddl import parse_create_table, tokenize
from confluent_migration.migration.manifest import TableSpec, load_manifest

MANIFEST = load_manifest()
SPECS = MANIFEST.in_dependency_order()
TIMESTAMPS = ("created_at", "updated_at")
VALIDATION = MANIFEST.root / "sql" / "validation"
# Plain aggregates, CASE and CAST over LEFT JOINs on keys: what the DuckDB-backed sandbox executes.
FUNCTIONS = {"Max", "Min", "Count", "Sum", "Coalesce", "Case", "If", "Cast"}


def select(spec: TableSpec, version: str) -> exp.Select:
    statement = sqlglot.parse_one(MANIFEST.sql(spec.version(version).dml), read="spark")
    assert isinstance(statement, exp.Insert)
    return statement.expression


@pytest.mark.parametrize(
    "table, v1_columns, v2_columns",
    [("skus_master", 117, 118), ("skus_uoms_agg", 78, 80), ("skus_classifications_agg", 2, 4),
     ("products_classifications_agg", 2, 4)],
)
def test_the_samples_column_counts_are_the_guides(table, v1_columns, v2_columns):
    spec = MANIFEST.table(table)
    counts = tuple(len(MANIFEST.definition(spec, v).columns) for v in ("v1", "v2"))
    assert counts == (v1_columns, v2_columns)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_v2_is_v1_plus_the_timestamps_it_lacked(spec: TableSpec):
    v1, v2 = MANIFEST.definition(spec, "v1"), MANIFEST.definition(spec, "v2")
    assert v2.columns[: len(v1.columns)] == v1.columns  # nothing changed, nothing reordered
    added = v2.columns[len(v1.columns):]
    assert [c.name for c in added] == [t for t in TIMESTAMPS if t not in {c.name for c in v1.columns}]
    for name in TIMESTAMPS:
        column = v2.column(name)
        assert (column.type, column.nullable) == ("TIMESTAMP_LTZ(3)", False), f"{spec.name}.{name}"
    assert (v2.primary_key, v2.distributed_by, v2.buckets) == (v1.primary_key, v1.distributed_by, v1.buckets)


def test_skus_master_has_created_at_before_the_migration():
    assert MANIFEST.definition(MANIFEST.table("skus_master"), "v1").column("created_at").type == "TIMESTAMP_LTZ(3)"


def test_skus_and_skus_master_are_keyed_by_id_and_every_source_has_its_timestamps():
    assert MANIFEST.definition(MANIFEST.table("skus_master"), "v1").primary_key == ("id",)
    for source in MANIFEST.sources:
        table = parse_create_table(MANIFEST.sql(source.ddl))
        assert table.name == source.flink_table == f"sbx-uat.encarta.public.{source.name}"
        assert table.primary_key == ("id",), source.name
        for name in TIMESTAMPS:
            assert (table.column(name).type, table.column(name).nullable) == ("TIMESTAMP_LTZ(3)", False)


CASES = [(spec, version) for spec in SPECS for version in ("v1", "v2")]


@pytest.mark.parametrize(("spec", "version"), CASES, ids=[f"{v}-{s.name}" for s, v in CASES])
def test_each_pipeline_selects_its_tables_columns_by_name_in_order(spec: TableSpec, version: str):
    query = select(spec, version)
    assert [e.alias_or_name for e in query.expressions] == [c.name for c in MANIFEST.definition(spec, version).columns]
    assert not list(query.find_all(exp.Window))
    used = {type(f).__name__ for f in query.find_all(exp.Func)} - {"Distinct"}
    assert used <= FUNCTIONS, used - FUNCTIONS
    assert all(j.side == "LEFT" for j in query.args.get("joins") or [])


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_the_v2_pipeline_is_the_v1_pipeline_plus_the_timestamps(spec: TableSpec):
    v1, v2 = select(spec, "v1"), select(spec, "v2")
    added = v2.expressions[len(v1.expressions):]
    trimmed = v2.copy()
    trimmed.set("expressions", trimmed.expressions[: len(v1.expressions)])
    assert trimmed.sql("spark") == v1.sql("spark")
    source = v2.args["from_"].this.alias_or_name
    if v2.args.get("group"):  # an aggregate: the newest timestamps of the group's source rows
        assert [e.sql("spark") for e in added] == [f"MAX({source}.{t}) AS {t}" for t in TIMESTAMPS]
    else:  # skus_master: the SKU's own timestamps
        assert [e.sql("spark") for e in added] == [f"{source}.updated_at"]
        assert v1.expressions[-1].sql("spark") == f"{source}.created_at"


# -- validation queries ---------------------------------------------------------------------------

PLACEHOLDERS = {"column_count": {"table"}, "timestamp_violations": {"table"}, "freshness": {"table"},
                "row_count": {"table"}, "row_parity": {"left", "right"}}


def render(name: str, **values: str) -> str:
    return jinja2.Template((VALIDATION / f"{name}.sql").read_text(), undefined=jinja2.StrictUndefined).render(**values)


def test_each_validation_query_is_parameterised_by_table_and_nothing_else():
    assert {p.stem for p in VALIDATION.glob("*.sql")} == set(PLACEHOLDERS)
    table = MANIFEST.table("skus_master").flink_table
    for name, placeholders in PLACEHOLDERS.items():
        text = (VALIDATION / f"{name}.sql").read_text()
        assert set(re.findall(r"\{\{\s*(\w+)\s*\}\}", text)) == placeholders, name
        sql = render(name, **{p: table for p in placeholders})
        numbers = [t.text for t in tokenize(sql) if t.kind == "number"]
        assert not numbers, f"{name} hard-codes {numbers}"
        assert len(sqlglot.parse(sql, read="spark")) == 1, name


def test_the_column_count_asks_confluents_catalog_for_the_full_table_name():
    table = MANIFEST.table("skus_master").flink_table
    sql = render("column_count", table=table)
    query = sqlglot.parse_one(sql, read="spark")
    assert query.args["from_"].this.sql("spark").upper() == "`INFORMATION_SCHEMA`.`COLUMNS`"
    conditions = {c.this.name.upper(): c.expression.this for c in query.find_all(exp.EQ)}
    assert conditions == {"TABLE_NAME": table, "IS_HIDDEN": "NO"}


def test_the_timestamp_check_counts_inverted_and_missing_timestamps():
    where = sqlglot.parse_one(render("timestamp_violations", table="t"), read="spark").args["where"].sql("spark")
    assert "created_at > updated_at" in where
    assert "created_at IS NULL" in where and "updated_at IS NULL" in where
