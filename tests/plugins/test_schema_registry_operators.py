"""Schema Registry operators in real ``dag.test()`` runs against the sandbox registry."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import ObjectStoragePath

from confluent_migration.backup import read_backup
from confluent_migration.hooks.schema_registry import SchemaRegistryHook
from confluent_migration.links import SUBJECT_URL_KEY
from confluent_migration.operators.schema_registry import (
    BackupSubjectsOperator,
    CheckSchemaCompatibilityOperator,
    RegisterSchemaOperator,
    RevertSubjectOperator,
    SetSubjectCompatibilityOperator,
)
from tests.plugins.conftest import ledger_started, steps_of, unique


def avro(*optional: str) -> str:
    fields = [{"name": "id", "type": "long"}]
    fields += [{"name": f, "type": ["null", "string"], "default": None} for f in optional]
    return json.dumps({"type": "record", "name": "skus_value", "namespace": "org.apache.flink.avro.generated.record",
                       "fields": fields})


V1, V2 = avro("sku"), avro("sku", "uom")
BREAKING = json.dumps({"type": "record", "name": "skus_value", "namespace": "org.apache.flink.avro.generated.record",
                       "fields": [{"name": "id", "type": "string"}]})


@pytest.fixture
def subject(airflow_connections) -> str:
    """A subject holding V1 as version 1."""
    name = unique("skus") + "-value"
    SchemaRegistryHook().register(name, V1)
    return name


def test_register_is_idempotent_and_links_to_the_subject(run_dag, subject):
    result = run_dag(lambda: (RegisterSchemaOperator(task_id="first", subject=subject, schema=V2)
                              >> RegisterSchemaOperator(task_id="again", subject=subject, schema=V2)))
    first, again = result.xcom("first"), result.xcom("again")
    assert first["registered"] is True and first["version"] == 2
    assert again == {**first, "registered": False}
    link = result.xcom("first", key=SUBJECT_URL_KEY)
    assert link == f"https://confluent.cloud/environments/env-sandbox/stream-governance/schema-registry/data-contracts/{subject}"


def test_backup_holds_every_version_id_compatibility_and_mode_and_reads_back(run_dag, subject, tmp_path):
    hook = SchemaRegistryHook()
    hook.register(subject, V2)
    hook.set_compatibility(subject, "FULL")
    result = run_dag(lambda: BackupSubjectsOperator(task_id="backup", subjects=[subject], location=f"file://{tmp_path}",
                                                    backup_name="run/1"))
    summary = result.xcom("backup")
    assert summary["subjects"] == {subject: [1, 2]}
    backup = read_backup(ObjectStoragePath(summary["path"]))
    (entry,) = backup["subjects"]
    assert [(v["version"], json.loads(v["schema"])) for v in entry["versions"]] == [(1, json.loads(V1)), (2, json.loads(V2))]
    assert [v["id"] for v in entry["versions"]] == [hook.version(subject, 1).schema_id, hook.version(subject, 2).schema_id]
    assert (entry["compatibility"], entry["subject_compatibility"], entry["mode"]) == ("FULL", "FULL", "READWRITE")
    assert summary["path"].endswith("run_1.json")


def test_compatibility_check_passes_an_optional_field_and_fails_a_breaking_one(run_dag, subject):
    result = run_dag(lambda: [
        CheckSchemaCompatibilityOperator(task_id="ok", subject=subject, schema=V2, level="FULL_TRANSITIVE"),
        CheckSchemaCompatibilityOperator(task_id="breaking", subject=subject, schema=BREAKING, level="FULL_TRANSITIVE"),
    ])
    assert result.state("ok") == "success"
    assert result.xcom("ok")["checked_versions"] == [1]
    assert result.state("breaking") == "failed"


def test_compatibility_check_finds_the_registrys_messages(subject, airflow_connections):
    compatible, messages = SchemaRegistryHook().check_compatibility(subject, BREAKING, all_versions=True)
    assert not compatible and messages


def test_set_compatibility_records_the_previous_level_and_revert_restores_it(run_dag, subject):
    hook = SchemaRegistryHook()
    result = run_dag(lambda: SetSubjectCompatibilityOperator(task_id="set", subject=subject, level="full_transitive"))
    change = result.xcom("set")
    assert change["previous"] is None and change["level"] == "FULL_TRANSITIVE"
    assert hook.compatibility(subject) == "FULL_TRANSITIVE"
    v2, _ = hook.register(subject, V2)

    result = run_dag(lambda: RevertSubjectOperator(task_id="revert", subject=subject, versions=[v2.version],
                                                   previous_compatibility=change["previous"]))
    reverted = result.xcom("revert")
    assert reverted["deleted_versions"] == [2] and reverted["latest_version"] == 1
    assert hook.subject_compatibility(subject) is None
    assert json.loads(hook.version(subject).schema) == json.loads(V1)


def test_revert_refuses_a_readonly_subject_with_a_clear_error(run_dag, subject, sandbox):
    import requests

    requests.put(f"{sandbox.url}/mode/{subject}", json={"mode": "READONLY"}, auth=sandbox.auth,
                 timeout=5).raise_for_status()
    result = run_dag(lambda: RevertSubjectOperator(task_id="revert", subject=subject, versions=[1]))
    assert result.state("revert") == "failed"
    assert f"Cannot revert subject '{subject}': it is in READONLY mode" in result.output
    assert SchemaRegistryHook().versions(subject) == [1]


# -- batches: one task acting on several subjects at once ------------------------------------------------

def test_a_batch_checks_every_subject_and_names_each_incompatible_one(run_dag, airflow_connections):
    hook = SchemaRegistryHook()
    subjects = [unique("batch-check") + "-value" for _ in range(3)]
    for subject in subjects:
        hook.register(subject, V1)
    items = [{"subject": subjects[0], "schema": V2, "level": "FULL_TRANSITIVE"},
             *({"subject": s, "schema": BREAKING, "level": "FULL_TRANSITIVE"} for s in subjects[1:])]
    result = run_dag(lambda: [CheckSchemaCompatibilityOperator(task_id="ok", items=items[:1]),
                              CheckSchemaCompatibilityOperator(task_id="batch", items=items)])
    assert result.state("ok") == "success" and result.xcom("ok")[0]["checked_versions"] == [1]
    assert result.state("batch") == "failed"
    assert "batch: 2 of 3 items failed (1 completed)" in result.output
    for subject in subjects[1:]:
        assert f"- {subject}: SchemaIncompatibleError: The new schema of subject '{subject}' is incompatible" \
            in result.output


def test_a_batch_where_some_items_fail_reports_each_and_records_the_others(run_dag, subject, sandbox, monkeypatch,
                                                                           tmp_path):
    import requests

    from confluent_migration.migration.ledger import recorded_items
    from confluent_migration.migration.rollback import SCHEMA_REGISTERED

    frozen = [unique("frozen") + "-value" for _ in range(2)]
    for name in frozen:
        SchemaRegistryHook().register(name, V1)
        requests.put(f"{sandbox.url}/mode/{name}", json={"mode": "READONLY"}, auth=sandbox.auth,
                     timeout=5).raise_for_status()
    start = ledger_started(monkeypatch, tmp_path)
    items = [{"subject": s, "schema": V2} for s in (subject, *frozen)]
    result = run_dag(lambda: start() >> RegisterSchemaOperator(
        task_id="register", items=items, first_index=4, retries=1,
        **recorded_items(SCHEMA_REGISTERED, ["subject", "schema"])))
    assert result.state("register") == "failed"  # READONLY is a verdict: not retried
    assert "register: 2 of 3 items failed (1 completed)" in result.output
    for name in frozen:
        assert f"- {name}: SubjectReadOnlyError: registering a schema under subject '{name}'" in result.output
        assert SchemaRegistryHook().versions(name) == [1]
    assert SchemaRegistryHook().versions(subject) == [1, 2]
    steps = {s.data["subject"]: s for s in steps_of(result, tmp_path, SCHEMA_REGISTERED)}
    assert (steps[subject].status, steps[subject].map_index, steps[subject].result["version"]) == ("done", 4, 2)
    assert [(steps[s].status, steps[s].map_index) for s in frozen] == [("started", 5), ("started", 6)]


def test_a_retried_batch_adopts_the_items_done_and_redoes_only_the_failed_one(run_dag, subject, monkeypatch,
                                                                               tmp_path):
    from datetime import timedelta

    from confluent_migration.migration.ledger import Ledger, recorded_items
    from confluent_migration.migration.rollback import SCHEMA_REGISTERED, Undoer

    hook = SchemaRegistryHook()
    strict = unique("strict") + "-value"
    hook.register(strict, V1)
    hook.set_compatibility(strict, "FULL_TRANSITIVE")

    def allow_it(context):  # between the tries: the registry now takes the breaking schema
        hook.set_compatibility(strict, "NONE")

    start = ledger_started(monkeypatch, tmp_path)
    items = [{"subject": subject, "schema": V2}, {"subject": strict, "schema": BREAKING}]
    result = run_dag(lambda: start() >> RegisterSchemaOperator(
        task_id="register", items=items, retries=1, retry_delay=timedelta(0), on_retry_callback=allow_it,
        **recorded_items(SCHEMA_REGISTERED, ["subject", "schema"])))
    assert result.state("register") == "success", result.why()
    assert f"{strict} failed: ConfluentApiError: registering a schema under subject '{strict}'" in result.output
    assert "1 of 2 items failed" in result.output
    assert f"{subject} was done by an earlier try: adopted" in result.output
    first, second = result.xcom("register")
    assert (first["subject"], first["version"], first["registered"]) == (subject, 2, True)  # the first try's record
    assert (second["subject"], second["version"], second["registered"]) == (strict, 2, True)
    ledger = Ledger(ObjectStoragePath(f"file://{tmp_path}/ledger"), result.dag_run.run_id)
    events = [(e["map_index"], e["status"]) for e in ledger.events() if e["kind"] == SCHEMA_REGISTERED]
    assert sorted(events) == [(0, "done"), (0, "started"), (1, "done"), (1, "started"), (1, "started")]

    # rollback reads each item as a step of its own
    undoer = Undoer(ledger, Ledger(ledger.base, f"rollback__{result.dag_run.run_id}"), task_id="undo")
    undone = undoer.undo_group("restore_schemas")
    assert sorted(u["subject"] for u in undone) == sorted([subject, strict])
    assert hook.versions(subject) == [1] and hook.versions(strict) == [1]
