"""Schema Registry operators: back up, check, set compatibility, register, revert.

Each is one action on :class:`~confluent_migration.hooks.schema_registry.SchemaRegistryHook` and
returns a JSON-serialisable record (XCom) that the next step or the migration ledger uses.
Schemas are Avro JSON text; a templated value ending in ``.avsc`` is read from that file.
Check, set compatibility and register act on one subject, or on a batch of them given as ``items``
(made concurrently, each reported on its own: :class:`~confluent_migration.operators.batch.BatchOperator`),
returning the list of the items' records.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseHook, Context, ObjectStoragePath

from confluent_migration.backup import default_location, write_backup
from confluent_migration.errors import SchemaIncompatibleError, SubjectReadOnlyError
from confluent_migration.hooks import FLINK_CONN_ID, SCHEMA_REGISTRY_CONN_ID
from confluent_migration.links import MAP_LABEL, SUBJECT_URL_KEY, SchemaRegistrySubjectLink, subject_url
from confluent_migration.operators.batch import BatchOperator

if TYPE_CHECKING:
    from confluent_migration.hooks.schema_registry import SchemaRegistryHook

INHERIT = (None, "", "None", "INHERIT")


class SchemaRegistryOperator(BatchOperator):
    """Shared parameters: the SR connection and the environment for the console link.

    :param schema_registry_conn_id: the Schema Registry connection.
    :param environment_id: Confluent environment for the console link; by default the
        ``environment_id`` of the Flink connection ``flink_conn_id`` (no link when neither is known).
    """

    operator_extra_links = (SchemaRegistrySubjectLink(),)

    def __init__(self, *, schema_registry_conn_id: str = SCHEMA_REGISTRY_CONN_ID,
                 environment_id: str | None = None, flink_conn_id: str = FLINK_CONN_ID,
                 map_index_template: str | None = MAP_LABEL, **kwargs: Any) -> None:
        super().__init__(map_index_template=map_index_template, **kwargs)
        self.schema_registry_conn_id = schema_registry_conn_id
        self.environment_id = environment_id
        self.flink_conn_id = flink_conn_id

    item_fields: ClassVar[tuple[str, ...]] = ("subject",)

    @cached_property
    def hook(self) -> SchemaRegistryHook:
        from confluent_migration.hooks.schema_registry import SchemaRegistryHook

        return SchemaRegistryHook(self.schema_registry_conn_id)

    def prepare(self) -> None:
        self.hook.prepare()
        self.console_environment  # noqa: B018 - resolved once, before the items' threads read it

    @cached_property
    def console_environment(self) -> str | None:
        if self.environment_id is not None:
            return self.environment_id
        try:
            return BaseHook.get_connection(self.flink_conn_id).extra_dejson.get("environment_id")
        except Exception:  # noqa: BLE001 - no Flink connection: no link, nothing else changes
            return None

    def push_subject_link(self, context: Context, subject: str) -> None:
        """The subject's console link as the task's extra link (of a batch: its first subject's), and in the log."""
        env = self.console_environment
        if env:
            if self.items is None or (self.items and self.items[0].get("subject") == subject):
                context["ti"].xcom_push(key=SUBJECT_URL_KEY, value=subject_url(env, subject))
            self.log.info("Confluent console for '%s'%s: %s", subject,
                          " (also the task's extra link)" if self.items is None else "", subject_url(env, subject))


class BackupSubjectsOperator(SchemaRegistryOperator):
    """Back up subjects (every version, id, compatibility, mode) as JSON; verified by reading it back.

    :param subjects: the subjects to back up.
    :param location: a directory URL for ``ObjectStoragePath`` (default: see ``backup.default_location``).
    :param storage_conn_id: the connection for object storage (None for local files).
    :param backup_name: the file's name without ``.json`` (default: the DAG run id).
    :return: ``{"path", "sha256", "subjects": {subject: [versions]}}``.
    """

    template_fields: Sequence[str] = ("subjects", "location", "backup_name")

    def __init__(self, *, subjects: Sequence[str], location: str | None = None, storage_conn_id: str | None = None,
                 backup_name: str = "{{ run_id }}", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subjects = subjects
        self.location = location
        self.storage_conn_id = storage_conn_id
        self.backup_name = backup_name

    def execute(self, context: Context) -> dict[str, Any]:
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", self.backup_name)
        path = ObjectStoragePath(self.location or default_location(), conn_id=self.storage_conn_id) / f"{name}.json"
        summary = write_backup(self.hook, list(self.subjects), path)
        self.log.info("Backed up %s to %s (sha256 %s), read back and verified",
                      summary["subjects"], summary["path"], summary["sha256"])
        return summary


class CheckSchemaCompatibilityOperator(SchemaRegistryOperator):
    """Check a new schema: offline with the ``avro`` checker, then with the registry (``verbose=true``).

    :param subject: the subject that will receive the schema.
    :param schema: the Avro schema (JSON text, or a ``.avsc`` file path, templated).
    :param level: the level to check offline (default: the subject's level in force); a
        ``_TRANSITIVE`` level checks every existing version. The registry always checks its own level.
    :param items: instead of the three above, a batch of ``{"subject", "schema", "level"}``.
    :return: ``{"subject", "level", "compatible": True, "checked_versions"}``; incompatible raises
        ``SchemaIncompatibleError`` listing the offline findings and the registry's messages.
    """

    template_fields: Sequence[str] = ("subject", "schema", "level", "items")
    template_ext: Sequence[str] = (".avsc",)
    item_fields = ("subject", "schema", "level")
    takes_items = True

    def __init__(self, *, subject: str | None = None, schema: str | None = None, level: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subject = subject
        self.schema = schema
        self.level = level
        self.require_own_fields("subject", "schema")

    def act(self, context: Context, item: dict[str, Any]) -> dict[str, Any]:
        from confluent_migration.compatibility import incompatibilities

        subject, schema, wanted = item["subject"], item["schema"].strip(), item.get("level")
        self.push_subject_link(context, subject)
        existing = self.hook.all_versions(subject)
        if not existing:
            self.log.info("Subject '%s' has no versions yet: any schema is compatible", subject)
            return {"subject": subject, "level": wanted, "compatible": True, "checked_versions": []}
        level = (wanted or self.hook.compatibility(subject)).upper()
        offline = incompatibilities(schema, [(v.version, v.schema) for v in existing], level)
        registry_level = self.hook.compatibility(subject).upper()
        compatible, messages = self.hook.check_compatibility(
            subject, schema, all_versions=registry_level.endswith("_TRANSITIVE"))
        if offline or not compatible:
            raise SchemaIncompatibleError(
                f"The new schema of subject '{subject}' is incompatible.\n"
                f"Offline check under {level}: {offline or 'compatible'}\n"
                f"Registry check under {registry_level}: {messages or ('compatible' if compatible else 'incompatible')}\n"
                "Change the schema (add fields as optional with a default under FULL) or choose another level.")
        checked = [v.version for v in existing] if level.endswith("_TRANSITIVE") else [existing[-1].version]
        self.log.info("Schema for '%s' is compatible under %s (offline, versions %s) and with the registry (%s)",
                      subject, level, checked, registry_level)
        return {"subject": subject, "level": level, "compatible": True, "checked_versions": checked}


class SetSubjectCompatibilityOperator(SchemaRegistryOperator):
    """Set a subject's compatibility level, recording the previous one for rollback.

    :param subject: the subject.
    :param level: e.g. ``FULL_TRANSITIVE``.
    :param items: instead of the two above, a batch of ``{"subject", "level"}``.
    :return: ``{"subject", "level", "previous", "previous_effective"}``; ``previous`` is None when
        the subject inherited the global level (pass it to ``RevertSubjectOperator``).
    """

    template_fields: Sequence[str] = ("subject", "level", "items")
    item_fields = ("subject", "level")
    takes_items = True

    def __init__(self, *, subject: str | None = None, level: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subject = subject
        self.level = level
        self.require_own_fields("subject", "level")

    def act(self, context: Context, item: dict[str, Any]) -> dict[str, Any]:
        subject, level = item["subject"], item["level"].upper()
        self.push_subject_link(context, subject)
        previous = self.hook.subject_compatibility(subject)
        previous_effective = self.hook.compatibility(subject)
        self.hook.set_compatibility(subject, level)
        self.log.info("Subject '%s' compatibility: %s -> %s", subject,
                      previous or f"(inherited {previous_effective})", level)
        return {"subject": subject, "level": level, "previous": previous, "previous_effective": previous_effective}


class RegisterSchemaOperator(SchemaRegistryOperator):
    """Register a schema under a subject; an identical schema already there is found, not registered again.

    :param subject: the subject.
    :param schema: the Avro schema (JSON text, or a ``.avsc`` file path, templated).
    :param items: instead of the two above, a batch of ``{"subject", "schema"}``.
    :return: ``{"subject", "version", "id", "registered"}`` (``registered`` False when it existed).
    """

    template_fields: Sequence[str] = ("subject", "schema", "items")
    template_ext: Sequence[str] = (".avsc",)
    item_fields = ("subject", "schema")
    takes_items = True

    def __init__(self, *, subject: str | None = None, schema: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subject = subject
        self.schema = schema
        self.require_own_fields("subject", "schema")

    def act(self, context: Context, item: dict[str, Any]) -> dict[str, Any]:
        subject = item["subject"]
        self.push_subject_link(context, subject)
        version, new = self.hook.register(subject, item["schema"].strip())
        self.log.info("%s schema id %s as version %s of subject '%s'",
                      "Registered" if new else "Found already registered", version.schema_id, version.version,
                      subject)
        return {"subject": subject, "version": version.version, "id": version.schema_id, "registered": new}


class RevertSubjectOperator(SchemaRegistryOperator):
    """Put a subject back as it was before the migration.

    Soft-deletes the versions this migration registered (so the pre-migration schema is latest
    again) and restores the previous compatibility. A READONLY subject is refused up front.

    :param subject: the subject.
    :param versions: the versions this migration registered (already-deleted ones are skipped).
    :param previous_compatibility: the level to restore; None/""/"INHERIT" removes the subject's
        own level so the global one applies (what ``SetSubjectCompatibilityOperator`` returned as
        ``previous``).
    :param restore_compatibility: False leaves the compatibility as it is.
    :return: ``{"subject", "deleted_versions", "latest_version", "compatibility"}``.
    """

    template_fields: Sequence[str] = ("subject", "versions", "previous_compatibility")

    def __init__(self, *, subject: str, versions: Sequence[int], previous_compatibility: str | None = None,
                 restore_compatibility: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subject = subject
        self.versions = versions
        self.previous_compatibility = previous_compatibility
        self.restore_compatibility = restore_compatibility

    def execute(self, context: Context) -> dict[str, Any]:
        self.push_subject_link(context, self.subject)
        mode = self.hook.mode(self.subject)
        if mode.startswith("READONLY"):
            raise SubjectReadOnlyError(
                f"Cannot revert subject '{self.subject}': it is in {mode} mode. Set it to READWRITE first "
                "if the revert is intended, or leave it to whoever froze it.")
        live = set(self.hook.versions(self.subject))
        deleted = [int(v) for v in self.versions if int(v) in live]
        for version in deleted:
            self.hook.soft_delete_version(self.subject, version)
        result: dict[str, Any] = {"subject": self.subject, "deleted_versions": deleted}
        if self.restore_compatibility:
            level = None if self.previous_compatibility in INHERIT else self.previous_compatibility
            self.hook.set_compatibility(self.subject, level)
        remaining = self.hook.versions(self.subject)
        result["latest_version"] = remaining[-1] if remaining else None
        result["compatibility"] = self.hook.compatibility(self.subject)
        self.log.info("Reverted subject '%s': soft-deleted versions %s; latest is now %s; compatibility %s",
                      self.subject, deleted, result["latest_version"], result["compatibility"])
        return result
