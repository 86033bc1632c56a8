"""The sandbox's Schema Registry over raw HTTP: shapes, codes, compatibility, config and mode.

Every exchange is checked against Confluent's OpenAPI spec by the ``sandbox`` fixture.
"""

from __future__ import annotations

import json

import avro.schema
import pytest

from tests.sandbox.conftest import record

ID = {"name": "id", "type": "long"}
SKU = record("skus", ID)


def register(raw, subject: str, schema: str, **params: object) -> int:  # noqa: ANN001
    return raw.ok("POST", f"/subjects/{subject}/versions", {"schema": schema}, **params)["id"]


def set_level(raw, subject: str, level: str) -> None:  # noqa: ANN001
    assert raw.ok("PUT", f"/config/{subject}", {"compatibility": level}) == {"compatibility": level}


def compatible(raw, subject: str, schema: str, version: str | None = None) -> dict:  # noqa: ANN001
    path = f"/compatibility/subjects/{subject}/versions" + (f"/{version}" if version else "")
    return raw.ok("POST", path, {"schema": schema}, verbose=True)


def test_register_lookup_and_version_shapes(raw, subject, namespace):
    sku = record("skus", ID, namespace=namespace)
    schema_id = register(raw, subject, sku)
    assert register(raw, subject, json.dumps(json.loads(sku), indent=4)) == schema_id
    expected = {"subject": subject, "version": 1, "id": schema_id, "schema": sku}
    assert raw.ok("POST", f"/subjects/{subject}", {"schema": sku}) == expected
    assert raw.ok("GET", f"/subjects/{subject}/versions/1") == expected
    assert raw.ok("GET", f"/subjects/{subject}/versions/latest") == expected
    assert raw.ok("GET", f"/subjects/{subject}/versions/-1") == expected
    assert raw.ok("GET", f"/subjects/{subject}/versions") == [1]
    # The spec types the bare-schema endpoints as a string: the schema text, JSON-encoded.
    assert raw.ok("GET", f"/subjects/{subject}/versions/latest/schema") == sku
    assert raw.ok("GET", f"/schemas/ids/{schema_id}") == {"schema": sku}
    assert raw.ok("GET", f"/schemas/ids/{schema_id}/schema") == sku
    assert raw.ok("GET", f"/schemas/ids/{schema_id}/subjects") == [subject]
    assert raw.ok("GET", f"/schemas/ids/{schema_id}/versions") == [{"subject": subject, "version": 1}]
    assert raw.ok("GET", "/schemas", subjectPrefix=subject) == [expected]
    assert raw.ok("GET", "/schemas/types") == ["AVRO"]
    assert raw.ok("GET", "/contexts") == ["."]


def test_not_found_and_invalid_version_codes(raw, subject):
    register(raw, subject, SKU)
    raw.error(404, 40401, "GET", f"/subjects/{subject}-nothing/versions")
    raw.error(404, 40401, "GET", f"/subjects/{subject}-nothing/versions/1")
    raw.error(404, 40402, "GET", f"/subjects/{subject}/versions/2")
    raw.error(404, 40403, "GET", "/schemas/ids/1")
    raw.error(404, 40403, "POST", f"/subjects/{subject}", {"schema": record("other", ID)})
    for bad in ("0", "abc", "2147483648"):
        assert "latest" in raw.error(422, 42202, "GET", f"/subjects/{subject}/versions/{bad}")
    raw.error(422, 42202, "DELETE", f"/subjects/{subject}/versions/abc")
    raw.error(422, 42201, "POST", f"/subjects/{subject}/versions", {"schema": "{not json"})
    raw.error(422, 42201, "POST", f"/subjects/{subject}/versions", {"schema": SKU, "schemaType": "PROTOBUF"})
    raw.error(422, 42201, "POST", f"/subjects/{subject}/versions",
              {"schema": SKU, "metadata": {"properties": {"owner": "x"}}})


def test_delete_latest_and_the_deleted_flag(raw, subject):
    register(raw, subject, SKU)
    register(raw, subject, record("skus", ID, {"name": "n", "type": "int", "default": 0}))
    assert raw.ok("DELETE", f"/subjects/{subject}/versions/latest") == 2
    assert raw.ok("GET", f"/subjects/{subject}/versions") == [1]
    assert raw.ok("GET", f"/subjects/{subject}/versions", deleted=True) == [1, 2]
    assert raw.ok("GET", f"/subjects/{subject}/versions", deletedOnly=True) == [2]
    assert raw.ok("GET", f"/subjects/{subject}/versions/2", deleted=True)["version"] == 2
    raw.error(404, 40406, "DELETE", f"/subjects/{subject}/versions/2")
    raw.error(404, 40407, "DELETE", f"/subjects/{subject}/versions/1", permanent=True)
    assert raw.ok("DELETE", f"/subjects/{subject}/versions/2", permanent=True) == 2
    raw.error(404, 40405, "DELETE", f"/subjects/{subject}", permanent=True)
    assert raw.ok("DELETE", f"/subjects/{subject}") == [1]
    raw.error(404, 40404, "DELETE", f"/subjects/{subject}")
    assert subject not in raw.ok("GET", "/subjects")
    assert subject in raw.ok("GET", "/subjects", deleted=True)
    # A soft-deleted schema is still served by id, and its subject-version only with deleted=true.
    schema_id = raw.ok("GET", f"/subjects/{subject}/versions/1", deleted=True)["id"]
    assert raw.ok("GET", f"/schemas/ids/{schema_id}")["schema"] == SKU
    assert subject not in raw.ok("GET", f"/schemas/ids/{schema_id}/subjects")
    assert subject in raw.ok("GET", f"/schemas/ids/{schema_id}/subjects", deleted=True)
    assert raw.ok("DELETE", f"/subjects/{subject}", permanent=True) == [1]


V1 = record("t", ID, {"name": "a", "type": "int"}, {"name": "b", "type": "string"})
CHANGES = {
    "add field without default": record("t", ID, {"name": "a", "type": "int"}, {"name": "b", "type": "string"},
                                        {"name": "c", "type": "string"}),
    "add field with default": record("t", ID, {"name": "a", "type": "int"}, {"name": "b", "type": "string"},
                                     {"name": "c", "type": "string", "default": ""}),
    "remove field without default": record("t", ID, {"name": "a", "type": "int"}),
    "widen int to long": record("t", ID, {"name": "a", "type": "long"}, {"name": "b", "type": "string"}),
}
EXPECTED = {  # change -> levels under which it is compatible
    "add field without default": {"NONE", "FORWARD"},
    "add field with default": {"NONE", "BACKWARD", "FORWARD", "FULL"},
    "remove field without default": {"NONE", "BACKWARD"},
    "widen int to long": {"NONE", "BACKWARD"},
}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("level", ["NONE", "BACKWARD", "FORWARD", "FULL"])
def test_compatibility_levels_decide_by_the_avro_checker(raw, subject, change, level):
    register(raw, subject, V1)
    set_level(raw, subject, level)
    answer = compatible(raw, subject, CHANGES[change], "latest")
    assert answer["is_compatible"] is (level in EXPECTED[change])
    assert (answer["messages"] == []) is answer["is_compatible"]
    if not answer["is_compatible"]:
        assert f"{{compatibility: '{level}'}}" in answer["messages"]
        assert "{oldSchemaVersion: 1}" in answer["messages"]
    status = raw.call("POST", f"/subjects/{subject}/versions", {"schema": CHANGES[change]}).status_code
    assert status == (200 if answer["is_compatible"] else 409)


# (level, v1, v2, v3): v3 is compatible with v2 but not with v1 under the level.
TRANSITIVE_CASES = [
    ("BACKWARD", record("t", ID, {"name": "f", "type": "int"}), record("t", ID),
     record("t", ID, {"name": "f", "type": "string", "default": ""})),
    ("FORWARD", record("t", ID, {"name": "f", "type": "int"}),
     record("t", ID, {"name": "f", "type": "int", "default": 0}), record("t", ID)),
    ("FULL", record("t", ID, {"name": "f", "type": "int"}),
     record("t", ID, {"name": "f", "type": "int", "default": 0}), record("t", ID)),
]


@pytest.mark.parametrize(("level", "v1", "v2", "v3"), TRANSITIVE_CASES, ids=[c[0] for c in TRANSITIVE_CASES])
def test_transitive_levels_check_every_version(raw, subject, level, v1, v2, v3):
    set_level(raw, subject, level)
    register(raw, subject, v1)
    register(raw, subject, v2)
    assert compatible(raw, subject, v3) == {"is_compatible": True, "messages": []}
    set_level(raw, subject, f"{level}_TRANSITIVE")
    answer = compatible(raw, subject, v3)
    assert not answer["is_compatible"]
    assert "{oldSchemaVersion: 1}" in answer["messages"]
    assert compatible(raw, subject, v3, "2")["is_compatible"]
    assert not compatible(raw, subject, v3, "1")["is_compatible"]
    message = raw.error(409, 409, "POST", f"/subjects/{subject}/versions", {"schema": v3})
    assert f'incompatible with an earlier schema for subject "{subject}"' in message


def test_compatibility_endpoint_codes_and_terse_answer(raw, subject):
    assert raw.ok("POST", f"/compatibility/subjects/{subject}/versions", {"schema": SKU}) == {"is_compatible": True}
    raw.error(404, 40401, "POST", f"/compatibility/subjects/{subject}/versions/latest", {"schema": SKU})
    register(raw, subject, SKU)
    raw.error(404, 40402, "POST", f"/compatibility/subjects/{subject}/versions/5", {"schema": SKU})
    raw.error(422, 42202, "POST", f"/compatibility/subjects/{subject}/versions/x", {"schema": SKU})
    raw.error(422, 42201, "POST", f"/compatibility/subjects/{subject}/versions/latest", {"schema": "[1"})
    answer = raw.ok("POST", f"/compatibility/subjects/{subject}/versions/latest",
                    {"schema": record("skus", {"name": "id", "type": "string"})})
    assert answer == {"is_compatible": False}


# The migration guide's new column: logicalType written beside "type", and no default.
GUIDE_CREATED_AT = {"name": "created_at", "type": "long", "logicalType": "timestamp-millis"}


def test_full_transitive_refuses_the_guides_field_without_default_with_messages(raw, subject):
    set_level(raw, subject, "FULL_TRANSITIVE")
    register(raw, subject, SKU)
    guide = record("skus", ID, GUIDE_CREATED_AT)
    answer = compatible(raw, subject, guide)
    assert not answer["is_compatible"]
    first = answer["messages"][0]
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in first
    assert "created_at" in first and "/fields/1" in first
    assert "The new schema cannot read data written with version 1" in first
    assert "{compatibility: 'FULL_TRANSITIVE'}" in answer["messages"]
    message = raw.error(409, 409, "POST", f"/subjects/{subject}/versions", {"schema": guide})
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in message and "created_at" in message
    nullable = record("skus", ID, {"name": "created_at", "default": None,
                                   "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]})
    assert compatible(raw, subject, nullable) == {"is_compatible": True, "messages": []}
    register(raw, subject, nullable)
    assert raw.ok("GET", f"/subjects/{subject}/versions") == [1, 2]


def field_type(raw, subject: str, version: int, name: str) -> avro.schema.Schema:  # noqa: ANN001
    text = raw.ok("GET", f"/subjects/{subject}/versions/{version}")["schema"]
    return next(f for f in avro.schema.parse(text).fields if f.name == name).type


def test_logical_type_beside_type_is_lost_and_inside_the_type_is_kept(raw, subject):
    set_level(raw, subject, "FULL_TRANSITIVE")
    register(raw, subject, SKU)
    beside = register(raw, subject, record("skus", ID, {**GUIDE_CREATED_AT, "default": 0}))
    # Beside "type", logicalType is a field attribute Avro ignores: the column is a plain long.
    assert field_type(raw, subject, 2, "created_at").props.get("logicalType") is None
    inside = register(raw, subject, record("skus", ID, {
        "name": "created_at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": 0}))
    # Inside the type object it is a timestamp; a different schema (new id, new version), and
    # compatible, because Avro's compatibility rules compare the underlying long.
    assert inside != beside
    assert field_type(raw, subject, 3, "created_at").props.get("logicalType") == "timestamp-millis"
    assert raw.ok("GET", f"/subjects/{subject}/versions") == [1, 2, 3]


def test_subject_config_default_to_global_normalize_and_delete(raw, subject, namespace):
    raw.error(404, 40408, "GET", f"/config/{subject}")
    default = raw.ok("GET", f"/config/{subject}", defaultToGlobal=True)
    assert default == raw.ok("GET", "/config")
    set_level(raw, subject, "FULL")
    assert raw.ok("GET", f"/config/{subject}") == {"compatibilityLevel": "FULL"}
    raw.error(422, 42203, "PUT", f"/config/{subject}", {"compatibility": "SIDEWAYS"})
    assert raw.ok("PUT", f"/config/{subject}", {"normalize": True}) == {"normalize": True}
    assert raw.ok("GET", f"/config/{subject}") == {"compatibilityLevel": "FULL", "normalize": True}
    # With normalize configured, the registered text is the canonical form.
    sku = record("skus", ID, namespace=namespace)
    schema_id = register(raw, subject, json.dumps(json.loads(sku), indent=2))
    stored = raw.ok("GET", f"/schemas/ids/{schema_id}")["schema"]
    assert "\n" not in stored and json.loads(stored) == json.loads(sku)
    assert raw.ok("DELETE", f"/config/{subject}") == "FULL"
    raw.error(404, 40401, "DELETE", f"/config/{subject}")
    raw.error(404, 40408, "GET", f"/config/{subject}")


def test_normalize_parameter_stores_the_canonical_form(raw, subject, namespace):
    text = json.dumps({"type": "record", "name": "n", "namespace": namespace,
                       "fields": [{"name": "x", "type": {"type": "int"}}]}, indent=2)
    schema_id = register(raw, subject, text, normalize=True)
    assert raw.ok("GET", f"/schemas/ids/{schema_id}")["schema"] == (
        f'{{"fields":[{{"name":"x","type":"int"}}],"name":"n","namespace":"{namespace}","type":"record"}}'
    )


def test_subject_modes(raw, subject):
    raw.error(404, 40409, "GET", f"/mode/{subject}")
    assert raw.ok("GET", f"/mode/{subject}", defaultToGlobal=True) == {"mode": "READWRITE"}
    raw.error(422, 42204, "PUT", f"/mode/{subject}", {"mode": "SOMETIMES"})
    for mode in ("READONLY", "READONLY_OVERRIDE"):
        assert raw.ok("PUT", f"/mode/{subject}", {"mode": mode}) == {"mode": mode}
        assert "read-only" in raw.error(422, 42205, "POST", f"/subjects/{subject}/versions", {"schema": SKU})
        raw.error(422, 42205, "DELETE", f"/subjects/{subject}/versions/1")
    assert raw.ok("DELETE", f"/mode/{subject}") == {"mode": "READONLY_OVERRIDE"}
    raw.error(404, 40401, "DELETE", f"/mode/{subject}")
    register(raw, subject, SKU)


def test_import_mode_keeps_given_ids_and_versions(raw, subject):
    raw.error(422, 42205, "POST", f"/subjects/{subject}/versions", {"schema": SKU, "id": 4242, "version": 3})
    assert raw.ok("PUT", f"/mode/{subject}", {"mode": "IMPORT"}) == {"mode": "IMPORT"}
    assert raw.ok("POST", f"/subjects/{subject}/versions", {"schema": SKU, "id": 4242, "version": 3}) == {"id": 4242}
    assert raw.ok("GET", f"/subjects/{subject}/versions") == [3]
    # Importing skips compatibility checks.
    incompatible = record("skus", {"name": "id", "type": "string"})
    raw.ok("POST", f"/subjects/{subject}/versions", {"schema": incompatible, "id": 4243, "version": 4})
    raw.error(422, 42205, "POST", f"/subjects/{subject}/versions",
              {"schema": record("other", ID), "id": 4242, "version": 5})
    raw.ok("PUT", f"/mode/{subject}", {"mode": "READWRITE"})
    raw.error(422, 42205, "PUT", f"/mode/{subject}", {"mode": "IMPORT"})
    assert raw.ok("PUT", f"/mode/{subject}", {"mode": "IMPORT"}, force=True) == {"mode": "IMPORT"}


def test_references_answer_referenced_by_and_block_deletes(raw, subject):
    address = json.dumps({"type": "record", "name": "Address", "namespace": "sandbox.test",
                          "fields": [{"name": "city", "type": "string"}]})
    register(raw, f"{subject}-address", address)
    ref = {"name": "sandbox.test.Address", "subject": f"{subject}-address", "version": 1}
    customer = record("Customer", ID, {"name": "address", "type": "sandbox.test.Address"})
    customer_id = raw.ok("POST", f"/subjects/{subject}/versions", {"schema": customer, "references": [ref]})["id"]
    assert raw.ok("GET", f"/subjects/{subject}-address/versions/1/referencedby") == [customer_id]
    assert raw.ok("GET", f"/schemas/ids/{customer_id}") == {"schema": customer, "references": [ref]}
    assert raw.ok("GET", f"/subjects/{subject}/versions/1")["references"] == [ref]
    raw.error(422, 42206, "DELETE", f"/subjects/{subject}-address/versions/1")
    raw.ok("DELETE", f"/subjects/{subject}")
    assert raw.ok("GET", f"/subjects/{subject}-address/versions/1/referencedby") == []
    assert raw.ok("DELETE", f"/subjects/{subject}-address/versions/1") == 1
