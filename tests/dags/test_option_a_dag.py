"""Option A's DAG: each table's v1 stop and v2 start are paired in one task, mapped over batches of
a dependency level's tables (a table's write gap is its own stop and start, whatever the number of
tables or task slots), and a level starts only after the level it reads from; the replacements
come from the plan in order."""

from __future__ import annotations

import pytest

from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.options import replacement_batches, replacements
from confluent_migration.migration.plans import OPTION_A
from confluent_migration.operators.flink import ReplaceStatementOperator
from tests.dags.structure import load_dag, upstream_closure
from tests.support.plans import plan_of

DAG_ID = "migrate_schema_registry_evolution"
PHASE = "phase_3_replace_pipelines"


@pytest.fixture(scope="module")
def dag():
    return load_dag(DAG_ID)


@pytest.mark.parametrize("level", [0, 1])
def test_each_table_is_stopped_and_started_by_one_mapped_task(dag, level):
    replace = dag.get_task(f"{PHASE}.level_{level}_replace_v1")
    assert isinstance(replace, ReplaceStatementOperator) or replace.operator_class is ReplaceStatementOperator
    assert f"{PHASE}.plan_level_{level}_replacements" in replace.upstream_task_ids


def test_a_level_starts_after_the_level_it_reads_from_and_after_the_new_schemas(dag):
    before = upstream_closure
    assert "phase_2_schema_registry_updates.register_v2_schemas" in before(dag, f"{PHASE}.level_0_replace_v1")
    assert f"{PHASE}.level_0_replace_v1" in before(dag, f"{PHASE}.level_1_upstream_running")
    assert f"{PHASE}.level_1_upstream_running" in before(dag, f"{PHASE}.level_1_replace_v1")
    assert f"{PHASE}.level_1_replace_v1" in before(dag, "phase_4_validation.wait_until_caught_up")


def test_the_replacements_match_each_v1_statement_with_the_v2_statement_of_its_table():
    manifest = load_manifest()
    the_plan = plan_of(OPTION_A, manifest, [t.name for t in manifest.tables])
    for n, level in enumerate(the_plan.levels):
        pairs = replacements(the_plan.to_xcom(), n)
        assert [p["replaces"] for p in pairs] == [s.statement_name for s in level.stop]
        for pair, start in zip(pairs, level.start, strict=True):
            table = next(t for t in manifest.tables if t.v1.statement == pair["replaces"])
            assert pair["statement_name"] == start.statement_name and table.name.replace("_", "-") in start.statement_name
            assert (pair["sql"], pair["properties"]) == (start.sql, start.properties)
        batches = replacement_batches(the_plan.to_xcom(), n)  # what the level's mapped task expands over
        assert [pair for b in batches for pair in b["items"]] == pairs and len(batches) == min(len(pairs), 4)
        assert [b["first_index"] for b in batches] == [pairs.index(b["items"][0]) for b in batches]


@pytest.mark.parametrize(("task_id", "batches"), [
    ("phase_1_backup_and_prepare.check_v2_schema_compatibility", "phase_1_backup_and_prepare.plan_check_schemas_batches"),
    ("phase_1_backup_and_prepare.validate_v2_pipelines", "phase_1_backup_and_prepare.plan_validate_queries_batches"),
    ("phase_2_schema_registry_updates.set_full_transitive",
     "phase_2_schema_registry_updates.plan_set_compatibility_batches"),
    ("phase_2_schema_registry_updates.register_v2_schemas",
     "phase_2_schema_registry_updates.plan_register_schemas_batches"),
])
def test_checks_and_schema_changes_are_mapped_over_batches_of_tables(dag, task_id, batches):
    """One task per batch (a few task start-ups, whatever the number of tables), each item recorded on its own."""
    mapped = dag.get_task(task_id)
    assert batches in mapped.upstream_task_ids
    assert dag.get_task(batches).op_args[2] is True
