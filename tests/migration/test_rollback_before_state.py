"""The first recorded "before" state wins: retried tasks and a re-run pre-flight never overwrite it."""

from __future__ import annotations

import uuid

from airflow.sdk import ObjectStoragePath

from confluent_migration.hooks.schema_registry import SchemaRegistryHook
from confluent_migration.migration.ledger import DONE, STARTED, Ledger
from confluent_migration.migration.rollback import COMPATIBILITY_SET, Undoer
from tests.support.migration_ledgers import new_subject, register_v2, set_full_transitive, start_run



def test_the_first_done_keeps_its_result_when_the_task_is_retried(base):
    ledger = Ledger(base, "run-1")
    data = {"subject": "s", "level": "FULL_TRANSITIVE"}
    ledger.record(COMPATIBILITY_SET, STARTED, task_id="set", map_index=0, data=data)
    ledger.record(COMPATIBILITY_SET, DONE, task_id="set", map_index=0, data=data, result={"previous": "BACKWARD"})
    ledger.record(COMPATIBILITY_SET, STARTED, task_id="set", map_index=0, data=data)  # the retry
    ledger.record(COMPATIBILITY_SET, DONE, task_id="set", map_index=0, data=data,
                  result={"previous": "FULL_TRANSITIVE"})
    [step] = ledger.steps()
    assert (step.status, step.result) == (DONE, {"previous": "BACKWARD"})


def test_a_re_run_pre_flight_does_not_record_the_changed_state_as_before(base):
    ledger = Ledger(base, "run-1")
    for level in ("BACKWARD", "FULL_TRANSITIVE"):
        ledger.record("preflight_state", DONE, task_id="preflight.record_state", result={"subjects": {"s": level}})
    assert [s.result for s in ledger.steps(["preflight_state"])] == [{"subjects": {"s": "BACKWARD"}}]


def undo_schemas(target: Ledger, base: ObjectStoragePath, registry: SchemaRegistryHook) -> list[dict]:
    rollback = Ledger(base, f"rollback__{uuid.uuid4().hex[:8]}")
    return Undoer(target, rollback, task_id="undo_restore_schemas", registry=registry).undo_group("restore_schemas")


def test_retried_schema_tasks_are_undone_to_the_state_before_the_run(airflow_connections, base):
    registry = SchemaRegistryHook()
    subject = new_subject(registry)
    target = start_run(base, registry, [subject])
    for _ in range(2):  # each task succeeded, then was retried (cleared) and recorded again
        set_full_transitive(registry, target, subject)
        register_v2(registry, target, subject)
    undone = undo_schemas(target, base, registry)
    assert [o["action"] for o in undone] == ["soft-deleted version 2", "compatibility BACKWARD"]
    assert registry.versions(subject) == [1] and registry.subject_compatibility(subject) == "BACKWARD"


def test_tasks_killed_after_acting_then_retried_are_undone_from_pre_flight(airflow_connections, base):
    registry = SchemaRegistryHook()
    subject = new_subject(registry)
    target = start_run(base, registry, [subject])
    set_full_transitive(registry, target, subject, done=False)  # acted, killed before recording done
    register_v2(registry, target, subject, done=False)
    set_full_transitive(registry, target, subject)  # the retry records FULL_TRANSITIVE as "previous"
    register_v2(registry, target, subject)  # ... and "registered": False
    assert [s.result.get("previous", s.result.get("registered")) for s in target.steps(
        [COMPATIBILITY_SET, "schema_registered"])] == ["FULL_TRANSITIVE", False]
    undo_schemas(target, base, registry)
    assert registry.versions(subject) == [1] and registry.subject_compatibility(subject) == "BACKWARD"


def test_a_schema_that_was_there_before_the_run_is_kept(airflow_connections, base):
    registry = SchemaRegistryHook()
    subject = new_subject(registry)
    register_v2(registry, Ledger(base, "earlier"), subject)
    target = start_run(base, registry, [subject])
    set_full_transitive(registry, target, subject)
    register_v2(registry, target, subject)
    assert [o["action"] for o in undo_schemas(target, base, registry)] == [
        "none (version 2 was there before the migration)", "compatibility BACKWARD"]
    assert registry.versions(subject) == [1, 2]
