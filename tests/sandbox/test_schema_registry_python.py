"""The Python interface other parts of the sandbox call in-process, on a private store.

Also the refusals whose HTTP statuses the published spec does not list for the operation
(42205 and 42206 on ``DELETE /subjects/{s}``), so they cannot be exercised over the
contract-checked HTTP API.
"""

from __future__ import annotations

import pytest

from sandbox.errors import SchemaRegistryError
from sandbox.schema_registry.registry import Reference, RegisteredSchema, SchemaRegistry
from sandbox.store import Store
from tests.sandbox.conftest import record

ID = {"name": "id", "type": "long"}
SKU = record("skus", ID)
WITH_NAME = record("skus", ID, {"name": "name", "type": "string", "default": ""})


@pytest.fixture
def registry(tmp_path) -> SchemaRegistry:
    store = Store(tmp_path)
    yield SchemaRegistry(store)
    store.close()


def codes(call, *args, **kwargs) -> tuple[int, int]:  # noqa: ANN001
    with pytest.raises(SchemaRegistryError) as caught:
        call(*args, **kwargs)
    return caught.value.status, caught.value.error_code


def test_register_latest_versions_subjects(registry):
    assert registry.latest("orders-value") is None
    assert codes(registry.versions, "orders-value") == (404, 40401)
    first = registry.register("orders-value", SKU)
    assert registry.register("orders-value", SKU) == first
    second = registry.register("orders-value", WITH_NAME)
    assert registry.latest("orders-value") == RegisteredSchema("orders-value", 2, second, WITH_NAME)
    assert registry.versions("orders-value") == [1, 2]
    assert registry.register("returns-value", SKU) == first
    assert registry.subjects() == ["orders-value", "returns-value"]


def test_the_latest_version_follows_every_change_of_versions(registry):
    """``latest`` is kept between calls (the Flink catalog asks it for every table it plans): each
    registration and deletion is seen by the next call."""
    first = registry.register("orders-value", SKU)
    assert registry.latest("orders-value").version == 1
    second = registry.register("orders-value", WITH_NAME)
    assert (registry.latest("orders-value").version, registry.latest("orders-value").id) == (2, second)
    assert registry.delete_version("orders-value", 2) == 2
    assert (registry.latest("orders-value").version, registry.latest("orders-value").id) == (1, first)
    registry.delete_subject("orders-value")
    assert registry.latest("orders-value") is None
    assert registry.register("orders-value", WITH_NAME) == second
    assert registry.latest("orders-value").version == 3


def test_register_honours_compatibility_and_mode(registry):
    registry.update_config("orders-value", "FULL_TRANSITIVE")
    registry.register("orders-value", SKU)
    without_default = record("skus", ID, {"name": "name", "type": "string"})
    with pytest.raises(SchemaRegistryError) as caught:
        registry.register("orders-value", without_default)
    assert (caught.value.status, caught.value.error_code) == (409, 409)
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in caught.value.message
    registry.set_mode("READONLY", "orders-value")
    assert codes(registry.register, "orders-value", WITH_NAME) == (422, 42205)
    assert codes(registry.delete_subject, "orders-value") == (422, 42205)
    registry.delete_mode("orders-value")
    assert registry.register("orders-value", WITH_NAME) > 0


def test_global_readonly_override_beats_a_subject_mode(registry):
    registry.register("orders-value", SKU)
    registry.set_mode("READWRITE", "orders-value")
    registry.set_mode("READONLY_OVERRIDE")
    assert codes(registry.register, "orders-value", WITH_NAME) == (422, 42205)
    registry.set_mode("READONLY")
    assert registry.register("orders-value", WITH_NAME) > 0  # the subject's READWRITE wins
    assert codes(registry.register, "other-value", SKU) == (422, 42205)


def test_delete_subject_soft_then_permanent(registry):
    registry.register("orders-value", SKU)
    assert codes(registry.delete_subject, "orders-value", permanent=True) == (404, 40405)
    assert registry.delete_subject("orders-value") == [1]
    assert registry.latest("orders-value") is None
    assert registry.subjects() == []
    assert codes(registry.delete_subject, "orders-value") == (404, 40404)
    assert registry.delete_subject("orders-value", permanent=True) == [1]
    assert codes(registry.delete_subject, "orders-value", permanent=True) == (404, 40401)


def test_a_referenced_subject_cannot_be_deleted(registry):
    address = record("Address", {"name": "city", "type": "string"})
    registry.register("address-value", address)
    customer = record("Customer", ID, {"name": "address", "type": "sandbox.test.Address"})
    customer_id = registry.register(
        "customer-value", customer, references=[Reference("sandbox.test.Address", "address-value", 1)]
    )
    assert registry.referenced_by("address-value", 1) == [customer_id]
    assert codes(registry.delete_subject, "address-value") == (422, 42206)
    registry.delete_subject("customer-value")
    assert registry.delete_subject("address-value") == [1]


def test_normalize_registers_the_canonical_text(registry):
    schema_id = registry.register("orders-value", '{"type": "record", "name": "n", "fields": []}', normalize=True)
    assert registry.schema_by_id(schema_id).schema == '{"fields":[],"name":"n","type":"record"}'


def test_a_malformed_body_answers_400_in_plain_json(tmp_path):
    """In-process app without contract checking: a malformed request breaks the spec by itself."""
    from fastapi.testclient import TestClient

    from sandbox.app import create_app
    from sandbox.config import SandboxConfig
    from sandbox.server import Sandbox

    sandbox = Sandbox(SandboxConfig(data_dir=tmp_path))
    try:
        with TestClient(create_app(sandbox)) as http:
            response = http.post("/subjects/x-value/versions", content="{oops",
                                 auth=(sandbox.config.api_key, sandbox.config.api_secret),
                                 headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
    finally:
        sandbox.stop()
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error_code"] == 400 and "Malformed JSON" in response.json()["message"]
