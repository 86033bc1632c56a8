"""Subject backups: every version, schema id, compatibility and mode, as JSON in object storage.

Written through ``ObjectStoragePath`` (a local ``file://`` path by default; ``s3://``, ``gs://``...
with a connection when configured), then read back and compared before anyone relies on it.
Default location: ``[confluent_migration] backup_location`` in the Airflow config, else
``file://$AIRFLOW_HOME/confluent-migration/schema-backups``.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.configuration import conf
from airflow.sdk import ObjectStoragePath

from confluent_migration.concurrent_calls import at_once
from confluent_migration.errors import BackupVerificationError

if TYPE_CHECKING:
    from confluent_migration.hooks.schema_registry import SchemaRegistryHook

BACKUP_FORMAT = 1


def default_location() -> str:
    home = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
    return conf.get("confluent_migration", "backup_location",
                    fallback=f"file://{home}/confluent-migration/schema-backups")


def subject_backup(hook: SchemaRegistryHook, subject: str) -> dict[str, Any]:
    """Everything needed to put a subject back as it was."""
    return {
        "subject": subject,
        "versions": [{"version": v.version, "id": v.schema_id, "schemaType": v.schema_type, "schema": v.schema}
                     for v in hook.all_versions(subject)],
        "compatibility": hook.compatibility(subject),
        "subject_compatibility": hook.subject_compatibility(subject),
        "mode": hook.mode(subject),
    }


def write_backup(hook: SchemaRegistryHook, subjects: list[str], path: ObjectStoragePath) -> dict[str, Any]:
    """Back up ``subjects`` to ``path``, read it back and verify it; return the backup's summary."""
    backup = {
        "format": BACKUP_FORMAT,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "subjects": at_once(lambda subject: subject_backup(hook, subject), subjects),
    }
    text = json.dumps(backup, indent=2, sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    read_back = read_backup(path)
    if read_back != backup:
        raise BackupVerificationError(f"the subject backup at {path} read back differently from what was written; "
                                      "do not rely on it: check the storage and run the backup again")
    return {
        "path": str(path),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "subjects": {s["subject"]: [v["version"] for v in s["versions"]] for s in backup["subjects"]},
    }


def read_backup(path: ObjectStoragePath) -> dict[str, Any]:
    """A backup as written; refuses files of another format."""
    backup = json.loads(path.read_text())
    if backup.get("format") != BACKUP_FORMAT:
        raise BackupVerificationError(f"{path} is not a subject backup of format {BACKUP_FORMAT}")
    return backup
