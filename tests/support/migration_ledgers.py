"""Migration runs for rollback tests: subjects changed on a sandbox and recorded as option A records them.

Each helper acts on the registry and writes the ledger events the real tasks write (``started``
before acting, ``done`` after), so a test can also leave out a ``done`` (a worker killed after
acting) or record a retry of a task that had already acted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from airflow.sdk import ObjectStoragePath

from confluent_migration.hooks.schema_registry import SchemaRegistryHook
from confluent_migration.migration.ledger import DONE, STARTED, Ledger
from confluent_migration.migration.observe import subject_states
from confluent_migration.migration.rollback import COMPATIBILITY_SET, SCHEMA_REGISTERED

V1 = json.dumps({"type": "record", "name": "Sku", "fields": [{"name": "id", "type": "long"}]})
V2 = json.dumps({"type": "record", "name": "Sku", "fields": [
    {"name": "id", "type": "long"}, {"name": "created_at", "type": ["null", "long"], "default": None}]})


def new_subject(registry: SchemaRegistryHook, level: str = "BACKWARD") -> str:
    """A fresh subject holding V1 at compatibility ``level``."""
    subject = f"rollback-{uuid.uuid4().hex[:8]}-value"
    registry.register(subject, V1)
    registry.set_compatibility(subject, level)
    return subject


def start_run(base: ObjectStoragePath, registry: SchemaRegistryHook, subjects: Sequence[str],
              run_id: str | None = None, statements: Sequence[dict] = ()) -> Ledger:
    """A migration run's header and pre-flight state (subjects as they are now, ``statements`` snapshots)."""
    ledger = Ledger(base, run_id or f"manual__{uuid.uuid4().hex[:8]}")
    ledger.start(dag_id="migrate_schema_registry_evolution", option="A", tables=["skus_master"],
                 params={"dry_run": False})
    ledger.record("preflight_state", DONE, task_id="preflight.record_state", result={
        "statements": list(statements), "subjects": subject_states(registry, list(subjects))})
    return ledger


def set_full_transitive(registry: SchemaRegistryHook, ledger: Ledger, subject: str, *, done: bool = True) -> None:
    """The ``set_full_transitive`` task: ``done=False`` is a worker killed after acting, before recording."""
    data = {"subject": subject, "level": "FULL_TRANSITIVE"}
    ledger.record(COMPATIBILITY_SET, STARTED, task_id="set_full_transitive", map_index=0, data=data)
    previous = registry.subject_compatibility(subject)
    registry.set_compatibility(subject, "FULL_TRANSITIVE")
    if done:
        ledger.record(COMPATIBILITY_SET, DONE, task_id="set_full_transitive", map_index=0, data=data,
                      result={**data, "previous": previous})


def register_v2(registry: SchemaRegistryHook, ledger: Ledger, subject: str, *, done: bool = True) -> int:
    """The ``register_v2_schemas`` task; returns the version."""
    data = {"subject": subject, "schema": V2}
    ledger.record(SCHEMA_REGISTERED, STARTED, task_id="register_v2_schemas", map_index=0, data=data)
    version, new = registry.register(subject, V2)
    if done:
        ledger.record(SCHEMA_REGISTERED, DONE, task_id="register_v2_schemas", map_index=0, data=data,
                      result={"subject": subject, "version": version.version, "id": version.schema_id,
                              "registered": new})
    return version.version
