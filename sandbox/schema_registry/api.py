"""Schema Registry HTTP API: a thin layer over :class:`SchemaRegistry`, shaped by
``confluent-schema-registry-v1.openapi.yaml``. Answers use ``application/vnd.schemaregistry.v1+json``.

Where the published spec and Confluent's server disagree, the spec wins here because every exchange
is checked against it: ``GET .../schema`` answers the schema text as a JSON string, and
``DELETE /config[/{subject}]`` answers the old level as a bare string (confluent-kafka's
``delete_config`` expects an object there and cannot read it).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from sandbox.errors import SR_MEDIA_TYPE
from sandbox.schema_registry import sr_errors
from sandbox.schema_registry.registry import (
    CompatibilityResult,
    RegisteredSchema,
    SchemaRegistry,
    StoredSchema,
)

NOT_MODELLED = ("metadata", "ruleSet", "schemaTagsToAdd", "schemaTagsToRemove")
CONFIG_NOT_MODELLED = (
    "alias", "aliasForDeks", "validateFields", "validateNewSchemas", "validateRules", "compatibilityPolicy",
    "compatibilityGroup", "defaultMetadata", "overrideMetadata", "defaultRuleSet", "overrideRuleSet",
)


class SchemaRegistryJSONResponse(JSONResponse):
    media_type = SR_MEDIA_TYPE


router = APIRouter(default_response_class=SchemaRegistryJSONResponse, tags=["schema-registry"])


def _registry(request: Request) -> SchemaRegistry:
    return request.app.state.sandbox.schema_registry


async def _json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, whatever content type the client declared."""
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise sr_errors.bad_request(f"Malformed JSON in the request body: {exc}") from exc
    if not isinstance(body, dict):
        raise sr_errors.bad_request("The request body must be a JSON object")
    return body


Registry = Annotated[SchemaRegistry, Depends(_registry)]
Body = Annotated[dict, Depends(_json_body)]
Offset = Annotated[int, Query()]
Limit = Annotated[int, Query()]


def _page(items: list, offset: int, limit: int) -> list:
    items = items[max(offset, 0):]
    return items if limit < 0 else items[:limit]


def _schema_fields(schema: RegisteredSchema | StoredSchema) -> dict[str, Any]:
    """``schema`` plus ``schemaType`` and ``references`` when they differ from the defaults."""
    fields: dict[str, Any] = {"schema": schema.schema}
    if schema.schema_type != "AVRO":
        fields["schemaType"] = schema.schema_type
    if schema.references:
        fields["references"] = [r.as_dict() for r in schema.references]
    return fields


def _version_view(schema: RegisteredSchema) -> dict[str, Any]:
    return {"subject": schema.subject, "version": schema.version, "id": schema.id, **_schema_fields(schema)}


def _schema_request(body: dict[str, Any]) -> dict[str, Any]:
    """The schema, type and references of a register/lookup/compatibility request."""
    unmodelled = [name for name in NOT_MODELLED if body.get(name)]
    if unmodelled:
        raise sr_errors.invalid_schema(f"{', '.join(unmodelled)} are not modelled by the sandbox")
    return {
        "schema": body.get("schema"),
        "schema_type": body.get("schemaType") or "AVRO",
        "references": body.get("references") or [],
    }


# ---- subjects and versions -------------------------------------------------------------------


@router.get("/subjects")
def list_subjects(
    registry: Registry,
    subjectPrefix: str = "",  # noqa: N803 - the API's parameter names
    deleted: bool = False,
    deletedOnly: bool = False,  # noqa: N803
    deleted_only: bool = False,  # what confluent-kafka sends
    offset: Offset = 0,
    limit: Limit = -1,
) -> list[str]:
    subjects = registry.subjects(subjectPrefix, deleted=deleted, deleted_only=deletedOnly or deleted_only)
    return _page(subjects, offset, limit)


@router.post("/subjects/{subject}")
def lookup_schema(subject: str, registry: Registry, body: Body, deleted: bool = False) -> dict:
    return _version_view(registry.lookup(subject, **_schema_request(body), deleted=deleted))


@router.delete("/subjects/{subject}")
def delete_subject(subject: str, registry: Registry, permanent: bool = False) -> list[int]:
    return registry.delete_subject(subject, permanent=permanent)


@router.get("/subjects/{subject}/versions")
def list_versions(
    subject: str,
    registry: Registry,
    deleted: bool = False,
    deletedOnly: bool = False,  # noqa: N803
    deleted_only: bool = False,
    offset: Offset = 0,
    limit: Limit = -1,
) -> list[int]:
    return _page(registry.versions(subject, deleted, deletedOnly or deleted_only), offset, limit)


@router.post("/subjects/{subject}/versions")
def register_schema(subject: str, registry: Registry, body: Body, normalize: bool = False) -> dict:
    registered = registry.register_schema(
        subject,
        **_schema_request(body),
        normalize=normalize,
        schema_id=body.get("id") or None,
        version=body.get("version") or None,
    )
    return {"id": registered.id}


@router.get("/subjects/{subject}/versions/{version}")
def get_version(subject: str, version: str, registry: Registry, deleted: bool = False) -> dict:
    return _version_view(registry.get_version(subject, version, deleted=deleted))


@router.delete("/subjects/{subject}/versions/{version}")
def delete_version(subject: str, version: str, registry: Registry, permanent: bool = False) -> int:
    return registry.delete_version(subject, version, permanent=permanent)


@router.get("/subjects/{subject}/versions/{version}/schema")
def get_version_schema(subject: str, version: str, registry: Registry, deleted: bool = False) -> str:
    return registry.get_version(subject, version, deleted=deleted).schema


@router.get("/subjects/{subject}/versions/{version}/referencedby")
def referenced_by(subject: str, version: str, registry: Registry, offset: Offset = 0, limit: Limit = -1) -> list[int]:
    return _page(registry.referenced_by(subject, version), offset, limit)


# ---- schemas by id -------------------------------------------------------------------------


@router.get("/schemas")
def list_schemas(
    registry: Registry,
    subjectPrefix: str = "",  # noqa: N803
    deleted: bool = False,
    latestOnly: bool = False,  # noqa: N803
    offset: Offset = 0,
    limit: Limit = -1,
) -> list[dict]:
    schemas = registry.list_schemas(subjectPrefix, deleted=deleted, latest_only=latestOnly)
    return _page([_version_view(s) for s in schemas], offset, limit)


@router.get("/schemas/types")
def schema_types(registry: Registry) -> list[str]:
    return registry.schema_types()


@router.get("/schemas/ids/{schema_id}")
def get_schema(schema_id: int, registry: Registry) -> dict:
    return _schema_fields(registry.schema_by_id(schema_id))


@router.get("/schemas/ids/{schema_id}/schema")
def get_schema_text(schema_id: int, registry: Registry) -> str:
    return registry.schema_by_id(schema_id).schema


@router.get("/schemas/ids/{schema_id}/subjects")
def subjects_of_schema(
    schema_id: int, registry: Registry, deleted: bool = False, offset: Offset = 0, limit: Limit = -1
) -> list[str]:
    subjects = sorted({subject for subject, _ in registry.versions_of_id(schema_id, deleted)})
    return _page(subjects, offset, limit)


@router.get("/schemas/ids/{schema_id}/versions")
def versions_of_schema(
    schema_id: int, registry: Registry, deleted: bool = False, offset: Offset = 0, limit: Limit = -1
) -> list[dict]:
    pairs = registry.versions_of_id(schema_id, deleted)
    return _page([{"subject": s, "version": v} for s, v in pairs], offset, limit)


# ---- compatibility -------------------------------------------------------------------------


def _compatibility_answer(result: CompatibilityResult, verbose: bool) -> dict:
    answer: dict[str, Any] = {"is_compatible": result.is_compatible}
    if verbose:
        answer["messages"] = result.messages
    return answer


@router.post("/compatibility/subjects/{subject}/versions/{version}")
def check_against_version(
    subject: str, version: str, registry: Registry, body: Body, verbose: bool = False
) -> dict:
    result = registry.check_compatibility(subject, **_schema_request(body), version=version)
    return _compatibility_answer(result, verbose)


@router.post("/compatibility/subjects/{subject}/versions")
def check_against_all(subject: str, registry: Registry, body: Body, verbose: bool = False) -> dict:
    return _compatibility_answer(registry.check_compatibility(subject, **_schema_request(body)), verbose)


# ---- config and mode -------------------------------------------------------------------------


def _config_update(registry: SchemaRegistry, subject: str | None, body: dict[str, Any]) -> dict:
    unmodelled = [name for name in CONFIG_NOT_MODELLED if body.get(name) is not None]
    if unmodelled:
        raise sr_errors.invalid_config(f"Config fields {', '.join(unmodelled)} are not modelled by the sandbox")
    if body.get("compatibility") is None and body.get("normalize") is None:
        raise sr_errors.invalid_compatibility_level(None)
    return registry.update_config(subject, body.get("compatibility"), body.get("normalize"))


@router.get("/config")
def get_global_config(registry: Registry) -> dict:
    return registry.config()


@router.put("/config")
def put_global_config(registry: Registry, body: Body) -> dict:
    return _config_update(registry, None, body)


@router.delete("/config")
def delete_global_config(registry: Registry) -> str:
    return registry.delete_config()


@router.get("/config/{subject}")
def get_subject_config(subject: str, registry: Registry, defaultToGlobal: bool = False) -> dict:  # noqa: N803
    return registry.config(subject, default_to_global=defaultToGlobal)


@router.put("/config/{subject}")
def put_subject_config(subject: str, registry: Registry, body: Body) -> dict:
    return _config_update(registry, subject, body)


@router.delete("/config/{subject}")
def delete_subject_config(subject: str, registry: Registry) -> str:
    return registry.delete_config(subject)


@router.get("/mode")
def get_global_mode(registry: Registry) -> dict:
    return {"mode": registry.mode()}


@router.put("/mode")
def put_global_mode(registry: Registry, body: Body, force: bool = False) -> dict:
    return {"mode": registry.set_mode(body.get("mode"), force=force)}


@router.get("/mode/{subject}")
def get_subject_mode(subject: str, registry: Registry, defaultToGlobal: bool = False) -> dict:  # noqa: N803
    return {"mode": registry.mode(subject, default_to_global=defaultToGlobal)}


@router.put("/mode/{subject}")
def put_subject_mode(subject: str, registry: Registry, body: Body, force: bool = False) -> dict:
    return {"mode": registry.set_mode(body.get("mode"), subject, force=force)}


@router.delete("/mode/{subject}")
def delete_subject_mode(subject: str, registry: Registry) -> dict:
    return {"mode": registry.delete_mode(subject)}


@router.get("/contexts")
def list_contexts() -> list[str]:
    """Only the default context exists in the sandbox."""
    return ["."]
