"""Every SQL file of include/sql parsed and planned by the real Apache Flink planner (PyFlink 2.3).

DDL is executed (Flink resolves the schema, which must be the one our own DDL parser reads), each
pipeline and each rendered validation query is EXPLAINed against the tables of its version. The
Confluent-only parts are adapted by ``tests.support.flink_harness``, never in the files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import jinja2
import pytest

from confluent_migration.flink_ddl import parse_create_table
from confluent_migration.migration import observe
from confluent_migration.migration.manifest import Manifest, TableSpec, load_manifest
from tests.support import flink_harness
from tests.support.flink_harness import FlinkSession, FlinkSqlError, adapt_ddl

MANIFEST = load_manifest()
VERSIONS = ("v1", "v2")
SQL_DIR = MANIFEST.root / "sql"
VALIDATION = sorted((SQL_DIR / "validation").glob("*.sql"))
PIPELINES = [(version, spec) for version in VERSIONS for spec in MANIFEST.in_dependency_order()]


def every_ddl(manifest: Manifest) -> list[tuple[str, Path, bool]]:
    """(label, file, written?) of every CREATE TABLE the manifest names."""
    files = [(s.name, manifest.file(s.ddl), False) for s in manifest.sources]
    files += [(f"{v}-{t.name}", manifest.file(t.version(v).ddl), True) for v in VERSIONS for t in manifest.tables]
    return files


@pytest.fixture(scope="session")
def flink() -> FlinkSession:
    """The process's one JVM and TableEnvironment."""
    return flink_harness.session()


@pytest.fixture(scope="module")
def catalogs(flink: FlinkSession) -> dict[str, str]:
    """A database per version holding the sources and that version's tables (version -> name)."""
    databases = {}
    for version in VERSIONS:
        databases[version] = flink.fresh_database()
        for source in MANIFEST.sources:
            flink.create_table(MANIFEST.sql(source.ddl), written=False, origin=str(source.ddl))
        for spec in MANIFEST.tables:
            ddl = spec.version(version).ddl
            flink.create_table(MANIFEST.sql(ddl), written=True, origin=str(ddl))
    return databases


@pytest.fixture
def v2(flink: FlinkSession, catalogs: dict[str, str]) -> Iterator[FlinkSession]:
    flink.use(catalogs["v2"])
    yield flink


# -- the harness's adaptation (no JVM) ------------------------------------------------------------

def test_adaptation_keeps_the_name_and_cuts_distribution_only_from_written_tables(tmp_path):
    sql = MANIFEST.sql(MANIFEST.table("skus_classifications_agg").v2.ddl)
    written, read = adapt_ddl(sql, tmp_path, written=True), adapt_ddl(sql, tmp_path, written=False)
    assert "`sbx-uat.encarta.public.skus_classifications_agg`" in written
    assert "DISTRIBUTED BY" not in written and "DISTRIBUTED BY HASH(`sku_id`) INTO 6 BUCKETS" in read
    for adapted in (written, read):
        assert f"'path' = '{tmp_path}'" in adapted and "'format' = 'debezium-json'" in adapted
        assert parse_create_table(adapted).columns == parse_create_table(sql).columns


# -- the real planner -----------------------------------------------------------------------------

@pytest.mark.flink
@pytest.mark.parametrize(("label", "path", "written"), every_ddl(MANIFEST), ids=[d[0] for d in every_ddl(MANIFEST)])
def test_flink_creates_each_table_with_the_columns_and_key_our_parser_reads(flink, label, path, written):
    flink.fresh_database()
    table = flink.create_table(path.read_text(), written=written, origin=str(path))
    resolved = flink.env.from_path(f"`{table.definition.name}`")._j_table.getResolvedSchema()
    assert list(resolved.getColumnNames()) == [c.name for c in table.definition.columns], path
    flink_nullable = [resolved.getColumn(c.name).get().getDataType().getLogicalType().isNullable()
                      for c in table.definition.columns]
    assert flink_nullable == [c.nullable for c in table.definition.columns], path
    key = resolved.getPrimaryKey()
    assert (list(key.get().getColumns()) if key.isPresent() else []) == list(table.definition.primary_key), path


@pytest.mark.flink
@pytest.mark.parametrize(("version", "spec"), PIPELINES, ids=[f"{v}-{s.name}" for v, s in PIPELINES])
def test_each_pipeline_plans_against_its_versions_tables(flink, catalogs, version: str, spec: TableSpec):
    flink.use(catalogs[version])
    dml = spec.version(version).dml
    plan = flink.explain(MANIFEST.sql(dml), str(dml))
    assert f"LogicalSink(table=[default_catalog.{catalogs[version]}.{spec.flink_table}]" in plan


@pytest.mark.flink
@pytest.mark.parametrize("path", VALIDATION, ids=lambda p: p.stem)
def test_each_validation_query_plans_rendered_for_a_v2_table(v2, path: Path):
    master, source = MANIFEST.table("skus_master").flink_table, MANIFEST.sources[0].flink_table
    sql = jinja2.Template(path.read_text()).render(table=master, left=source, right=master)
    assert "{{" not in sql
    plan = v2.explain(sql, str(path))
    assert "== Optimized Physical Plan ==" in plan


@pytest.mark.flink
def test_the_combined_reads_of_the_checks_plan_as_one_query_each(v2):
    """The gates, pre-flight and the health check read every table with one statement per kind of
    read (``observe``): counts combined with UNION ALL, one catalog read, newest updates together."""
    tables = [spec.flink_table for spec in MANIFEST.tables]
    source = next(s.flink_table for s in MANIFEST.sources if s.name == "skus")
    counts = [observe.Count(t) for t in tables] + [observe.violations(s.flink_table, s.checks) for s in MANIFEST.tables]
    counts.append(observe.distinct_keys(source, ["id"]))
    plan = v2.explain(observe.union_all([c.select(i) for i, c in enumerate(counts)]), "the combined counts")
    assert plan.count("TableSourceScan(table=[[default_catalog") >= len(tables) and "Union" in plan
    newest = v2.explain(observe.union_all([observe.newest_update(i, s.flink_table, s.freshness)
                                           for i, s in enumerate(MANIFEST.tables)]), "the newest updates")
    assert re.search(r"(?i)\bmax\(", newest) and "Union" in newest
    assert "== Optimized Physical Plan ==" in v2.explain(observe.columns_sql(tables), "the catalog read")
    widths = observe.union_all([observe.column_count(i, t) for i, t in enumerate(tables)])
    assert "Union" in v2.explain(widths, "the column counts")
    only = observe.columns_sql(tables, only=["updated_at"])
    assert "== Optimized Physical Plan ==" in v2.explain(only, "the catalog read of the freshness columns")


@pytest.mark.flink
def test_plain_explain_rejects_a_cast_from_bigint_to_timestamp_ltz(v2):
    agg = MANIFEST.table("skus_classifications_agg")
    bad = (f"INSERT INTO `{agg.flink_table}` SELECT c.sku_id, COUNT(*) AS classification_count, "
           "CAST(MAX(c.id) AS TIMESTAMP_LTZ(3)) AS created_at, MAX(c.updated_at) AS updated_at "
           "FROM `sbx-uat.encarta.public.sku_classifications` c GROUP BY c.sku_id")
    with pytest.raises(FlinkSqlError, match="cast from NUMERIC type to TIMESTAMP_LTZ") as refused:
        v2.explain(bad, "a cast from BIGINT")
    assert "a cast from BIGINT" in str(refused.value)


@pytest.mark.flink
def test_the_v1_pipeline_does_not_fit_the_v2_table(v2):
    """Why a new table version needs a new statement: v1's SELECT lacks the v2 columns."""
    dml = MANIFEST.table("skus_uoms_agg").v1.dml
    with pytest.raises(FlinkSqlError, match="(?i)column types of query result and sink") as refused:
        v2.explain(MANIFEST.sql(dml), str(dml))
    assert str(dml) in str(refused.value)


@pytest.mark.flink
def test_explain_plans_files_in_order_and_names_the_one_flink_refuses(tmp_path):
    spec = MANIFEST.table("skus_classifications_agg")
    (source,) = [s for s in MANIFEST.sources if s.name == "sku_classifications"]
    drop = tmp_path / "drop_v1.sql"  # without it, v2's CREATE TABLE IF NOT EXISTS would keep v1
    drop.write_text(f"DROP TABLE IF EXISTS `{spec.flink_table}`;")
    files = [MANIFEST.file(p) for p in (source.ddl, spec.v1.ddl)] + [drop] + [
        MANIFEST.file(p) for p in (spec.v2.ddl, spec.v2.dml)]
    plans = flink_harness.explain(files)
    assert [plans[f] for f in files[:4]] == ["", "", "", ""]
    assert "GroupAggregate(groupBy=[sku_id]" in plans[files[4]] and "MAX_RETRACT(updated_at)" in plans[files[4]]
    with pytest.raises(FlinkSqlError, match=re.escape(str(MANIFEST.file(spec.v2.dml)))):
        flink_harness.explain(files[:2] + files[4:])  # v1's table, v2's pipeline


# -- a bounded run through real Flink ---------------------------------------------------------------

def _at(minute: int) -> datetime:
    return datetime(2026, 3, 1, 12, minute, tzinfo=timezone.utc)


@pytest.mark.flink
def test_run_bounded_applies_upserts_and_returns_the_final_aggregates(flink):
    spec = MANIFEST.table("skus_classifications_agg")
    source = "sbx-uat.encarta.public.sku_classifications"

    def row(id_: int, sku: int, code: str, created: int, updated: int) -> dict:
        return {"id": id_, "sku_id": sku, "classification_type": "ABC", "classification_code": code,
                "created_at": _at(created), "updated_at": _at(updated)}

    rows = [row(1, 10, "A", 0, 1), row(2, 10, "B", 2, 3), row(3, 10, "B", 4, 5), row(4, 20, "C", 6, 7),
            row(2, 20, "C", 2, 9)]  # the last one moves classification 2 from SKU 10 to SKU 20
    result = flink_harness.run_bounded({source: rows}, [MANIFEST.file(spec.v2.dml)])
    assert sorted(result[spec.flink_table], key=lambda r: r["sku_id"]) == [
        {"sku_id": 10, "classification_count": 2, "created_at": _at(4), "updated_at": _at(5)},
        {"sku_id": 20, "classification_count": 1, "created_at": _at(6), "updated_at": _at(9)},
    ]


@pytest.mark.flink
def test_run_bounded_reads_decimals_exactly_and_missing_values_as_none(flink):
    spec = MANIFEST.table("skus_uoms_agg")
    (uoms,) = [s for s in MANIFEST.sources if s.name == "uoms"]
    uom = {c.name: None for c in parse_create_table(MANIFEST.sql(uoms.ddl)).columns}
    uom.update(id=1, sku_id=7, uom_type="CS", qty_per=12, length=Decimal("12.345"), volume=Decimal("0.0010"),
               created_at=_at(1), updated_at=_at(2))
    result = flink_harness.run_bounded({uoms.flink_table: [uom]}, [MANIFEST.file(spec.v1.dml)])
    (agg,) = result[spec.flink_table]
    assert (agg["sku_id"], agg["cs_qty_per"], agg["cs_length"], agg["cs_volume"], agg["ea_qty_per"]) == (
        7, 12, Decimal("12.345"), Decimal("0.0010"), None)
    assert str(agg["cs_volume"]) == "0.0010"
