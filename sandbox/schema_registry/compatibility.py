"""Compatibility levels and the check behind them, decided by ``avro.compatibility``.

BACKWARD: the new schema (reader) reads data written with the previous one (writer).
FORWARD: the previous schema reads data written with the new one. FULL: both. The ``_TRANSITIVE``
forms check against every live version instead of only the latest. Messages follow the shape of
Confluent's verbose answers: one ``{errorType:..., description:..., additionalInfo:...}`` per
failing direction, then ``{oldSchemaVersion: n}``, ``{oldSchema: '...'}`` and
``{compatibility: '...'}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
)

from sandbox.schema_registry import sr_errors
from sandbox.schema_registry.avro_schemas import ParsedSchema

LEVELS = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)
DEFAULT_LEVEL = "BACKWARD"  # Confluent Cloud's default global compatibility
WHAT_IT_MEANS = {
    SchemaIncompatibilityType.reader_field_missing_default_value:
        "a reader field is missing from the writer and has no default",
    SchemaIncompatibilityType.type_mismatch: "a type differs",
    SchemaIncompatibilityType.missing_union_branch: "the reader's union lacks a type the writer may write",
    SchemaIncompatibilityType.missing_enum_symbols: "the reader's enum lacks symbols the writer may write",
    SchemaIncompatibilityType.name_mismatch: "the names of a named type differ",
    SchemaIncompatibilityType.fixed_size_mismatch: "the sizes of a fixed type differ",
}


@dataclass(frozen=True)
class PreviousVersion:
    version: int
    schema: ParsedSchema


def valid_level(level: object) -> str:
    """The level in upper case; 42203 when it is not one of :data:`LEVELS`."""
    if not isinstance(level, str) or level.upper() not in LEVELS:
        raise sr_errors.invalid_compatibility_level(level)
    return level.upper()


def _direction_failure(reader: ParsedSchema, writer: ParsedSchema, description: str) -> str | None:
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader.avro, writer.avro)
    if result.compatibility is not SchemaCompatibilityType.incompatible:
        return None
    kinds = sorted(set(result.incompatibilities), key=lambda kind: kind.name)
    meaning = "; ".join(WHAT_IT_MEANS[kind] for kind in kinds)
    details = ", ".join(sorted(result.messages))
    locations = ", ".join(sorted(result.locations))
    return (
        f"{{errorType:'{', '.join(kind.name.upper() for kind in kinds)}', "
        f"description:'{description}: {meaning} ({details} at {locations})', additionalInfo:'{details}'}}"
    )


def _against(new: ParsedSchema, old: PreviousVersion, level: str) -> list[str]:
    failures = []
    if level.startswith(("BACKWARD", "FULL")):
        failures.append(_direction_failure(
            new, old.schema, f"The new schema cannot read data written with version {old.version}"
        ))
    if level.startswith(("FORWARD", "FULL")):
        failures.append(_direction_failure(
            old.schema, new, f"Version {old.version} cannot read data written with the new schema"
        ))
    failures = [f for f in failures if f]
    if not failures:
        return []
    return [
        *failures,
        f"{{oldSchemaVersion: {old.version}}}",
        f"{{oldSchema: '{old.schema.text}'}}",
        f"{{compatibility: '{level}'}}",
    ]


def incompatibilities(new: ParsedSchema, previous: Sequence[PreviousVersion], level: str) -> list[str]:
    """Why ``new`` breaks ``level`` against ``previous`` (oldest first); empty when compatible.

    Non-transitive levels look at the last of ``previous`` only.
    """
    if level == "NONE" or not previous:
        return []
    checked = previous if level.endswith("_TRANSITIVE") else previous[-1:]
    return [message for old in reversed(checked) for message in _against(new, old, level)]
