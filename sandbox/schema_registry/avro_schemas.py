"""Parsing Avro schema text the way Schema Registry does: with the ``avro`` package, resolving
named types from referenced schemas, and a canonical form to recognise identical schemas.

The canonical form is the parsed schema written back as compact JSON with sorted keys, so two
texts that differ only in whitespace, key order or ``{"type": "long"}`` versus ``"long"`` are the
same schema, while anything that changes meaning (a ``logicalType``, a default, a doc) is not.
This is what Confluent compares when it decides that a schema is already registered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import avro.errors
import avro.schema

from sandbox.schema_registry import sr_errors


@dataclass(frozen=True)
class ParsedSchema:
    """A schema text, the ``avro`` object it parses to, and its canonical form."""

    text: str
    avro: avro.schema.Schema
    canonical: str


def canonical_form(schema: avro.schema.Schema) -> str:
    return json.dumps(schema.to_json(), sort_keys=True, separators=(",", ":"))


def parse(text: str, referenced_texts: Iterable[str] = ()) -> ParsedSchema:
    """Parse ``text``; ``referenced_texts`` are the referenced schemas, dependencies first.

    Raises 42201 (invalid schema) with the parser's own explanation.
    """
    names = avro.schema.Names(validate_names=True)
    try:
        for referenced in referenced_texts:
            avro.schema.make_avsc_object(json.loads(referenced), names)
        parsed = avro.schema.make_avsc_object(json.loads(text), names)
    except (ValueError, TypeError, avro.errors.AvroException) as exc:
        raise sr_errors.invalid_schema(f"Invalid schema {text[:200]}: {exc}") from exc
    return ParsedSchema(text=text, avro=parsed, canonical=canonical_form(parsed))
