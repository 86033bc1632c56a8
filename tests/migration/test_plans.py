"""Plans: what option A does per table, in dependency order, from the manifest."""

from __future__ import annotations

import pytest

from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.plan_types import StatementStop
from confluent_migration.migration.plans import (
    EARLIEST,
    dependency_levels,
    plan,
    query_of,
    retarget,
    startup_properties,
)
from tests.support.plans import plan_of

MANIFEST = load_manifest()


def test_aggregates_come_before_the_master_that_reads_them():
    levels = [[s.name for s in level] for level in dependency_levels(MANIFEST)]
    assert levels == [["skus_uoms_agg", "skus_classifications_agg", "products_classifications_agg"], ["skus_master"]]


def test_a_subset_keeps_every_level_so_dags_have_a_fixed_shape():
    levels = dependency_levels(MANIFEST, MANIFEST.subset(["skus_master"]))
    assert [[s.name for s in level] for level in levels] == [[], ["skus_master"]]


def test_stateful_pipelines_reprocess_from_the_earliest_offset_and_stateless_ones_carry_offsets():
    spec = MANIFEST.table("skus_master")
    assert startup_properties(spec, spec.v1.statement) == EARLIEST
    stateless = type(spec)(**{**spec.__dict__, "stateful": False})
    assert startup_properties(stateless, "old") == {"sql.tables.initial-offset-from": "old"}


def test_option_a_replaces_each_v1_statement_by_a_run_scoped_v2_statement_on_the_same_table():
    a = plan_of("A", MANIFEST, ["skus_master", "skus_uoms_agg"], "manual__1")
    assert a.tables == ("skus_uoms_agg", "skus_master")
    assert a.levels[0].stop == (StatementStop(statement_name="encarta-skus-uoms-agg-v1"),)
    start = a.levels[1].start[0]
    assert start.statement_name.startswith("skus-master-v2-")
    assert start.sql.startswith("INSERT INTO `sbx-uat.encarta.public.skus_master`")
    assert start.properties == EARLIEST
    assert (a.set_compatibility[0].subject, a.set_compatibility[0].level) == (
        "sbx-uat.encarta.public.skus_uoms_agg-value", "FULL_TRANSITIVE")
    facts = {f.table: f for f in a.facts}
    assert (facts["skus_master"].v1_columns, facts["skus_master"].v2_columns) == (117, 118)
    assert facts["skus_master"].source_table == "sbx-uat.encarta.public.skus"


def test_a_pipeline_can_be_validated_before_its_table_has_the_new_columns():
    sql = MANIFEST.sql(MANIFEST.table("skus_classifications_agg").v2.dml)
    assert query_of(sql).startswith("SELECT") and "INSERT" not in query_of(sql)
    assert "`x_v2`" in retarget("INSERT INTO `x` SELECT * FROM `y`", {"x": "x_v2"})


def test_an_unknown_option_is_refused():
    params = plan_of("A", MANIFEST, ["skus_master"]).params
    with pytest.raises(ValueError, match="unknown migration option 'Z'"):
        plan("Z", MANIFEST, params, "r")

