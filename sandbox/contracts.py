"""Check every exchange the sandbox serves against Confluent's published OpenAPI specs.

Enabled with ``--contracts-dir`` (the tests point it at ``../shared/contracts``). Both sides are
checked: the request a client sent (so the project's hooks and the real clients are held to the
contract) and the response the sandbox gave (so the sandbox is). Violations are appended to
``<data-dir>/contract-violations.jsonl``; the test fixtures fail on any.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml
from jsonschema_path import SchemaPath
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

SPECS = {
    "flink": "confluent-flink-sql-v1.openapi.yaml",
    "metrics": "confluent-metrics-v2.openapi.yaml",
    "schema_registry": "confluent-schema-registry-v1.openapi.yaml",
}
HOST_URL = "http://sandbox"
JSON_MEDIA_TYPES = (
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json-patch+json",
)


@dataclass(frozen=True)
class SpecDefect:
    """A place where the published spec contradicts itself or Confluent's documented behaviour, so
    that a correct exchange fails validation. Waived only where all conditions match."""

    methods: tuple[str, ...]
    path_pattern: str
    side: str
    message: str
    why: str
    status: int | None = None

    def waives(self, method: str, path: str, status: int, violation: str) -> bool:
        return (
            method.upper() in self.methods
            and re.fullmatch(self.path_pattern, path) is not None
            and violation.startswith(self.side)
            and self.message in violation
            and (self.status is None or self.status == status)
        )


_STATEMENTS = r"/sql/v1/organizations/[^/]+/environments/[^/]+/statements"
_STATEMENT = _STATEMENTS + r"/[^/]+"
KNOWN_SPEC_DEFECTS = (
    SpecDefect(("PUT", "POST"), f"{_STATEMENTS}(/[^/]+)?", "request", "Tried to write read-only property",
               "a PUT must carry metadata.resource_version (Confluent's stop/resume recipe) and a create may "
               "carry metadata.labels, but the spec marks metadata read-only (and requires its 'self')"),
    SpecDefect(("PUT",), _STATEMENT, "response", "ResponseNotFound",
               "a stale metadata.resource_version answers 409, which the PUT operation does not list",
               status=409),
    SpecDefect(("POST",), r"/v2/metrics/[^/]+/query", "response", "is valid under each of",
               "the query response is a oneOf of the flat and grouped shapes with no discriminator: "
               "an empty data list matches both"),
)


def api_of(path: str) -> str:
    if path.startswith("/sql/"):
        return "flink"
    if path.startswith(("/v1/metrics/", "/v2/metrics/")):
        return "metrics"
    return "schema_registry"


def _normalised(spec: dict) -> dict:
    """The spec with our host as its server and ``; qs=`` negotiation weights dropped from media
    types (they rank alternatives for content negotiation; they are not part of the type)."""
    spec = {**spec, "servers": [{"url": HOST_URL}]}
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                content = response.get("content") if isinstance(response, dict) else None
                if content:
                    response["content"] = {k.split(";")[0].strip(): v for k, v in content.items()}
    return spec


class ContractValidator:
    """Validates request/response pairs; loads each spec on first use."""

    def __init__(self, contracts_dir: Path, violations_path: Path) -> None:
        self.contracts_dir = contracts_dir
        self.violations_path = violations_path
        self._lock = threading.Lock()
        self._apis: dict[str, OpenAPI] = {}

    def preload(self) -> None:
        """Parse every spec now, so that no request pays for it (the Flink spec takes seconds)."""
        for name in SPECS:
            self._api(name)

    def _api(self, name: str) -> OpenAPI:
        with self._lock:
            if name not in self._apis:
                with open(self.contracts_dir / SPECS[name]) as f:
                    spec = _normalised(yaml.safe_load(f))
                config = Config(extra_media_type_deserializers=dict.fromkeys(JSON_MEDIA_TYPES, json.loads))
                self._apis[name] = OpenAPI(SchemaPath.from_dict(spec), config=config)
            return self._apis[name]

    @cached_property
    def _write_lock(self) -> threading.Lock:
        return threading.Lock()

    def check(
        self,
        *,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        status: int,
        response_body: bytes,
        response_content_type: str,
    ) -> list[str]:
        """Validate one exchange; record and return the violations (empty when it conforms)."""
        name = api_of(path)
        request = MockRequest(
            HOST_URL,
            method.lower(),
            path,
            args=query,
            headers=headers,
            data=body or None,
            content_type=(headers.get("content-type") or "application/json").split(";")[0],
        )
        response = MockResponse(
            response_body,
            status_code=status,
            content_type=response_content_type.split(";")[0] or "application/json",
        )
        violations = []
        api = self._api(name)
        for side, run in (
            ("request", lambda: api.validate_request(request)),
            ("response", lambda: api.validate_response(request, response)),
        ):
            try:
                run()
            except Exception as exc:  # noqa: BLE001 - every validation failure is a finding
                cause = exc.__cause__ or exc
                detail = getattr(cause, "schema_errors", None)
                text = f"{type(cause).__name__}: {cause}"
                if detail:
                    text += " | " + "; ".join(str(e.message) for e in detail)
                violations.append(f"{side}: {text}")
        violations = [
            v for v in violations
            if not any(d.waives(method, path, status, v) for d in KNOWN_SPEC_DEFECTS)
        ]
        if violations:
            self._record(method, path, status, violations, body, response_body)
        return violations

    def _record(self, method: str, path: str, status: int, violations: list[str],
                body: bytes, response_body: bytes) -> None:
        entry = {
            "method": method,
            "path": path,
            "status": status,
            "violations": violations,
            "request_body": body[:2000].decode(errors="replace"),
            "response_body": response_body[:2000].decode(errors="replace"),
        }
        with self._write_lock, open(self.violations_path, "a") as f:
            f.write(json.dumps(entry) + "\n")


def read_violations(data_dir: Path) -> list[dict]:
    path = data_dir / "contract-violations.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
