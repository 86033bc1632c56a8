"""Plans: what option A does per table, in dependency order, from the manifest; each option's plan
is typed, survives XCom unchanged, and a wrong field fails here, not in a run."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.plan_types import (
    OptionAPlan,
    OptionBPlan,
    Plan,
    PlanError,
    StatementStop,
    check_path,
)
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


def test_levels_are_padded_to_the_dags_and_an_estate_needing_more_is_refused():
    assert [len(level) for level in dependency_levels(MANIFEST, slots=4)] == [3, 1, 0, 0]
    with pytest.raises(PlanError, match=r"form 2 dependency levels; the migration DAGs have 1 .*"
                                         r"set CONFLUENT_MIGRATION_LEVELS=2 where the DAG processor and the workers run"):
        dependency_levels(MANIFEST, slots=1)


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
    assert (facts["skus_master"].from_columns, facts["skus_master"].to_columns) == (117, 118)
    assert facts["skus_master"].source_table == "sbx-uat.encarta.public.skus"


def test_a_pipeline_can_be_validated_before_its_table_has_the_new_columns():
    sql = MANIFEST.sql(MANIFEST.table("skus_classifications_agg").v2.dml)
    assert query_of(sql).startswith("SELECT") and "INSERT" not in query_of(sql)
    assert "`x_v2`" in retarget("INSERT INTO `x` SELECT * FROM `y`", {"x": "x_v2"})


def test_an_unknown_option_is_refused():
    params = plan_of("A", MANIFEST, ["skus_master"]).params
    with pytest.raises(ValueError, match="unknown migration option 'Z'"):
        plan("Z", MANIFEST, params, "r")


EVERY_OPTION = [("A", {}), ("B", {"final_names": "original"}), ("B", {"final_names": "v2"}), ("C", {})]


@pytest.mark.parametrize(("option", "params"), EVERY_OPTION)
def test_each_options_plan_comes_back_from_xcom_equal(option, params):
    """Through Airflow's own XCom serialisation (plain JSON: no class to allow in a deployment)."""
    from airflow.sdk.serde import deserialize, serialize

    the_plan = plan_of(option, MANIFEST, MANIFEST.names, **params)
    stored = json.loads(json.dumps(serialize(the_plan.to_xcom())))
    assert Plan.from_xcom(deserialize(stored)) == the_plan
    assert type(Plan.from_xcom(stored)) is type(the_plan) and the_plan.option == option


def test_a_wrong_field_fails_where_the_plan_is_built():
    stop = StatementStop(statement_name="s")
    with pytest.raises(TypeError, match="statement"):
        StatementStop(statement="s")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="creates"):
        replace(plan_of("A", MANIFEST, ["skus_master"]), creates=())  # option B's field on option A
    with pytest.raises(AttributeError):
        stop.statement_name = "other"  # type: ignore[misc]  # frozen


def test_a_plan_from_xcom_with_an_unknown_missing_or_mistyped_field_fails_naming_it():
    good = plan_of("B", MANIFEST, ["skus_master"]).to_xcom()
    unknown = {**good, "levels": [{**good["levels"][0], "stops": []}, *good["levels"][1:]]}
    with pytest.raises(PlanError, match=r"plan.levels\[0\] \(StartLevel\): unknown fields \['stops'\]"):
        Plan.from_xcom(unknown)
    with pytest.raises(PlanError, match=r"plan \(OptionBPlan\): missing fields \['final_names'\]"):
        Plan.from_xcom({k: v for k, v in good.items() if k != "final_names"})
    with pytest.raises(PlanError, match=r"plan.params.criteria.window_minutes: expected int"):
        Plan.from_xcom({**good, "params": {**good["params"], "criteria": {**good["params"]["criteria"],
                                                                          "window_minutes": "5"}}})
    with pytest.raises(PlanError, match="unknown option 'Z'"):
        Plan.from_xcom({**good, "option": "Z"})
    with pytest.raises(PlanError, match="expected OptionAPlan, got option B's plan"):
        OptionAPlan.from_xcom(good)
    assert isinstance(OptionBPlan.from_xcom(good), OptionBPlan)


def test_a_path_into_the_plan_is_checked_against_its_types():
    assert check_path(OptionBPlan, ["return_levels", 0, "start"]) == check_path(OptionAPlan, ["levels", 1, "start"])
    for kind, path, problem in ((OptionAPlan, ["creates"], "OptionAPlan has no field 'creates'"),
                                (OptionAPlan, ["levels", "start"], "OptionAPlan.levels is not a record"),
                                (OptionBPlan, ["levels", 0, "stops"], r"OptionBPlan.levels\[0\] has no field 'stops'")):
        with pytest.raises(PlanError, match=problem):
            check_path(kind, path)
