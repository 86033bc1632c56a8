"""Schema Registry over confluent-kafka's ``SchemaRegistryClient``.

Connection ``schema_registry_default``: host = Schema Registry URL, login/password = SR API
key/secret. The client does the work; three reads go through the shared HTTP base because the
client cannot express them: the verbose compatibility check (``test_compatibility`` returns only
the boolean and drops the registry's messages), subject config and mode with ``defaultToGlobal``
or without it (the client cannot tell "set on the subject" from "inherited"), and removing a
subject's level (``delete_config`` parses the answer as an object; the API answers a string).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import quote

from airflow.sdk import BaseHook
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from confluent_migration.errors import ConfluentApiError, SubjectReadOnlyError
from confluent_migration.hooks import SCHEMA_REGISTRY_CONN_ID
from confluent_migration.hooks.base import DEFAULT_TIMEOUT_SECONDS, ConfluentHttpHook, RetryPolicy

T = TypeVar("T")
NOT_FOUND_CODES = {40401, 40402, 40403, 40404, 40406, 40408, 40409}
ALREADY_SOFT_DELETED = 40406
SR_JSON = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


@dataclass(frozen=True)
class SubjectVersion:
    """One registered version of a subject."""

    subject: str
    version: int
    schema_id: int
    schema: str
    schema_type: str = "AVRO"


def _subject_path(subject: str) -> str:
    return quote(subject, safe="")


class SchemaRegistryHook(BaseHook):
    """Subjects, versions, compatibility and mode of a Confluent Schema Registry.

    :param schema_registry_conn_id: the Airflow connection (``schema_registry_default``).
    :param timeout: seconds for each HTTP call.
    :param retry: retry policy for 429/5xx (the client's own ``max.retries`` follows its attempts).
    """

    conn_name_attr = "schema_registry_conn_id"
    default_conn_name = SCHEMA_REGISTRY_CONN_ID
    conn_type = "confluent_schema_registry"
    hook_name = "Confluent Schema Registry"

    def __init__(self, schema_registry_conn_id: str = default_conn_name, *, timeout: float = DEFAULT_TIMEOUT_SECONDS,
                 retry: RetryPolicy | None = None) -> None:
        super().__init__()
        self.schema_registry_conn_id = schema_registry_conn_id
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.http = ConfluentHttpHook(schema_registry_conn_id, timeout=timeout, retry=self.retry)

    @cached_property
    def client(self) -> SchemaRegistryClient:
        conn = self.get_connection(self.schema_registry_conn_id)
        url = conn.host if "://" in (conn.host or "") else f"https://{conn.host}"
        if conn.port:
            url = f"{url}:{conn.port}"
        config: dict[str, Any] = {
            "url": url,
            "timeout": self.timeout,
            "max.retries": self.retry.max_attempts - 1,
            "retries.wait.ms": int(self.retry.backoff_seconds * 1000),
            "retries.max.wait.ms": int(self.retry.max_backoff_seconds * 1000),
        }
        if conn.login:
            config["basic.auth.user.info"] = f"{conn.login}:{conn.password}"
        return SchemaRegistryClient(config)

    def prepare(self) -> None:
        """The client and the HTTP session made now, before several threads call at once."""
        self.client  # noqa: B018 - made once
        self.http.prepare()

    def _error(self, what: str, exc: SchemaRegistryError) -> Exception:
        """A registry error as an error naming the subject and what to do (never the key)."""
        if exc.error_code == 42205:
            return SubjectReadOnlyError(
                f"{what}: the registry refused the change (42205 operation not permitted: {exc.error_message}). "
                "The subject or the registry is in READONLY mode: set it to READWRITE (PUT /mode) if the "
                "change is intended, or leave it to whoever froze it")
        return ConfluentApiError(what, exc.http_status_code, f"{exc.error_message} (error code {exc.error_code})",
                                 self.http.hint(exc.http_status_code))

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except SchemaRegistryError as exc:
            raise self._error(what, exc) from None

    def subjects(self, prefix: str | None = None) -> list[str]:
        found = self._call("Schema Registry subjects", lambda: self.client.get_subjects())
        return [s for s in found if prefix is None or s.startswith(prefix)]

    def versions(self, subject: str) -> list[int]:
        """The subject's live (not soft-deleted) versions, oldest first; empty when it has none."""
        try:
            return sorted(self.client.get_versions(subject))
        except SchemaRegistryError as exc:
            if exc.error_code in NOT_FOUND_CODES:
                return []
            raise self._error(f"subject '{subject}'", exc) from None

    def version(self, subject: str, version: int | str = "latest") -> SubjectVersion:
        registered = self._call(f"subject '{subject}' version {version}",
                                lambda: self.client.get_version(subject, version))
        return SubjectVersion(subject, registered.version, registered.schema_id, registered.schema.schema_str,
                              registered.schema.schema_type or "AVRO")

    def all_versions(self, subject: str) -> list[SubjectVersion]:
        return [self.version(subject, v) for v in self.versions(subject)]

    def subject_compatibility(self, subject: str) -> str | None:
        """The level set on the subject itself, or None when it inherits the global level."""
        response = self.http.request("GET", f"/config/{_subject_path(subject)}", what=f"compatibility of subject '{subject}'",
                                     expect=(404,))
        return None if response.status_code == 404 else response.json().get("compatibilityLevel")

    def compatibility(self, subject: str) -> str:
        """The level in force for the subject (its own, else the global one)."""
        response = self.http.request("GET", f"/config/{_subject_path(subject)}", params={"defaultToGlobal": "true"},
                                     what=f"compatibility of subject '{subject}'")
        return response.json()["compatibilityLevel"]

    def mode(self, subject: str) -> str:
        """The mode in force for the subject (READWRITE, READONLY, IMPORT, ...)."""
        response = self.http.request("GET", f"/mode/{_subject_path(subject)}", params={"defaultToGlobal": "true"},
                                     what=f"mode of subject '{subject}'", expect=(404,))
        if response.status_code == 404:
            return self._call("Schema Registry global mode", self.client.get_global_mode)
        return response.json()["mode"]

    def set_compatibility(self, subject: str, level: str | None) -> None:
        """Set the subject's level, or (``None``) remove it so the global level applies again."""
        what = f"compatibility of subject '{subject}'"
        if level is None:  # the client's delete_config expects a dict; the API answers a bare string
            self.http.request("DELETE", f"/config/{_subject_path(subject)}", what=what, expect=(404,))
        else:
            self._call(what, lambda: self.client.set_compatibility(subject, level.upper()))

    def lookup(self, subject: str, schema: str) -> SubjectVersion | None:
        """The version of ``subject`` holding exactly this schema, or None."""
        try:
            found = self.client.lookup_schema(subject, Schema(schema, "AVRO"))
        except SchemaRegistryError as exc:
            if exc.error_code in NOT_FOUND_CODES:
                return None
            raise self._error(f"subject '{subject}'", exc) from None
        return SubjectVersion(subject, found.version, found.schema_id, schema)

    def register(self, subject: str, schema: str) -> tuple[SubjectVersion, bool]:
        """Register ``schema`` under ``subject`` unless it is there already; return it and whether it is new."""
        existing = self.lookup(subject, schema)
        if existing is not None:
            return existing, False
        self._call(f"registering a schema under subject '{subject}'",
                   lambda: self.client.register_schema(subject, Schema(schema, "AVRO")))
        found = self.lookup(subject, schema)
        if found is None:
            raise ConfluentApiError(f"subject '{subject}'", None, "the schema just registered cannot be found",
                                    "check the registry's mode and retry")
        return found, True

    def check_compatibility(self, subject: str, schema: str, *, all_versions: bool) -> tuple[bool, list[str]]:
        """The registry's own verdict (``verbose=true``) against the latest or all versions."""
        path = f"/compatibility/subjects/{_subject_path(subject)}/versions" + ("" if all_versions else "/latest")
        response = self.http.request("POST", path, params={"verbose": "true"}, headers=SR_JSON,
                                     json={"schema": schema, "schemaType": "AVRO"},
                                     what=f"compatibility check of subject '{subject}'")
        body = response.json()
        return bool(body["is_compatible"]), list(body.get("messages") or [])

    def soft_delete_version(self, subject: str, version: int) -> bool:
        """Soft-delete a version; False when the registry had soft-deleted it already (40406).

        That answer counts as done: it is what a retried delete gets after the first one acted and
        its answer was lost (the client retries lost connections and 5xx itself), or a re-run undo.
        """
        try:
            self.client.delete_version(subject, version)
        except SchemaRegistryError as exc:
            if exc.error_code != ALREADY_SOFT_DELETED:
                raise self._error(f"subject '{subject}' version {version}", exc) from None
            self.log.info("Version %s of subject '%s' was soft-deleted already", version, subject)
            return False
        return True
