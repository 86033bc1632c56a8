"""Option A's DAG: each table's v1 stop and v2 start are paired in a task group mapped over a
dependency level (a table's write gap is its own stop and start, whatever the number of tables),
and a level starts only after the level it reads from; the pairs come from the plan in order."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.task.priority_strategy import validate_and_load_priority_weight_strategy
from airflow.sdk.definitions.taskgroup import MappedTaskGroup

from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.options import stop_start_pairs
from confluent_migration.migration.plans import OPTION_A
from tests.dags.structure import load_dag, upstream_closure
from tests.support.plans import plan_of

DAG_ID = "migrate_schema_registry_evolution"
PHASE = "phase_3_replace_pipelines"


@pytest.fixture(scope="module")
def dag():
    return load_dag(DAG_ID)


@pytest.mark.parametrize("level", [0, 1])
def test_each_table_stops_then_starts_in_a_group_of_its_own(dag, level):
    stop, start = dag.get_task(f"{PHASE}.level_{level}.stop_v1"), dag.get_task(f"{PHASE}.level_{level}.start_v2")
    assert isinstance(stop.task_group, MappedTaskGroup) and stop.task_group is start.task_group
    assert stop.task_id in start.upstream_task_ids  # per map index: table i's start waits for table i's stop only


@pytest.mark.parametrize("level", [0, 1])
def test_a_stopped_table_gets_its_v2_before_another_table_is_stopped(dag, level):
    """The scheduler queues by priority weight (as it computes it): every start of a level outranks
    every stop, so with fewer task slots than tables a write gap does not wait behind other stops."""
    stop, start = dag.get_task(f"{PHASE}.level_{level}.stop_v1"), dag.get_task(f"{PHASE}.level_{level}.start_v2")
    assert weight(start) > weight(stop)
    assert weight(stop) == min(weight(t) for t in dag.tasks)


def weight(task):
    return validate_and_load_priority_weight_strategy(task.weight_rule).get_weight(SimpleNamespace(task=task))


def test_a_level_starts_after_the_level_it_reads_from_and_after_the_new_schemas(dag):
    before = upstream_closure
    assert "phase_2_schema_registry_updates.register_v2_schemas" in before(dag, f"{PHASE}.level_0.stop_v1")
    assert f"{PHASE}.level_0.start_v2" in before(dag, f"{PHASE}.level_1_upstream_running")
    assert f"{PHASE}.level_1_upstream_running" in before(dag, f"{PHASE}.level_1.stop_v1")
    assert f"{PHASE}.level_1.start_v2" in before(dag, "phase_4_validation.wait_until_caught_up")


def test_the_pairs_match_each_v1_statement_with_the_v2_statement_of_its_table():
    manifest = load_manifest()
    the_plan = plan_of(OPTION_A, manifest, [t.name for t in manifest.tables])
    for n, level in enumerate(the_plan.levels):
        pairs = stop_start_pairs(the_plan.to_xcom(), n)
        assert [p["v1_statement"] for p in pairs] == [s.statement_name for s in level.stop]
        for pair, start in zip(pairs, level.start, strict=True):
            table = next(t for t in manifest.tables if t.v1.statement == pair["v1_statement"])
            assert pair["v2_statement"] == start.statement_name and table.name.replace("_", "-") in start.statement_name
            assert (pair["sql"], pair["properties"]) == (start.sql, start.properties)
