"""Rollback undos meeting faults: a soft delete whose answer was lost, an undo group run twice."""

from __future__ import annotations

import uuid

import pytest
from airflow.sdk import ObjectStoragePath

from confluent_migration.hooks.base import RetryPolicy
from confluent_migration.hooks.schema_registry import SchemaRegistryHook
from confluent_migration.migration.ledger import Ledger
from confluent_migration.migration.rollback import Undoer
from tests.support.migration_ledgers import V2, new_subject, register_v2, set_full_transitive, start_run

FAST = RetryPolicy(max_attempts=3, backoff_seconds=0.01, max_backoff_seconds=0.05)
VERSION_DELETE = r"/subjects/[^/]+/versions/\d+$"


@pytest.fixture
def base(tmp_path) -> ObjectStoragePath:
    return ObjectStoragePath(f"file://{tmp_path}/ledger")


def test_a_soft_delete_whose_answer_was_lost_is_done_when_retried(proxy):
    registry = SchemaRegistryHook(retry=FAST)
    subject = new_subject(registry)
    version, _ = registry.register(subject, V2)
    proxy.add("DELETE", VERSION_DELETE, "lose")
    assert registry.soft_delete_version(subject, version.version) is False  # the client's retry met 40406
    assert [(e.action, e.upstream) for e in proxy.log if e.method == "DELETE"] == [("lose", 200), ("forwarded", 404)]
    assert registry.versions(subject) == [1]


def test_an_undo_group_whose_delete_answer_was_lost_succeeds_and_runs_again_harmlessly(proxy, base):
    registry = SchemaRegistryHook(retry=FAST)
    subject = new_subject(registry)
    target = start_run(base, registry, [subject])
    set_full_transitive(registry, target, subject)
    register_v2(registry, target, subject)
    proxy.add("DELETE", VERSION_DELETE, "lose")
    rollback = Ledger(base, f"rollback__{uuid.uuid4().hex[:8]}")

    first = Undoer(target, rollback, task_id="undo_restore_schemas", registry=registry).undo_group("restore_schemas")
    again = Undoer(target, rollback, task_id="undo_restore_schemas", registry=registry).undo_group("restore_schemas")

    assert [o["action"] for o in first] == ["soft-deleted version 2 (already)", "compatibility BACKWARD"]
    assert [o["action"] for o in again] == ["none (no version of this migration is live)",
                                           "none (compatibility already BACKWARD)"]
    assert registry.versions(subject) == [1] and registry.subject_compatibility(subject) == "BACKWARD"
