"""Schema Registry's errors, with Confluent's statuses, error codes and wording."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from sandbox.errors import SchemaRegistryError

VALID_VERSIONS = 'Allowed values are between [1, 2^31-1] and the string "latest"'


class BadRequest(SchemaRegistryError):
    """400, answered as plain ``application/json`` as the spec has it for every operation."""

    def __init__(self, message: str) -> None:
        super().__init__(400, 400, message)

    def response(self) -> JSONResponse:
        return JSONResponse({"error_code": self.error_code, "message": self.message}, status_code=400)


def bad_request(message: str) -> SchemaRegistryError:
    return BadRequest(message)


def subject_not_found(subject: str) -> SchemaRegistryError:
    return SchemaRegistryError(404, 40401, f"Subject '{subject}' not found.")


def version_not_found(subject: str, version: object) -> SchemaRegistryError:
    return SchemaRegistryError(404, 40402, f"Version {version} not found for subject '{subject}'.")


def schema_not_found(detail: str = "Schema not found") -> SchemaRegistryError:
    return SchemaRegistryError(404, 40403, detail)


def subject_soft_deleted(subject: str) -> SchemaRegistryError:
    return SchemaRegistryError(
        404, 40404, f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
    )


def subject_not_soft_deleted(subject: str) -> SchemaRegistryError:
    return SchemaRegistryError(
        404, 40405, f"Subject '{subject}' was not deleted first before being permanently deleted"
    )


def version_soft_deleted(subject: str, version: int) -> SchemaRegistryError:
    return SchemaRegistryError(
        404,
        40406,
        f"Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently",
    )


def version_not_soft_deleted(subject: str, version: int) -> SchemaRegistryError:
    return SchemaRegistryError(
        404,
        40407,
        f"Subject '{subject}' Version {version} was not deleted first before being permanently deleted",
    )


def subject_compatibility_not_configured(subject: str) -> SchemaRegistryError:
    return SchemaRegistryError(
        404, 40408, f"Subject '{subject}' does not have subject-level compatibility configured"
    )


def subject_mode_not_configured(subject: str) -> SchemaRegistryError:
    return SchemaRegistryError(404, 40409, f"Subject '{subject}' does not have subject-level mode configured")


def incompatible(subject: str, messages: list[str]) -> SchemaRegistryError:
    return SchemaRegistryError(
        409,
        409,
        f'Schema being registered is incompatible with an earlier schema for subject "{subject}", '
        f"details: [{', '.join(messages)}]",
    )


def invalid_schema(message: str) -> SchemaRegistryError:
    return SchemaRegistryError(422, 42201, message)


def invalid_version(version: object) -> SchemaRegistryError:
    return SchemaRegistryError(
        422, 42202, f"The specified version '{version}' is not a valid version id. {VALID_VERSIONS}"
    )


def invalid_compatibility_level(level: object) -> SchemaRegistryError:
    return SchemaRegistryError(
        422,
        42203,
        f"Invalid compatibility level {level!r}. Valid values are none, backward, forward, full, "
        "backward_transitive, forward_transitive, and full_transitive",
    )


def invalid_config(message: str) -> SchemaRegistryError:
    return SchemaRegistryError(422, 42203, message)


def invalid_mode(mode: object) -> SchemaRegistryError:
    return SchemaRegistryError(
        422, 42204, f"Invalid mode {mode!r}. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT"
    )


def not_permitted(message: str) -> SchemaRegistryError:
    return SchemaRegistryError(422, 42205, message)


def references_exist(subject: str, version: int, referrers: list[int]) -> SchemaRegistryError:
    return SchemaRegistryError(
        422,
        42206,
        f"One or more references exist to the schema {{subject={subject}, version={version}}}: "
        f"schemas {referrers} refer to it; delete them first",
    )
