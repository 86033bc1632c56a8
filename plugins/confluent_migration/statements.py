"""Flink statements in domain terms: phases, deterministic names, offsets, the pipeline snapshot.

Confluent's statement phases are an extensible enum: a phase this code does not know is neither
success nor failure; waits keep polling until their timeout and say which phase they saw.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

PENDING, RUNNING, COMPLETED, DELETING = "PENDING", "RUNNING", "COMPLETED", "DELETING"
FAILING, FAILED, STOPPING, STOPPED, DEGRADED = "FAILING", "FAILED", "STOPPING", "STOPPED", "DEGRADED"
KNOWN_PHASES = frozenset({PENDING, RUNNING, COMPLETED, DELETING, FAILING, FAILED, STOPPING, STOPPED, DEGRADED})
FAILED_PHASES = frozenset({FAILING, FAILED})
TERMINAL_PHASES = frozenset({COMPLETED, FAILED, STOPPED})



def stalled(phase: str) -> bool:
    """A continuous statement in this phase processes nothing and never will by itself."""
    return phase in FAILED_PHASES or phase in (STOPPING, STOPPED, COMPLETED, DELETING)


NAME_PATTERN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
NAME_MAX_LENGTH = 100


def _slug(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")


def statement_name(table: str, pipeline_version: str | int, migration_run: str) -> str:
    """The one valid statement name for a table's pipeline version in a migration run.

    Deterministic, so a retried or re-run task finds the statement it created instead of making
    a second one: ``<table>-v<version>-<8 hex of the run>``, lowercase, at most 100 characters
    (a long table name is shortened and keeps a hash of its full form so names stay distinct).
    """
    version = _slug(str(pipeline_version)) or "0"
    run = hashlib.sha256(migration_run.encode()).hexdigest()[:8]
    suffix = f"-v{version}-{run}"
    table_slug = _slug(table) or "statement"
    room = NAME_MAX_LENGTH - len(suffix)
    if len(table_slug) > room:
        table_hash = hashlib.sha256(table.encode()).hexdigest()[:6]
        table_slug = f"{table_slug[: room - 7].rstrip('-')}-{table_hash}"
    name = f"{table_slug}{suffix}"
    if not NAME_PATTERN.fullmatch(name) or len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"could not derive a valid statement name from table {table!r}, version "
                         f"{pipeline_version!r}; got {name!r}")
    return name


def check_statement_name(name: str) -> str:
    """``name`` if Confluent accepts it as a statement name, else a ValueError saying why."""
    if len(name) > NAME_MAX_LENGTH or not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"statement name {name!r} is not valid for Confluent: lowercase letters, digits, "
                         f"'-' and '.', at most {NAME_MAX_LENGTH} characters, starting and ending alphanumeric")
    return name


def parse_offsets(latest_offsets: dict[str, str] | None) -> dict[str, dict[int, int]]:
    """``{"topic": "partition:0,offset:100;partition:1,offset:200"}`` -> ``{"topic": {0: 100, 1: 200}}``."""
    parsed: dict[str, dict[int, int]] = {}
    for topic, text in (latest_offsets or {}).items():
        partitions: dict[int, int] = {}
        for part in filter(None, (p.strip() for p in text.split(";"))):
            fields = dict(kv.split(":", 1) for kv in part.split(","))
            partitions[int(fields["partition"])] = int(fields["offset"])
        parsed[topic] = partitions
    return parsed


@dataclass(frozen=True)
class Statement:
    """What the task needs of a statement resource as the API returns it."""

    name: str
    sql: str
    properties: dict[str, str]
    phase: str
    detail: str = ""
    stopped: bool = False
    resource_version: str | None = None
    latest_offsets: dict[str, str] = field(default_factory=dict)
    latest_offsets_timestamp: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    compute_pool_id: str | None = None
    principal: str | None = None
    created_at: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Statement:
        spec, status, metadata = data.get("spec") or {}, data.get("status") or {}, data.get("metadata") or {}
        return cls(
            name=data["name"],
            sql=spec.get("statement", ""),
            properties=dict(spec.get("properties") or {}),
            phase=status.get("phase", "") or "",
            detail=status.get("detail", "") or "",
            stopped=bool(spec.get("stopped", False)),
            resource_version=metadata.get("resource_version"),
            latest_offsets=dict(status.get("latest_offsets") or {}),
            latest_offsets_timestamp=status.get("latest_offsets_timestamp"),
            traits=dict(status.get("traits") or {}),
            compute_pool_id=spec.get("compute_pool_id"),
            principal=spec.get("principal"),
            created_at=metadata.get("created_at"),
        )

    @property
    def is_failed(self) -> bool:
        return self.phase in FAILED_PHASES

    def snapshot(self) -> dict[str, Any]:
        """A JSON-serialisable record for XCom and the migration ledger."""
        return {
            "name": self.name,
            "sql": self.sql,
            "phase": self.phase,
            "detail": self.detail,
            "stopped": self.stopped,
            "properties": self.properties,
            "latest_offsets": self.latest_offsets,
            "latest_offsets_timestamp": self.latest_offsets_timestamp,
            "compute_pool_id": self.compute_pool_id,
            "principal": self.principal,
            "is_bounded": self.traits.get("is_bounded"),
        }


SUCCESS, FAILURE, WAITING = "success", "failure", "waiting"


def judge(phase: str, targets: frozenset[str] | set[str]) -> str:
    """Whether a wait for ``targets`` is over: ``success``, ``failure`` or still ``waiting``.

    DEGRADED is a running statement with trouble: it satisfies a wait for RUNNING (the caller
    warns). A terminal phase that is not awaited is a failure. Unknown phases keep the wait going.
    """
    if phase in targets or (phase == DEGRADED and RUNNING in targets):
        return SUCCESS
    if phase in FAILED_PHASES or phase in TERMINAL_PHASES:
        return FAILURE
    return WAITING


def describe_failure(statement: Statement, exceptions: list[dict[str, Any]]) -> str:
    """A failed statement's detail and exceptions, for the task log and the error."""
    lines = [f"Flink statement '{statement.name}' is {statement.phase}: {statement.detail or '(no detail)'}"]
    lines += [f"  exception {e.get('timestamp', '')} {e.get('name', '')}: {e.get('message', '')}" for e in exceptions]
    return "\n".join(lines)
