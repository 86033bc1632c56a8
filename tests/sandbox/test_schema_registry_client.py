"""The sandbox's Schema Registry through confluent-kafka's real ``SchemaRegistryClient``, unchanged."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaReference
from confluent_kafka.schema_registry.error import SchemaRegistryError

from tests.sandbox.conftest import record

ID = {"name": "id", "type": "long"}
NAME = {"name": "name", "type": "string"}
SKU = record("skus", ID)


def avro(text: str) -> Schema:
    return Schema(text, "AVRO")


def sr_error(call, *args, **kwargs) -> SchemaRegistryError:  # noqa: ANN001
    with pytest.raises(SchemaRegistryError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_register_answers_a_global_id_and_an_identical_schema_reuses_it(client, subject, namespace):
    sku = record("skus", ID, namespace=namespace)
    first = client.register_schema(subject, avro(sku))
    # Same schema, other whitespace and key order: no new version, the same id.
    reordered = json.dumps({"fields": [ID], "namespace": namespace, "name": "skus", "type": "record"}, indent=2)
    assert client.register_schema(subject, avro(reordered)) == first
    assert client.get_versions(subject) == [1]
    # The same schema under another subject keeps its id there too, as a version of that subject.
    assert client.register_schema(f"{subject}-copy", avro(sku)) == first
    assert client.get_subjects_by_schema_id(first) == sorted([subject, f"{subject}-copy"])
    assert [(v.subject, v.version) for v in client.get_schema_versions(first)] == sorted(
        [(subject, 1), (f"{subject}-copy", 1)]
    )
    assert first >= 100001
    evolved = client.register_schema(subject, avro(record("skus", ID, {**NAME, "default": ""})))
    assert evolved > first
    assert client.get_versions(subject) == [1, 2]


def test_schema_by_id_latest_version_and_version(client, subject):
    schema_id = client.register_schema(subject, avro(SKU))
    client.clear_caches()
    assert json.loads(client.get_schema(schema_id).schema_str) == json.loads(SKU)
    latest = client.get_latest_version(subject)
    assert (latest.subject, latest.version, latest.schema_id) == (subject, 1, schema_id)
    assert client.get_version(subject, 1).schema_id == schema_id
    assert sr_error(client.get_schema, 999_999_999).error_code == 40403
    assert sr_error(client.get_version, subject, 7).error_code == 40402
    assert sr_error(client.get_latest_version, f"{subject}-nothing").error_code == 40401


def test_lookup_finds_the_version_or_answers_40401_and_40403(client, subject):
    schema_id = client.register_schema(subject, avro(SKU))
    found = client.lookup_schema(subject, avro(SKU))
    assert (found.schema_id, found.version, found.subject) == (schema_id, 1, subject)
    assert sr_error(client.lookup_schema, subject, avro(record("skus", NAME))).error_code == 40403
    assert sr_error(client.lookup_schema, f"{subject}-nothing", avro(SKU)).error_code == 40401


def test_subjects_listing_with_prefix_and_deleted(client, subject):
    for suffix in ("a", "b"):
        client.register_schema(f"{subject}.{suffix}", avro(SKU))
    assert client.get_subjects(subject_prefix=f"{subject}.") == [f"{subject}.a", f"{subject}.b"]
    assert client.delete_subject(f"{subject}.a") == [1]
    assert client.get_subjects(subject_prefix=f"{subject}.") == [f"{subject}.b"]
    assert client.get_subjects(subject_prefix=f"{subject}.", deleted=True) == [f"{subject}.a", f"{subject}.b"]
    assert client.get_subjects(subject_prefix=f"{subject}.", deleted_only=True) == [f"{subject}.a"]
    assert f"{subject}.b" in client.get_subjects()


def test_subject_delete_is_soft_first_then_permanent(client, subject):
    client.register_schema(subject, avro(SKU))
    client.register_schema(subject, avro(record("skus", ID, {**NAME, "default": ""})))
    assert sr_error(client.delete_subject, subject, permanent=True).error_code == 40405
    assert client.delete_subject(subject) == [1, 2]
    assert sr_error(client.delete_subject, subject).error_code == 40404
    assert sr_error(client.get_versions, subject).error_code == 40401
    assert client.get_versions(subject, deleted=True) == [1, 2]
    assert client.delete_subject(subject, permanent=True) == [1, 2]
    assert sr_error(client.delete_subject, subject).error_code == 40401
    # After a permanent delete the subject starts again at version 1.
    client.register_schema(subject, avro(SKU))
    assert client.get_versions(subject) == [1]


def test_version_delete_is_soft_first_then_permanent(client, subject):
    client.register_schema(subject, avro(SKU))
    client.register_schema(subject, avro(record("skus", ID, {**NAME, "default": ""})))
    assert sr_error(client.delete_version, subject, 1, permanent=True).error_code == 40407
    assert client.delete_version(subject, 1) == 1
    assert sr_error(client.delete_version, subject, 1).error_code == 40406
    assert client.get_versions(subject) == [2]
    assert client.get_version(subject, 1, deleted=True).version == 1
    client.clear_caches()  # the client caches versions it has read
    assert sr_error(client.get_version, subject, 1).error_code == 40402
    assert client.delete_version(subject, 1, permanent=True) == 1
    client.clear_caches()
    assert sr_error(client.get_version, subject, 1, deleted=True).error_code == 40402
    assert sr_error(client.delete_version, subject, 9).error_code == 40402
    assert sr_error(client.delete_version, f"{subject}-nothing", 1).error_code == 40401


def test_full_transitive_accepts_a_field_with_default_and_refuses_one_without(client, subject):
    client.set_compatibility(subject, "FULL_TRANSITIVE")
    assert client.get_compatibility(subject) == "FULL_TRANSITIVE"
    client.register_schema(subject, avro(SKU))
    with_default = record("skus", ID, {"name": "created_at", "type": ["null", "long"], "default": None})
    assert client.test_compatibility(subject, avro(with_default))
    client.register_schema(subject, avro(with_default))
    without_default = record("skus", ID, {"name": "created_at", "type": ["null", "long"], "default": None},
                             {"name": "updated_at", "type": "long"})
    assert not client.test_compatibility(subject, avro(without_default))
    error = sr_error(client.register_schema, subject, avro(without_default))
    assert (error.http_status_code, error.error_code) == (409, 409)
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in error.error_message
    assert "updated_at" in error.error_message
    assert client.get_versions(subject) == [1, 2]


def test_invalid_schema_and_unsupported_type_answer_42201(client, subject):
    error = sr_error(client.register_schema, subject, avro('{"type": "record", "name": "x"}'))
    assert (error.http_status_code, error.error_code) == (422, 42201)
    assert "fields" in error.error_message
    assert sr_error(client.register_schema, subject, Schema('{"type": "object"}', "JSON")).error_code == 42201
    assert client.get_schema_types() == ["AVRO"]


def test_readonly_subject_refuses_registration_with_42205(client, subject):
    client.register_schema(subject, avro(SKU))
    assert client.update_mode(subject, "READONLY") == "READONLY"
    assert client.get_mode(subject) == "READONLY"
    error = sr_error(client.register_schema, subject, avro(record("skus", ID, {**NAME, "default": ""})))
    assert (error.http_status_code, error.error_code) == (422, 42205)
    assert client.delete_mode(subject) == "READONLY"
    assert sr_error(client.get_mode, subject).error_code == 40409
    client.register_schema(subject, avro(record("skus", ID, {**NAME, "default": ""})))


def test_config_per_subject_and_invalid_level(client, subject):
    assert sr_error(client.get_compatibility, subject).error_code == 40408
    client.set_compatibility(subject, "forward")
    assert client.get_compatibility(subject) == "FORWARD"
    assert client.get_config(subject).compatibility_level.value == "FORWARD"
    error = sr_error(client.set_compatibility, subject, "SIDEWAYS")
    assert (error.http_status_code, error.error_code) == (422, 42203)


def test_references_and_referenced_by(client, subject):
    address = json.dumps({"type": "record", "name": "Address", "namespace": "sandbox.test",
                          "fields": [{"name": "city", "type": "string"}]})
    address_id = client.register_schema(f"{subject}-address", avro(address))
    customer = record("Customer", ID, {"name": "address", "type": "sandbox.test.Address"})
    ref = SchemaReference("sandbox.test.Address", f"{subject}-address", 1)
    customer_id = client.register_schema(subject, Schema(customer, "AVRO", [ref]))
    assert customer_id != address_id
    assert client.get_referenced_by(f"{subject}-address", 1) == [customer_id]
    registered = client.get_latest_version(subject)
    assert [(r.name, r.subject, r.version) for r in registered.schema.references] == [
        ("sandbox.test.Address", f"{subject}-address", 1)
    ]
    assert sr_error(client.delete_version, f"{subject}-address", 1).error_code == 42206
    missing = SchemaReference("sandbox.test.Address", f"{subject}-nothing", 1)
    assert sr_error(client.register_schema, f"{subject}-2", Schema(customer, "AVRO", [missing])).error_code == 42201
    # Without the reference the named type is unknown: an invalid schema.
    assert sr_error(client.register_schema, f"{subject}-3", avro(customer)).error_code == 42201
