"""Result schemas, Flink literals and types, and result changelogs over real HTTP, as Confluent's own
``confluent-sql`` integration suite expects them of Confluent Cloud (see ``sandbox/conformance.py``)."""

from __future__ import annotations

from tests.support.flink_http import Flink, eventually, rows_of, unique


def _columns(statement: dict) -> list[tuple[str, dict]]:
    return [(c["name"], c["type"]) for c in statement["status"]["traits"]["schema"]["columns"]]


def test_result_schema_names_types_and_nullability(flink: Flink) -> None:
    """A literal is NOT NULL, unaliased expressions are named EXPR$<position> (COUNT(*) too), a
    typed NULL is nullable; statements without a result set have no schema."""
    name = unique("schema")
    statement = flink.run(name, "SELECT 42 AS answer, COUNT(*), CAST(NULL AS INT) AS n, 1 + 1 "
                          "FROM `INFORMATION_SCHEMA`.`TABLES`", {"sql.snapshot.mode": "now"})
    assert _columns(statement) == [
        ("answer", {"type": "INTEGER", "nullable": False}),
        ("EXPR$1", {"type": "BIGINT", "nullable": False}),
        ("n", {"type": "INTEGER", "nullable": True}),
        ("EXPR$3", {"type": "INTEGER", "nullable": False}),
    ]
    assert flink.results(name)[0]["row"] == ["42", flink.results(name)[0]["row"][1], None, "2"]
    ddl = flink.run(unique("ddl"), f"CREATE TABLE `{unique('noschema')}` (`id` INT)")
    assert "schema" not in ddl["status"]["traits"] and "upsert_columns" not in ddl["status"]["traits"]


def test_literals_and_types_flink_reads(flink: Flink) -> None:
    """Binary, TIME, INTERVAL (both kinds, milliseconds kept), CHAR(n)/VARCHAR(n)/VARBINARY casts,
    COLLECT's MULTISET and typed NULL ROW/MULTISET: their schema types and Flink's rendering."""
    name = unique("types")
    flink.run(name, """SELECT x'0102ff' AS b, TIME '12:34:56.789' AS t,
        INTERVAL '+1 02:03:04.567890' DAY TO SECOND(6) AS ds, INTERVAL '-23' HOUR AS h,
        INTERVAL '-2-05' YEAR TO MONTH AS ym, CAST('ab' AS CHAR(5)) AS c, CAST('v' AS VARCHAR(10)) AS v,
        CAST(x'7f' AS VARBINARY) AS vb, CAST(NULL AS ROW<a INT, `B` STRING>) AS r,
        CAST(NULL AS MULTISET<STRING>) AS m, CAST(NULL AS INTERVAL DAYS TO SECOND) AS nd""",
              {"sql.snapshot.mode": "now"})
    types = {n: t for n, t in _columns(flink.get(name))}
    assert types["b"]["type"] == "VARBINARY" and types["vb"]["type"] == "VARBINARY"
    assert types["t"]["type"] == "TIME_WITHOUT_TIME_ZONE"
    assert types["ds"]["type"] == types["h"]["type"] == types["nd"]["type"] == "INTERVAL_DAY_TIME"
    assert types["ym"] == {"type": "INTERVAL_YEAR_MONTH", "nullable": False, "precision": 2,
                           "resolution": "YEAR_TO_MONTH"}
    assert types["c"] == {"type": "CHAR", "nullable": False, "length": 5}  # a cast literal is NOT NULL
    assert types["v"] == {"type": "VARCHAR", "nullable": False, "length": 10}
    assert types["r"]["type"] == "ROW" and [f["name"] for f in types["r"]["fields"]] == ["a", "B"]
    assert types["m"]["type"] == "MULTISET" and types["m"]["element_type"]["type"] == "VARCHAR"
    assert flink.results(name)[0]["row"] == [
        "x'0102ff'", "12:34:56.789", "+1 02:03:04.567", "-0 23:00:00.000", "-2-05", "ab", "v", "x'7f'",
        None, None, None]
    collected = unique("collect")
    flink.run(collected, "SELECT COLLECT(f) AS fruits FROM (VALUES ('a'), ('b'), ('a'), (CAST(NULL AS STRING))) "
                         "AS t(f)", {"sql.snapshot.mode": "now"})
    assert _columns(flink.get(collected))[0][1]["type"] == "MULTISET"
    assert sorted(flink.results(collected)[0]["row"][0]) == [["a", "2"], ["b", "1"]]


def test_row_columns_are_stored_and_read_back(flink: Flink) -> None:
    table = flink.table(unique("rows"), "`who` ROW<name STRING, age INT>, "
                                        "`addresses` ARRAY<ROW<street STRING, zip INT>>")
    flink.insert(table, "(ROW('Ann', 28), ARRAY[ROW('Main St', 12345), ROW('Oak Ave', 67890)])")
    name = unique("rowsel")
    flink.run(name, f"SELECT who, addresses FROM `{table}` WHERE who.name = 'Ann'", {"sql.snapshot.mode": "now"})
    assert flink.results(name)[0]["row"] == [["Ann", "28"], [["Main St", "12345"], ["Oak Ave", "67890"]]]
    assert _columns(flink.get(name))[0][1]["fields"][1] == {"name": "age", "field_type": {"type": "INTEGER",
                                                                                          "nullable": True}}


def test_a_type_the_sandbox_does_not_model_fails_the_statement(flink: Flink) -> None:
    """Not a 500: the statement is FAILED with a detail, and nothing is left to run."""
    name = unique("variant")
    flink.create(name, f"CREATE TABLE `{unique('var')}` (`v` VARIANT)")
    failed = flink.phase(name, "FAILED")
    assert "VARIANT" in failed["status"]["detail"]
    assert flink.results(name) == []


def test_snapshot_ctas_from_values_completes_with_the_rows(flink: Flink) -> None:
    table = unique("ctas-values")
    statement = flink.run(unique("ctas"), f"CREATE TABLE `{table}` AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) "
                                          "AS t(id, name)", {"sql.snapshot.mode": "now"})
    assert statement["status"]["traits"]["sql_kind"] == "CREATE_TABLE_AS"
    assert "schema" not in statement["status"]["traits"]
    assert rows_of(flink, table, "id") == [["1", "a"], ["2", "b"]]


def test_streaming_global_aggregate_updates_per_record(flink: Flink) -> None:
    """Flink emits +I for the first record, then -U/+U for each further one; no upsert columns;
    an aggregate over literals is bounded but still a retracting changelog."""
    source = flink.table(unique("cnt"), "`id` INT, `v` STRING")
    flink.insert(source, "(1, 'a'), (2, 'b'), (3, 'c')")
    name = unique("count")
    flink.create(name, f"SELECT COUNT(*) AS n FROM `{source}`")
    traits = flink.phase(name, "RUNNING")["status"]["traits"]
    assert traits["is_append_only"] is False and "upsert_columns" not in traits
    eventually(flink, lambda: len(flink.results(name)) == 5, "the per-record changelog")
    assert flink.results(name) == [{"op": 0, "row": ["1"]}, {"op": 1, "row": ["1"]}, {"op": 2, "row": ["2"]},
                                   {"op": 1, "row": ["2"]}, {"op": 2, "row": ["3"]}]
    bounded = unique("bounded-agg")
    statement = flink.run(bounded, "SELECT COUNT(*) AS failures FROM (SELECT 1 AS id) AS s WHERE id = 2")
    assert statement["status"]["traits"]["is_bounded"] is True
    assert statement["status"]["traits"]["is_append_only"] is False
    assert flink.results(bounded) == [{"op": 0, "row": ["0"]}]
