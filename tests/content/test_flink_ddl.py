"""The Flink DDL parser reads Confluent Cloud's CREATE/DROP TABLE, and says where it does not."""

from __future__ import annotations

import re

import pytest

from confluent_migration.flink_ddl import DdlError, parse_create_table, parse_drop_table, parse_type

DDL = """
CREATE TABLE IF NOT EXISTS `sbx-uat.encarta.public.skus_master` (
  `id` BIGINT NOT NULL COMMENT 'the SKU''s id',
  name STRING,
  price DECIMAL(10, 2),
  tags ARRAY<STRING NOT NULL>,
  attrs MAP<STRING, DECIMAL(12,3)>,
  dims ROW<l DOUBLE, w DOUBLE NOT NULL>,
  created_at TIMESTAMP_LTZ(3) NOT NULL,
  seen TIMESTAMP(3) WITH LOCAL TIME ZONE,
  PRIMARY KEY (`id`) NOT ENFORCED
) DISTRIBUTED BY HASH(`id`) INTO 6 BUCKETS
WITH ('changelog.mode' = 'upsert', 'value.format' = 'avro-registry');
"""


def test_a_dotted_backticked_name_is_one_table_with_columns_key_distribution_and_options():
    table = parse_create_table(DDL)
    assert table.name == "sbx-uat.encarta.public.skus_master"
    assert table.short_name == "skus_master"
    assert table.if_not_exists
    assert [c.name for c in table.columns] == ["id", "name", "price", "tags", "attrs", "dims", "created_at", "seen"]
    assert table.column("id").comment == "the SKU's id"
    assert table.column("price").type == "DECIMAL(10, 2)"
    assert table.column("tags").type == "ARRAY<STRING NOT NULL>"
    assert table.column("attrs").type == "MAP<STRING, DECIMAL(12, 3)>"
    assert table.column("dims").type == "ROW<`l` DOUBLE, `w` DOUBLE NOT NULL>"
    assert table.column("seen").type == "TIMESTAMP_LTZ(3)"
    assert not table.column("created_at").nullable and table.column("name").nullable
    assert (table.primary_key, table.distributed_by, table.buckets) == (("id",), ("id",), 6)
    assert table.options == {"changelog.mode": "upsert", "value.format": "avro-registry"}


def test_a_column_also_carries_its_parsed_type_with_its_nullability():
    table = parse_create_table(DDL)
    tags = table.column("tags").flink_type
    assert (tags.name, tags.nullable, tags.elements[0].name, tags.elements[0].nullable) == ("ARRAY", True, "STRING", False)
    dims = table.column("dims").flink_type
    assert [(n, t.name, t.nullable) for n, t in dims.fields] == [("l", "DOUBLE", True), ("w", "DOUBLE", False)]
    price = table.column("price").flink_type
    assert (price.name, price.params, str(price)) == ("DECIMAL", (10, 2), "DECIMAL(10, 2)")
    assert not table.column("created_at").flink_type.nullable


def test_watermark_and_table_options_of_a_ctas():
    table = parse_create_table("""CREATE TABLE t (
        k STRING, ts TIMESTAMP_LTZ(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
        WITH ('changelog.mode' = 'append') AS SELECT k, ts FROM s""")
    assert table.watermark == "ts AS ts - INTERVAL '5' SECOND"
    assert (table.options, table.as_select) == ({"changelog.mode": "append"}, "SELECT k, ts FROM s")


def test_primary_key_columns_are_not_null_even_when_not_declared_so():
    table = parse_create_table("CREATE TABLE t (k STRING, v INT, PRIMARY KEY (k) NOT ENFORCED)")
    assert not table.column("k").nullable


def test_qualified_names_and_ctas():
    table = parse_create_table(
        "CREATE TABLE `env`.`cluster`.`backup_x` DISTRIBUTED BY (k) INTO 2 BUCKETS AS SELECT k, v FROM x;"
    )
    assert table.name == "backup_x"
    assert table.as_select == "SELECT k, v FROM x"
    assert parse_drop_table("DROP TABLE IF EXISTS `sbx-uat.encarta.public.x`") == ("sbx-uat.encarta.public.x", True)
    assert parse_drop_table("drop table y") == ("y", False)


def test_type_text_round_trips():
    for text in ["DECIMAL(10, 2)", "ARRAY<ROW<`a` INT, `b` STRING NOT NULL>>", "MAP<STRING, BIGINT NOT NULL>"]:
        assert str(parse_type(text)) == text


@pytest.mark.parametrize(
    "written, canonical",
    [
        ("integer", "INT"),
        ("TIMESTAMP(3) WITH LOCAL TIME ZONE", "TIMESTAMP_LTZ(3)"),
        ("TIMESTAMP WITH LOCAL TIME ZONE", "TIMESTAMP_LTZ"),
        ("TIMESTAMP(3) WITHOUT TIME ZONE", "TIMESTAMP(3)"),
        ("VARCHAR(64)", "VARCHAR(64)"),
        ("ROW(a INT, b ARRAY<STRING>)", "ROW<`a` INT, `b` ARRAY<STRING>>"),
        ("MAP<STRING, ARRAY<DECIMAL(5,1)>>", "MAP<STRING, ARRAY<DECIMAL(5, 1)>>"),
    ],
)
def test_types_are_read_in_their_spellings_and_written_canonically(written, canonical):
    assert str(parse_type(written)) == canonical


@pytest.mark.parametrize(
    "sql, message",
    [
        ("CREATE TABLE x (a INT", "expected )"),
        ("CREATE TABLE x (a INT, PRIMARY KEY (b) NOT ENFORCED)", "`b` is not a column"),
        ("CREATE TABLE x (a INT, PRIMARY KEY (a))", "expected NOT ENFORCED"),
        ("CREATE TABLE x (a INT) garbage", "expected the end of the statement"),
        ("CREATE TABLE x (a AS b + 1)", "computed columns are not supported"),
        ("CREATE TABLE x", "neither columns nor AS SELECT"),
        ("CREATE TABLE x (a INT, a STRING)", "column `a` declared twice"),
        ("CREATE TABLE x (a MAP<STRING>)", "expected , at line 1, column 29"),
        ("CREATE TABLE x (\n  a DECIMAL(10, x))", "expected a whole number at line 2, column 17"),
        ("CREATE TABLE x (a INT) DISTRIBUTED BY HASH(a) INTO BUCKETS", "expected a whole number"),
        ("CREATE TABLE x (a INT) WITH ('k' 'v')", "expected ="),
        ("CREATE VIEW x AS SELECT 1", "expected CREATE TABLE"),
    ],
)
def test_bad_ddl_is_refused_with_where_and_what(sql, message):
    with pytest.raises(DdlError, match=re.escape(message)):
        parse_create_table(sql)


def test_a_drop_table_with_trailing_words_is_refused():
    with pytest.raises(DdlError, match="expected the end of the statement"):
        parse_drop_table("DROP TABLE x CASCADE")
