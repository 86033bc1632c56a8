"""Every branch of the rollback's undo, one step at a time against the sandbox: what it does when the
change is there, when it is already undone, and when it cannot be undone safely."""

from __future__ import annotations

import json
import uuid

import pytest

from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.hooks.schema_registry import SchemaRegistryHook
from confluent_migration.migration.ledger import DONE, STARTED, Ledger, Step
from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.rollback import (
    COMPATIBILITY_SET,
    SCHEMA_REGISTERED,
    STATEMENT_CREATED,
    STATEMENT_STOPPED,
    TABLE_CREATED,
    TABLE_DROPPED,
    RollbackError,
    Undoer,
    wait_for_phase,
)
from tests.migration.test_rollback_retry import snapshot_ddl



def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def undoer_of(base, *, statements=(), subjects=None) -> Undoer:
    """An Undoer of a recorded run whose pre-flight saw ``statements`` and ``subjects``."""
    target = Ledger(base, f"manual__{uuid.uuid4().hex[:8]}")
    target.start(dag_id="migrate_zero_downtime_dual_write", option="B", tables=[], params={"dry_run": False})
    target.record("preflight_state", DONE, task_id="record_current_state", map_index=-1,
                  result={"statements": list(statements), "subjects": subjects or {}})
    return Undoer(target, Ledger(base, f"rollback__{uuid.uuid4().hex[:8]}"), task_id="undo", wait_seconds=60)


def step(kind: str, status: str = DONE, result=None, **data) -> Step:
    return Step(kind, "the_task", 0, status, data, result)


def a_running_copy(flink: FlinkStatementsHook) -> tuple[str, str]:
    """A running ``INSERT INTO sink SELECT * FROM source`` statement: (its name, its SQL)."""
    source, sink = unique("undo_src"), unique("undo_dst")
    for table in (source, sink):
        snapshot_ddl(f"CREATE TABLE `{table}` (`id` INT NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED)")
    name, sql = unique("undo-stmt").replace("_", "-"), f"INSERT INTO `{sink}` SELECT * FROM `{source}`"
    flink.submit_statement(name, sql)
    wait_for_phase(flink, name, {"RUNNING"}, 60)
    return name, sql


# -- tables ------------------------------------------------------------------------------------------

def test_a_created_table_is_dropped_once_and_a_v1_table_the_run_did_not_drop_never(airflow_connections, base):
    undoer = undoer_of(base)
    table = unique("undo_v2")
    snapshot_ddl(f"CREATE TABLE `{table}` (`id` INT NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED)")
    assert undoer.drop_created_table(step(TABLE_CREATED, table=table))["action"] == "dropped"
    assert not undoer.table_exists(table)
    assert undoer.drop_created_table(step(TABLE_CREATED, table=table)) == {"table": table, "action": "none (not there)"}

    v1 = load_manifest(check_files=False).tables[0].flink_table
    with pytest.raises(RollbackError, match=f"created `{v1}` without dropping it first: check the table by hand"):
        undoer.drop_created_table(step(TABLE_CREATED, table=v1))


def test_a_dropped_table_without_a_verified_backup_is_not_recreated_blindly(airflow_connections, base):
    undoer = undoer_of(base)
    table = unique("undo_gone")
    with pytest.raises(RollbackError, match=f"`{table}` was dropped by run .* without a verified backup"):
        undoer.restore_dropped_table(step(TABLE_DROPPED, table=table))
    snapshot_ddl(f"CREATE TABLE `{table}` (`id` INT NOT NULL, PRIMARY KEY (`id`) NOT ENFORCED)")
    assert undoer.restore_dropped_table(step(TABLE_DROPPED, table=table))["action"] == \
        "none (the table is there: it was never dropped)"


# -- statements --------------------------------------------------------------------------------------

def test_a_new_statement_is_stopped_once_and_one_never_created_is_left(airflow_connections, base):
    flink = FlinkStatementsHook()
    name, _ = a_running_copy(flink)
    undoer = undoer_of(base)
    assert undoer.stop_new_statement(step(STATEMENT_CREATED, statement_name=name))["action"] == "stopped"
    assert flink.find_statement(name).phase == "STOPPED"
    assert undoer.stop_new_statement(step(STATEMENT_CREATED, statement_name=name))["action"] == "none (already STOPPED)"
    ghost = unique("never").replace("_", "-")
    assert undoer.stop_new_statement(step(STATEMENT_CREATED, STARTED, statement_name=ghost))["action"] == \
        "none (never created)"


def test_a_stopped_v1_statement_is_resumed_a_running_one_left_and_a_deleted_one_started_again(
        airflow_connections, base):
    flink = FlinkStatementsHook()
    name, sql = a_running_copy(flink)
    undoer = undoer_of(base, statements=[{"name": name, "sql": sql, "properties": {}, "phase": "RUNNING"}])
    stopped = step(STATEMENT_STOPPED, statement_name=name)
    assert undoer.bring_back_statement(stopped)["action"] == "none (already RUNNING)"

    flink.set_stopped(name, True)
    wait_for_phase(flink, name, {"STOPPED"}, 60)
    assert undoer.bring_back_statement(stopped)["action"] == "resumed from its savepoint"
    assert flink.find_statement(name).phase == "RUNNING"

    flink.delete_statement(name)
    assert undoer.bring_back_statement(stopped)["action"] == "started again from the earliest offset"
    again = flink.find_statement(name)
    assert again.phase == "RUNNING" and again.sql == sql


def test_a_deleted_statement_whose_sql_pre_flight_did_not_record_is_left_to_a_person(airflow_connections, base):
    ghost = unique("gone").replace("_", "-")
    with pytest.raises(RollbackError, match=f"'{ghost}' is gone and pre-flight did not record its SQL"):
        undoer_of(base).bring_back_statement(step(STATEMENT_STOPPED, statement_name=ghost))


# -- Schema Registry ---------------------------------------------------------------------------------

def record_schema(name: str, *fields: str) -> str:
    return json.dumps({"type": "record", "name": name,
                       "fields": [{"name": f, "type": ["null", "long"], "default": None} for f in fields]})


def test_a_registered_version_is_soft_deleted_unless_it_was_there_before(airflow_connections, base):
    registry = SchemaRegistryHook()
    subject = unique("undo-subject") + "-value"
    v1, v2 = record_schema("r", "a"), record_schema("r", "a", "b")
    registry.register(subject, v1)
    registered, _ = registry.register(subject, v2)

    kept = undoer_of(base, subjects={subject: {"versions": [1, registered.version]}})
    assert kept.delete_registered_version(step(SCHEMA_REGISTERED, schema=v2, subject=subject,
                                               result={"version": registered.version}))["action"] == \
        f"none (version {registered.version} was there before the migration)"

    undoer = undoer_of(base, subjects={subject: {"versions": [1]}})
    undone = step(SCHEMA_REGISTERED, STARTED, schema=v2, subject=subject)  # killed before it recorded the version
    assert undoer.delete_registered_version(undone)["action"] == f"soft-deleted version {registered.version}"
    assert registry.versions(subject) == [1]
    assert undoer.delete_registered_version(undone)["action"] == "none (no version of this migration is live)"


def test_compatibility_goes_back_to_pre_flights_level_and_an_unknown_one_is_left_to_a_person(
        airflow_connections, base):
    registry = SchemaRegistryHook()
    subject = unique("undo-compat") + "-value"
    registry.register(subject, record_schema("r", "a"))
    registry.set_compatibility(subject, "FULL_TRANSITIVE")
    undoer = undoer_of(base, subjects={subject: {"subject_compatibility": "BACKWARD"}})
    changed = step(COMPATIBILITY_SET, subject=subject, result={"previous": "FULL_TRANSITIVE"})
    assert undoer.restore_compatibility(changed)["action"] == "compatibility BACKWARD"
    assert registry.subject_compatibility(subject) == "BACKWARD"
    assert undoer.restore_compatibility(changed)["action"] == "none (compatibility already BACKWARD)"

    with pytest.raises(RollbackError, match=f"recorded the compatibility of subject '{subject}' before the change"):
        undoer_of(base).restore_compatibility(step(COMPATIBILITY_SET, STARTED, subject=subject))

