"""Offline Avro compatibility: the ``avro`` package's checker, applied as Schema Registry levels mean.

BACKWARD: the new schema reads data written with the old one; FORWARD: the old reads the new;
FULL: both. ``_TRANSITIVE`` levels check every existing version, the others only the latest.
NONE checks nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

LEVELS = ("NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE")


def _problems(reader: avro.schema.Schema, writer: avro.schema.Schema) -> list[str]:
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    return sorted(f"{m} at {loc}" for m, loc in zip(sorted(result.messages), sorted(result.locations))) or ["incompatible"]


def incompatibilities(candidate: str, existing: Sequence[tuple[int, str]], level: str) -> list[str]:
    """Messages for each existing ``(version, schema)`` the candidate breaks under ``level``.

    ``existing`` is ordered oldest first; an empty list means compatible.
    """
    level = level.upper()
    if level not in LEVELS:
        raise ValueError(f"unknown compatibility level {level!r}; one of {', '.join(LEVELS)}")
    if level == "NONE" or not existing:
        return []
    new = avro.schema.parse(candidate)
    against = existing if level.endswith("_TRANSITIVE") else existing[-1:]
    kind = level.removesuffix("_TRANSITIVE")
    messages: list[str] = []
    for version, text in against:
        old = avro.schema.parse(text)
        if kind in ("BACKWARD", "FULL"):
            messages += [f"version {version}: new schema cannot read old data: {p}" for p in _problems(new, old)]
        if kind in ("FORWARD", "FULL"):
            messages += [f"version {version}: old schema cannot read new data: {p}" for p in _problems(old, new)]
    return messages
