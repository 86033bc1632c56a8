"""Fixtures of the sandbox tests: the statements API client, and for the Schema Registry tests unique
subjects, the real client and raw HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from confluent_kafka.schema_registry import SchemaRegistryClient

from tests.support.flink_http import Flink
from tests.support.sandbox_fixtures import RunningSandbox, assert_contract_kept, start_sandbox

SR_MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"


def record(name: str, *fields: dict, namespace: str = "sandbox.test") -> str:
    """An Avro record schema text with these fields."""
    return json.dumps({"type": "record", "name": name, "namespace": namespace, "fields": list(fields)})


def sr_client(sandbox) -> SchemaRegistryClient:  # noqa: ANN001 - RunningSandbox
    """confluent-kafka's client, unchanged, pointed at the sandbox as at Confluent Cloud."""
    key, secret = sandbox.auth
    return SchemaRegistryClient({"url": sandbox.url, "basic.auth.user.info": f"{key}:{secret}"})


class RawSchemaRegistry:
    """Raw HTTP against the sandbox's Schema Registry; every answer must carry the SR media type."""

    def __init__(self, sandbox) -> None:  # noqa: ANN001 - RunningSandbox
        self.url = sandbox.url
        self.session = requests.Session()
        self.session.auth = sandbox.auth

    def call(self, method: str, path: str, body: dict | None = None, **params: object) -> requests.Response:
        response = self.session.request(
            method,
            self.url + path,
            data=None if body is None else json.dumps(body),
            headers={"Content-Type": SR_MEDIA_TYPE} if body is not None else {},
            params={k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()},
            timeout=10,
        )
        assert response.headers["content-type"].startswith(SR_MEDIA_TYPE), response.headers
        return response

    def ok(self, method: str, path: str, body: dict | None = None, **params: object) -> object:
        response = self.call(method, path, body, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def error(self, status: int, code: int, method: str, path: str, body: dict | None = None,
              **params: object) -> str:
        """Call, expect Confluent's error body with this status and code, return its message."""
        response = self.call(method, path, body, **params)
        assert (response.status_code, response.json().get("error_code")) == (status, code), response.text
        return response.json()["message"]


@pytest.fixture
def subject(request: pytest.FixtureRequest) -> str:
    """A subject name unique to this test (the session sandbox is shared)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-") + "-value"


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> str:
    """An Avro namespace unique to this test, for schemas whose global id the test follows."""
    return "t." + re.sub(r"\W+", "_", request.node.name).strip("_")


@pytest.fixture
def client(sandbox) -> Iterator[SchemaRegistryClient]:  # noqa: ANN001
    with sr_client(sandbox) as sr:
        yield sr


@pytest.fixture
def raw(sandbox) -> RawSchemaRegistry:  # noqa: ANN001
    return RawSchemaRegistry(sandbox)


@pytest.fixture(scope="module")
def private_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A sandbox of the test module's own; its exchanges must keep the contract."""
    sandbox = start_sandbox(Path(tmp_path_factory.mktemp("private")))
    yield sandbox
    sandbox.process.stop()
    assert_contract_kept(sandbox)


@pytest.fixture
def flink(request: pytest.FixtureRequest) -> Flink:
    """The statements API of the session sandbox, or of a private one in modules marked ``private_sandbox``."""
    private = request.node.get_closest_marker("private_sandbox") is not None
    return Flink(request.getfixturevalue("private_sandbox" if private else "sandbox"))
