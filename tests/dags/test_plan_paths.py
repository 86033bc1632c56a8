"""Every list a migration DAG's mapped tasks expand over is there in its option's plan, as the
task that picks it reads it back from XCom: the right kwargs for every table."""

from __future__ import annotations

import json
import typing

import pytest

from confluent_migration.migration.building import pick, validation_gates
from confluent_migration.migration.dual_write import list_external_readers
from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.plan_types import PlanError, check_path, plan_type
from confluent_migration.migration.dag_defaults import level_slots
from confluent_migration.migration.plans import dependency_levels
from tests.dags.structure import load_dag
from tests.support.plans import plan_of

MANIFEST = load_manifest()
DAGS = {"A": "migrate_schema_registry_evolution", "B": "migrate_zero_downtime_dual_write",
        "C": "migrate_maintenance_window_recreate"}


@pytest.mark.parametrize("option", sorted(DAGS))
def test_each_planned_list_of_the_dag_is_picked_from_its_options_plan(option):
    dag = load_dag(DAGS[option])
    xcom = json.loads(json.dumps(plan_of(option, MANIFEST, MANIFEST.names, slots=level_slots()).to_xcom()))
    depth = len(dependency_levels(MANIFEST))
    picks = [t for t in dag.tasks if getattr(t, "python_callable", None) is pick]
    assert picks
    for t in picks:
        path = t.op_args[1]
        picked = pick(xcom, path)
        beyond = "levels" in str(path[0]) and path[1] >= depth  # the DAG's levels this estate does not need
        assert isinstance(picked, list) and bool(picked) != beyond, t.task_id
        assert all(isinstance(entry, (str, dict)) for entry in picked), t.task_id
        if t.op_args[2]:  # a batch operator's: the same entries, in order, cut into batches
            batches = pick(xcom, t.op_args[1], True)
            assert [item for b in batches for item in b["items"]] == picked, t.task_id
            assert [b["first_index"] for b in batches] == [picked.index(b["items"][0]) for b in batches]


@pytest.mark.parametrize(("entries", "count", "sizes"), [
    (10, 4, [3, 3, 2, 2]), (40, 4, [10, 10, 10, 10]), (3, 4, [1, 1, 1]), (1, 4, [1]), (0, 4, []), (5, 1, [5])])
def test_a_list_is_cut_into_at_most_as_many_batches_as_asked_in_order(entries, count, sizes):
    from confluent_migration.migration.building import in_batches

    batches = in_batches(list(range(entries)), count)
    assert [len(b["items"]) for b in batches] == sizes
    assert [item for b in batches for item in b["items"]] == list(range(entries))
    assert all(b["items"][0] == b["first_index"] for b in batches)


def test_the_number_of_batches_is_configured_when_the_run_picks_them(monkeypatch):
    from confluent_migration.migration.building import batch_count

    assert batch_count() == 4
    monkeypatch.setenv("CONFLUENT_MIGRATION_BATCHES", "8")
    assert batch_count() == 8


@pytest.mark.parametrize("option", sorted(DAGS))
def test_every_plan_path_of_the_dag_is_a_field_of_its_options_plan_type(option):
    """The DAG files do not import the plan's types (parse time): this is where a wrong path fails.
    A mapped task's path leads to a list; the gates' and the readers' keys to fields."""
    dag, kind = load_dag(DAGS[option]), plan_type(option)
    checked = 0
    for t in dag.tasks:
        fn = getattr(t, "python_callable", None)
        if fn is pick:
            assert typing.get_origin(check_path(kind, t.op_args[1])) is tuple, t.task_id
        elif fn is validation_gates:
            check_path(kind, [t.op_args[1]])
        elif fn is list_external_readers:
            for key in t.op_args[1:3]:
                check_path(kind, [key])
        else:
            continue
        checked += 1
    assert checked > 3


def test_a_wrong_path_fails_naming_the_type_and_the_field():
    with pytest.raises(PlanError, match="OptionAPlan has no field 'retire_tables'"):
        check_path(plan_type("A"), ["retire_tables"])
    assert typing.get_origin(check_path(plan_type("C"), ["levels", 0])) is not tuple  # not a list: not mappable
