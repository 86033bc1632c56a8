"""Schema Registry state survives a restart, and global config/mode (on private sandboxes,
so the shared session sandbox keeps its defaults)."""

from __future__ import annotations

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from tests.sandbox.conftest import RawSchemaRegistry, record, sr_client

ID = {"name": "id", "type": "long"}
V1 = record("skus", ID)
V2 = record("skus", ID, {"name": "name", "type": "string", "default": ""})


def test_subjects_ids_config_and_mode_survive_a_restart(sandbox_factory):
    first = sandbox_factory()
    with sr_client(first) as client:
        v1 = client.register_schema("skus-value", Schema(V1, "AVRO"))
        v2 = client.register_schema("skus-value", Schema(V2, "AVRO"))
        client.register_schema("gone-value", Schema(record("gone", ID), "AVRO"))
        client.delete_subject("gone-value")
        client.set_compatibility("skus-value", "FULL_TRANSITIVE")
        client.update_mode("skus-value", "READONLY")
    first.process.stop()

    second = sandbox_factory(data_dir=first.config.data_dir)
    with sr_client(second) as client:
        assert client.get_subjects() == ["skus-value"]
        assert client.get_subjects(deleted=True) == ["gone-value", "skus-value"]
        assert client.get_versions("skus-value") == [1, 2]
        latest = client.get_latest_version("skus-value")
        assert (latest.version, latest.schema_id, latest.schema.schema_str) == (2, v2, V2)
        assert client.get_schema(v1).schema_str == V1
        assert client.get_compatibility("skus-value") == "FULL_TRANSITIVE"
        assert client.get_mode("skus-value") == "READONLY"
        client.delete_mode("skus-value")
        # Ids keep growing after the restart: a new schema never takes an old id.
        v3 = client.register_schema("other-value", Schema(record("other", ID), "AVRO"))
        assert v3 > max(v1, v2) + 1


def test_global_config_defaults_to_backward_and_can_be_changed_and_reset(sandbox_factory):
    raw = RawSchemaRegistry(sandbox_factory())
    assert raw.ok("GET", "/config") == {"compatibilityLevel": "BACKWARD"}
    assert raw.ok("PUT", "/config", {"compatibility": "FULL_TRANSITIVE"}) == {"compatibility": "FULL_TRANSITIVE"}
    assert raw.ok("GET", "/config/any-value", defaultToGlobal=True) == {"compatibilityLevel": "FULL_TRANSITIVE"}
    raw.ok("POST", "/subjects/any-value/versions", {"schema": V1})
    raw.error(409, 409, "POST", "/subjects/any-value/versions",
              {"schema": record("skus", ID, {"name": "name", "type": "string"})})
    raw.error(422, 42203, "PUT", "/config", {"compatibility": "MOSTLY"})
    assert raw.ok("DELETE", "/config") == "FULL_TRANSITIVE"
    assert raw.ok("GET", "/config") == {"compatibilityLevel": "BACKWARD"}


def test_global_modes(sandbox_factory):
    sandbox = sandbox_factory()
    raw = RawSchemaRegistry(sandbox)
    assert raw.ok("GET", "/mode") == {"mode": "READWRITE"}
    assert raw.ok("PUT", "/mode", {"mode": "IMPORT"}) == {"mode": "IMPORT"}  # empty registry: allowed
    raw.ok("POST", "/subjects/imported-value/versions", {"schema": V1, "id": 7, "version": 1})
    assert raw.ok("GET", "/schemas/ids/7") == {"schema": V1}
    assert raw.ok("PUT", "/mode", {"mode": "READWRITE"}) == {"mode": "READWRITE"}
    raw.error(422, 42205, "PUT", "/mode", {"mode": "IMPORT"})
    raw.error(422, 42204, "PUT", "/mode", {"mode": "WRITEONLY"})
    assert raw.ok("PUT", "/mode", {"mode": "READONLY_OVERRIDE"}) == {"mode": "READONLY_OVERRIDE"}
    raw.ok("PUT", "/mode/imported-value", {"mode": "READWRITE"})
    with sr_client(sandbox) as client, pytest.raises(SchemaRegistryError) as caught:
        client.register_schema("imported-value", Schema(V2, "AVRO"))
    assert caught.value.error_code == 42205
    assert raw.ok("PUT", "/mode", {"mode": "READWRITE"}) == {"mode": "READWRITE"}
    # A new id after an import continues above the imported ones.
    assert raw.ok("POST", "/subjects/imported-value/versions", {"schema": V2})["id"] >= 100001
