"""The Schema Registry's state and rules over DuckDB (tables ``sr_*``), shared by HTTP and Python.

The HTTP API (:mod:`sandbox.schema_registry.api`) is a thin layer over this class; other parts of
the sandbox (the Flink statements creating tables) call it in-process. Every public method raises
:class:`sandbox.errors.SchemaRegistryError` with Confluent's status and error code.

Python interface for the rest of the sandbox::

    registry.register(subject, schema_text, schema_type="AVRO", references=None, normalize=False) -> int
    registry.latest(subject) -> RegisteredSchema | None      # None when no live version
    registry.versions(subject) -> list[int]                  # 40401 when no live version
    registry.delete_subject(subject, permanent=False) -> list[int]
    registry.subjects() -> list[str]

``register`` honours the subject's mode (READONLY refuses with 42205) and compatibility (409 with
the checker's messages), and answers the existing id without a new version when the subject
already has the same schema (same canonical form, type and references).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sandbox.schema_registry import sr_errors
from sandbox.schema_registry.avro_schemas import ParsedSchema, parse
from sandbox.schema_registry.compatibility import (
    DEFAULT_LEVEL,
    PreviousVersion,
    incompatibilities,
    valid_level,
)
from sandbox.store import Store

MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT")
READ_ONLY_MODES = ("READONLY", "READONLY_OVERRIDE")
DEFAULT_MODE = "READWRITE"
SCHEMA_TYPES = ("AVRO",)
FIRST_ID = 100001  # Confluent Cloud's schema ids start here
GLOBAL = ""  # the subject key of global settings
ALL_SUBJECTS_PREFIX = ":*:"  # the spec's default subjectPrefix: every subject of the default context

TABLES = (
    """CREATE TABLE IF NOT EXISTS sr_schemas (
        id INTEGER PRIMARY KEY, schema_type VARCHAR NOT NULL, canonical VARCHAR NOT NULL,
        schema VARCHAR NOT NULL, refs VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sr_versions (
        subject VARCHAR NOT NULL, version INTEGER NOT NULL, schema_id INTEGER NOT NULL,
        deleted BOOLEAN NOT NULL, PRIMARY KEY (subject, version))""",
    """CREATE TABLE IF NOT EXISTS sr_settings (
        subject VARCHAR NOT NULL, name VARCHAR NOT NULL, value VARCHAR NOT NULL,
        PRIMARY KEY (subject, name))""",
)


@dataclass(frozen=True)
class Reference:
    """A reference to a named type defined in another subject's version."""

    name: str
    subject: str
    version: int

    def as_dict(self) -> dict:
        return {"name": self.name, "subject": self.subject, "version": self.version}


@dataclass(frozen=True)
class StoredSchema:
    """A schema by its global id."""

    id: int
    schema: str
    schema_type: str = "AVRO"
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True)
class RegisteredSchema:
    """One version of a subject."""

    subject: str
    version: int
    id: int
    schema: str
    schema_type: str = "AVRO"
    references: tuple[Reference, ...] = ()
    deleted: bool = False


@dataclass(frozen=True)
class CompatibilityResult:
    is_compatible: bool
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Version:
    version: int
    schema_id: int
    deleted: bool


def parse_version(version: str | int) -> int | None:
    """A version number, or None for ``latest`` (also spelled -1); 42202 otherwise."""
    if isinstance(version, str) and version.lower() == "latest":
        return None
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise sr_errors.invalid_version(version) from None
    if number == -1:
        return None
    if not 1 <= number <= 2**31 - 1:
        raise sr_errors.invalid_version(version)
    return number


def _references(refs: Sequence[Reference | dict] | None) -> tuple[Reference, ...]:
    result = []
    for ref in refs or ():
        if isinstance(ref, dict):
            try:
                ref = Reference(str(ref["name"]), str(ref["subject"]), int(ref["version"]))
            except (KeyError, TypeError, ValueError):
                raise sr_errors.invalid_schema(
                    f"Invalid reference {ref}: name, subject and version are required"
                ) from None
        result.append(ref)
    return tuple(result)


def _refs_json(refs: Sequence[Reference]) -> str:
    return json.dumps([r.as_dict() for r in refs])


class SchemaRegistry:
    """Subjects, versions, global schema ids, config and mode, durable in the sandbox's store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        for ddl in TABLES:
            store.execute(ddl)
        # subject -> its latest live version: the Flink catalog asks for each table it plans
        self._latest: dict[str, RegisteredSchema | None] = {}
        self._changes = 0  # transactions that may have changed versions (a lookup begun before one: not kept)
        self._latest_lock = threading.Lock()

    @contextmanager
    def _changing_versions(self) -> Iterator[None]:
        """A transaction that may change versions; the latest versions known are dropped after it."""
        try:
            with self.store.transaction():
                yield
        finally:
            with self._latest_lock:
                self._changes += 1
                self._latest.clear()

    # ---- registering and looking up ------------------------------------------------------

    def register(
        self,
        subject: str,
        schema: str,
        schema_type: str = "AVRO",
        references: Sequence[Reference | dict] | None = None,
        normalize: bool = False,
    ) -> int:
        """Register ``schema`` under ``subject`` and return its global id."""
        return self.register_schema(subject, schema, schema_type, references, normalize).id

    def register_schema(
        self,
        subject: str,
        schema: str,
        schema_type: str = "AVRO",
        references: Sequence[Reference | dict] | None = None,
        normalize: bool = False,
        schema_id: int | None = None,
        version: int | None = None,
    ) -> RegisteredSchema:
        """Register and return the version; ``schema_id``/``version`` only in IMPORT mode."""
        with self._changing_versions():
            mode = self._require_writable(subject)
            if (schema_id is not None or version is not None) and mode != "IMPORT":
                raise sr_errors.not_permitted(
                    f"Subject '{subject}' is not in import mode: a schema id or version can only be "
                    "given when importing (set mode IMPORT first)"
                )
            refs = _references(references)
            parsed = self._parse(schema, schema_type, refs)
            schema_type = schema_type.upper()
            live = self._rows(subject)
            same = self._matching(live, parsed, schema_type, refs)
            if same:
                return self._registered(subject, same[-1])
            if mode != "IMPORT":
                self._check(subject, parsed, live, self.compatibility(subject, default_to_global=True))
            normalize = normalize or self.config(subject, default_to_global=True).get("normalize", False)
            new_id = self._schema_id(parsed, schema_type, refs, normalize, schema_id)
            new_version = self._new_version(subject, version)
            self.store.execute(
                "INSERT INTO sr_versions VALUES (?, ?, ?, false)", [subject, new_version, new_id]
            )
            return self._registered(subject, _Version(new_version, new_id, False))

    def lookup(
        self,
        subject: str,
        schema: str,
        schema_type: str = "AVRO",
        references: Sequence[Reference | dict] | None = None,
        deleted: bool = False,
    ) -> RegisteredSchema:
        """The latest version of ``subject`` holding ``schema``: 40401 no subject, 40403 not under it."""
        refs = _references(references)
        parsed = self._parse(schema, schema_type, refs)
        rows = self._rows(subject, deleted=deleted)
        if not rows:
            raise sr_errors.subject_not_found(subject)
        same = self._matching(rows, parsed, schema_type.upper(), refs)
        if same:
            return self._registered(subject, same[-1])
        raise sr_errors.schema_not_found(f"Schema not found under subject '{subject}'")

    # ---- reading subjects and versions ---------------------------------------------------

    def subjects(self, prefix: str = "", deleted: bool = False, deleted_only: bool = False) -> list[str]:
        """Subject names (sorted) with a live version, or also/only those soft-deleted entirely."""
        prefix = "" if prefix == ALL_SUBJECTS_PREFIX else prefix
        rows = self.store.execute(
            "SELECT subject, bool_or(NOT deleted) FROM sr_versions WHERE starts_with(subject, ?) "
            "GROUP BY subject ORDER BY subject",
            [prefix],
        )
        if deleted_only:
            return [s for s, live in rows if not live]
        return [s for s, live in rows if live or deleted]

    def versions(self, subject: str, deleted: bool = False, deleted_only: bool = False) -> list[int]:
        """Version numbers of ``subject``; 40401 when it has none (live ones unless asked)."""
        rows = self._rows(subject, deleted=deleted or deleted_only)
        if not rows:
            raise sr_errors.subject_not_found(subject)
        return [r.version for r in rows if r.deleted or not deleted_only]

    def latest(self, subject: str) -> RegisteredSchema | None:
        """The latest live version of ``subject``, or None (kept until versions change)."""
        changes = self._changes
        if subject in self._latest:
            return self._latest[subject]
        rows = self._rows(subject)
        found = self._registered(subject, rows[-1]) if rows else None
        with self._latest_lock:
            if changes == self._changes:
                self._latest[subject] = found
        return found

    def get_version(self, subject: str, version: str | int, deleted: bool = False) -> RegisteredSchema:
        """One version (``latest`` or a number); 42202, 40401, 40402 as Confluent answers."""
        number = parse_version(version)
        return self._registered(subject, self._row(subject, number, deleted))

    def referenced_by(self, subject: str, version: str | int) -> list[int]:
        """Ids of schemas with a live version that reference this version."""
        row = self._row(subject, parse_version(version), deleted=False)
        return self._referrers(subject, row.version)

    # ---- schemas by id ---------------------------------------------------------------------

    def schema_by_id(self, schema_id: int) -> StoredSchema:
        """40403 unless some version (live or soft-deleted) still holds the id."""
        if self.store.query_one("SELECT 1 FROM sr_versions WHERE schema_id = ? LIMIT 1", [schema_id]) is None:
            raise sr_errors.schema_not_found(f"Schema {schema_id} not found")
        return self._stored(schema_id)

    def versions_of_id(self, schema_id: int, deleted: bool = False) -> list[tuple[str, int]]:
        """(subject, version) pairs holding ``schema_id``."""
        self.schema_by_id(schema_id)
        return [
            (subject, version)
            for subject, version in self.store.execute(
                "SELECT subject, version FROM sr_versions WHERE schema_id = ? AND (? OR NOT deleted) "
                "ORDER BY subject, version",
                [schema_id, deleted],
            )
        ]

    def list_schemas(
        self, prefix: str = "", deleted: bool = False, latest_only: bool = False
    ) -> list[RegisteredSchema]:
        """Every version of the subjects under ``prefix`` (or only their latest)."""
        result = []
        for subject in self.subjects(prefix, deleted=deleted):
            rows = self._rows(subject, deleted=deleted)
            result += [self._registered(subject, r) for r in (rows[-1:] if latest_only else rows)]
        return result

    @staticmethod
    def schema_types() -> list[str]:
        return list(SCHEMA_TYPES)

    # ---- deleting ----------------------------------------------------------------------------

    def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        """Soft delete every live version; ``permanent`` only after that (40405), then drops them
        with the subject's config and mode. 40401 unknown subject, 40404 already soft-deleted."""
        with self._changing_versions():
            self._require_writable(subject)
            rows = self._rows(subject, deleted=True)
            if not rows:
                raise sr_errors.subject_not_found(subject)
            live = [r for r in rows if not r.deleted]
            if permanent and live:
                raise sr_errors.subject_not_soft_deleted(subject)
            if not permanent and not live:
                raise sr_errors.subject_soft_deleted(subject)
            targets = rows if permanent else live
            for row in targets:
                self._refuse_if_referenced(subject, row.version)
            if permanent:
                self.store.execute("DELETE FROM sr_versions WHERE subject = ?", [subject])
                self.store.execute("DELETE FROM sr_settings WHERE subject = ?", [subject])
            else:
                self.store.execute("UPDATE sr_versions SET deleted = true WHERE subject = ?", [subject])
            return [r.version for r in targets]

    def delete_version(self, subject: str, version: str | int, permanent: bool = False) -> int:
        """Soft delete one version; ``permanent`` only after that (40407); 40406 if already soft."""
        number = parse_version(version)
        with self._changing_versions():
            self._require_writable(subject)
            # A numbered version is found even when soft-deleted, to answer 40406 rather than 40402.
            row = self._row(subject, number, deleted=permanent or number is not None)
            if permanent and not row.deleted:
                raise sr_errors.version_not_soft_deleted(subject, row.version)
            if not permanent and row.deleted:
                raise sr_errors.version_soft_deleted(subject, row.version)
            self._refuse_if_referenced(subject, row.version)
            if permanent:
                self.store.execute(
                    "DELETE FROM sr_versions WHERE subject = ? AND version = ?", [subject, row.version]
                )
            else:
                self.store.execute(
                    "UPDATE sr_versions SET deleted = true WHERE subject = ? AND version = ?",
                    [subject, row.version],
                )
            return row.version

    # ---- compatibility -----------------------------------------------------------------------

    def check_compatibility(
        self,
        subject: str,
        schema: str,
        schema_type: str = "AVRO",
        references: Sequence[Reference | dict] | None = None,
        version: str | int | None = None,
    ) -> CompatibilityResult:
        """Test ``schema`` under the subject's level against one version, or (``version=None``)
        against its live versions (all of them for the _TRANSITIVE levels)."""
        number = None if version is None else parse_version(version)
        refs = _references(references)
        parsed = self._parse(schema, schema_type, refs)
        if version is None:
            previous = self._rows(subject)
        else:
            previous = [self._row(subject, number, deleted=False)]
        messages = incompatibilities(
            parsed, self._previous(previous), self.compatibility(subject, default_to_global=True)
        )
        return CompatibilityResult(not messages, messages)

    # ---- config --------------------------------------------------------------------------------

    def compatibility(self, subject: str | None = None, default_to_global: bool = False) -> str:
        """The subject's level (40408 if none and not ``default_to_global``) or the global one."""
        if subject is not None:
            level = self._setting(subject, "compatibility")
            if level is not None:
                return level
            if not default_to_global:
                raise sr_errors.subject_compatibility_not_configured(subject)
        return self._setting(GLOBAL, "compatibility") or DEFAULT_LEVEL

    def config(self, subject: str | None = None, default_to_global: bool = False) -> dict:
        """``{"compatibilityLevel": ..., "normalize": ...}`` (normalize only when set)."""
        config: dict = {"compatibilityLevel": self.compatibility(subject, default_to_global)}
        key = GLOBAL if subject is None else subject
        normalize = self._setting(key, "normalize")
        if normalize is None and subject is not None and default_to_global:
            normalize = self._setting(GLOBAL, "normalize")
        if normalize is not None:
            config["normalize"] = normalize == "true"
        return config

    def update_config(
        self, subject: str | None = None, compatibility: str | None = None, normalize: bool | None = None
    ) -> dict:
        """Set the level (42203 if invalid) and/or normalize; answers what was set."""
        key = GLOBAL if subject is None else subject
        answer: dict = {}
        if compatibility is not None:
            answer["compatibility"] = valid_level(compatibility)
        if normalize is not None:
            answer["normalize"] = normalize
        with self.store.transaction():
            for name, value in answer.items():
                self._set(key, name, str(value).lower() if name == "normalize" else value)
        return answer

    def delete_config(self, subject: str | None = None) -> str:
        """Drop the subject's (or global) config; answers the level it had. 40401 if none set."""
        with self.store.transaction():
            old = self.compatibility() if subject is None else self._setting(subject, "compatibility")
            if old is None:
                raise sr_errors.subject_not_found(subject)
            self.store.execute(
                "DELETE FROM sr_settings WHERE subject = ? AND name IN ('compatibility', 'normalize')",
                [GLOBAL if subject is None else subject],
            )
            return old

    # ---- mode ----------------------------------------------------------------------------------

    def mode(self, subject: str | None = None, default_to_global: bool = False) -> str:
        """The subject's mode (40409 if none and not ``default_to_global``) or the global one."""
        if subject is not None:
            mode = self._setting(subject, "mode")
            if mode is not None:
                return mode
            if not default_to_global:
                raise sr_errors.subject_mode_not_configured(subject)
        return self._setting(GLOBAL, "mode") or DEFAULT_MODE

    def set_mode(self, mode: str, subject: str | None = None, force: bool = False) -> str:
        """Set the mode (42204 if unknown). IMPORT needs no schemas in scope unless ``force`` (42205)."""
        if not isinstance(mode, str) or mode.upper() not in MODES:
            raise sr_errors.invalid_mode(mode)
        mode = mode.upper()
        with self.store.transaction():
            if mode == "IMPORT" and not force:
                if subject is None:
                    in_scope = self.subjects(deleted=True)
                else:
                    in_scope = [subject] if self._rows(subject, deleted=True) else []
                if in_scope:
                    raise sr_errors.not_permitted(
                        f"Cannot import since found existing subjects {in_scope[:5]}; use force=true "
                        "to import over them"
                    )
            self._set(GLOBAL if subject is None else subject, "mode", mode)
        return mode

    def delete_mode(self, subject: str) -> str:
        """Drop the subject's mode; answers the mode it had. 40401 if none set."""
        with self.store.transaction():
            old = self._setting(subject, "mode")
            if old is None:
                raise sr_errors.subject_not_found(subject)
            self.store.execute("DELETE FROM sr_settings WHERE subject = ? AND name = 'mode'", [subject])
            return old

    # ---- internals -----------------------------------------------------------------------------

    def _effective_mode(self, subject: str) -> str:
        global_mode = self.mode()
        if global_mode == "READONLY_OVERRIDE":
            return global_mode
        return self._setting(subject, "mode") or global_mode

    def _require_writable(self, subject: str) -> str:
        mode = self._effective_mode(subject)
        if mode in READ_ONLY_MODES:
            raise sr_errors.not_permitted(
                f"Subject '{subject}' is in read-only mode ({mode}); set mode READWRITE to change it"
            )
        return mode

    def _setting(self, subject: str, name: str) -> str | None:
        row = self.store.query_one(
            "SELECT value FROM sr_settings WHERE subject = ? AND name = ?", [subject, name]
        )
        return row[0] if row else None

    def _set(self, subject: str, name: str, value: str) -> None:
        self.store.execute("INSERT OR REPLACE INTO sr_settings VALUES (?, ?, ?)", [subject, name, value])

    def _rows(self, subject: str, deleted: bool = False) -> list[_Version]:
        """The subject's versions in order, live ones only unless ``deleted``."""
        return [
            _Version(*row)
            for row in self.store.execute(
                "SELECT version, schema_id, deleted FROM sr_versions WHERE subject = ? AND (? OR NOT deleted) "
                "ORDER BY version",
                [subject, deleted],
            )
        ]

    def _row(self, subject: str, number: int | None, deleted: bool) -> _Version:
        """Version ``number`` (None = latest) of ``subject``; 40401 / 40402."""
        rows = self._rows(subject, deleted=deleted)
        if not rows:
            raise sr_errors.subject_not_found(subject)
        if number is None:
            return rows[-1]
        for row in rows:
            if row.version == number:
                return row
        raise sr_errors.version_not_found(subject, number)

    def _stored(self, schema_id: int) -> StoredSchema:
        row = self.store.query_one(
            "SELECT id, schema, schema_type, refs FROM sr_schemas WHERE id = ?", [schema_id]
        )
        if row is None:
            raise sr_errors.schema_not_found(f"Schema {schema_id} not found")
        return StoredSchema(row[0], row[1], row[2], _references(json.loads(row[3])))

    def _registered(self, subject: str, row: _Version) -> RegisteredSchema:
        stored = self._stored(row.schema_id)
        return RegisteredSchema(
            subject, row.version, stored.id, stored.schema, stored.schema_type, stored.references, row.deleted
        )

    def _referenced_texts(self, refs: Sequence[Reference], seen: set[tuple[str, int]]) -> list[str]:
        """Texts of the referenced schemas and of what they reference, dependencies first."""
        texts = []
        for ref in refs:
            if (ref.subject, ref.version) in seen:
                continue
            seen.add((ref.subject, ref.version))
            row = self.store.query_one(
                "SELECT schema_id FROM sr_versions WHERE subject = ? AND version = ?", [ref.subject, ref.version]
            )
            if row is None:
                raise sr_errors.invalid_schema(
                    f"Invalid schema: reference {ref.name} to subject '{ref.subject}' version "
                    f"{ref.version} not found; register the referenced schema first"
                )
            stored = self._stored(row[0])
            texts += self._referenced_texts(stored.references, seen)
            texts.append(stored.schema)
        return texts

    def _parse(self, schema: str, schema_type: str, refs: Sequence[Reference]) -> ParsedSchema:
        if not isinstance(schema_type, str) or schema_type.upper() not in SCHEMA_TYPES:
            raise sr_errors.invalid_schema(
                f"Invalid schema type {schema_type!r}: the sandbox models {', '.join(SCHEMA_TYPES)} only"
            )
        if not isinstance(schema, str) or not schema.strip():
            raise sr_errors.invalid_schema("Invalid schema: the schema text is empty")
        return parse(schema, self._referenced_texts(refs, set()))

    def _ids_of(self, parsed: ParsedSchema, schema_type: str, refs: Sequence[Reference]) -> list[int]:
        """Ids already given to this schema (same canonical form, type and references)."""
        rows = self.store.execute(
            "SELECT id FROM sr_schemas WHERE schema_type = ? AND canonical = ? AND refs = ? ORDER BY id",
            [schema_type, parsed.canonical, _refs_json(refs)],
        )
        return [r[0] for r in rows]

    def _matching(
        self, rows: Sequence[_Version], parsed: ParsedSchema, schema_type: str, refs: Sequence[Reference]
    ) -> list[_Version]:
        ids = set(self._ids_of(parsed, schema_type, refs))
        return [r for r in rows if r.schema_id in ids]

    def _previous(self, rows: Sequence[_Version]) -> list[PreviousVersion]:
        previous = []
        for row in rows:
            stored = self._stored(row.schema_id)
            parsed = self._parse(stored.schema, stored.schema_type, stored.references)
            previous.append(PreviousVersion(row.version, parsed))
        return previous

    def _check(self, subject: str, parsed: ParsedSchema, live: Sequence[_Version], level: str) -> None:
        messages = incompatibilities(parsed, self._previous(live), level)
        if messages:
            raise sr_errors.incompatible(subject, messages)

    def _schema_id(
        self, parsed: ParsedSchema, schema_type: str, refs: Sequence[Reference], normalize: bool,
        wanted: int | None,
    ) -> int:
        """The id of this schema: the existing one, ``wanted`` (import), or the next free one."""
        existing = self._ids_of(parsed, schema_type, refs)
        if wanted is not None:
            taken = self.store.query_one("SELECT canonical FROM sr_schemas WHERE id = ?", [wanted])
            if taken is not None:
                if taken[0] != parsed.canonical:
                    raise sr_errors.not_permitted(
                        f"Overwrite new schema with id {wanted} is not permitted: the id holds another schema"
                    )
                return wanted
        elif existing:
            return existing[0]
        new_id = wanted or max(FIRST_ID, (self.store.query_one("SELECT max(id) FROM sr_schemas")[0] or 0) + 1)
        text = parsed.canonical if normalize else parsed.text
        self.store.execute(
            "INSERT INTO sr_schemas VALUES (?, ?, ?, ?, ?)",
            [new_id, schema_type, parsed.canonical, text, _refs_json(refs)],
        )
        return new_id

    def _new_version(self, subject: str, wanted: int | None) -> int:
        if wanted is not None:
            if self.store.query_one(
                "SELECT 1 FROM sr_versions WHERE subject = ? AND version = ?", [subject, wanted]
            ):
                raise sr_errors.not_permitted(f"Subject '{subject}' already has version {wanted}")
            return wanted
        last = self.store.query_one("SELECT max(version) FROM sr_versions WHERE subject = ?", [subject])[0]
        return (last or 0) + 1

    def _referrers(self, subject: str, version: int) -> list[int]:
        rows = self.store.execute(
            "SELECT s.id, s.refs FROM sr_schemas s WHERE s.refs <> '[]' AND EXISTS "
            "(SELECT 1 FROM sr_versions v WHERE v.schema_id = s.id AND NOT v.deleted) ORDER BY s.id"
        )
        return [
            schema_id
            for schema_id, refs in rows
            if any(r["subject"] == subject and r["version"] == version for r in json.loads(refs))
        ]

    def _refuse_if_referenced(self, subject: str, version: int) -> None:
        referrers = self._referrers(subject, version)
        if referrers:
            raise sr_errors.references_exist(subject, version, referrers)
