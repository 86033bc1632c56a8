"""The Flink SQL statements API: create (or adopt), get, list, stop/resume, delete, results, exceptions.

Connection ``confluent_flink_default``: host = the regional Flink endpoint, login/password = Flink
API key/secret, extra = ``organization_id``, ``environment_id``, ``compute_pool_id``,
``principal``, ``catalog``, ``database``. Statements are created with ``sql.current-catalog`` =
catalog (falling back to the environment id) and ``sql.current-database`` = database unless the
caller sets them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlparse

from confluent_migration.errors import ConfluentApiError, StatementConflictError, StatementFailedError
from confluent_migration.hooks import FLINK_CONN_ID
from confluent_migration.hooks.base import ConfluentHttpHook
from confluent_migration.statements import Statement, check_statement_name

CATALOG, DATABASE, DRY_RUN = "sql.current-catalog", "sql.current-database", "sql.dry-run"


def statements_path(extra: Mapping[str, Any]) -> str:
    try:
        org, env = extra["organization_id"], extra["environment_id"]
    except KeyError as missing:
        raise ValueError(f"the Flink connection's extra lacks {missing}: it needs organization_id and "
                         "environment_id (and usually compute_pool_id, principal, catalog, database)") from None
    return f"/sql/v1/organizations/{org}/environments/{env}/statements"


def page_token(next_url: str | None) -> str | None:
    """The ``page_token`` of a ``metadata.next`` URL, or None on the last page."""
    if not next_url:
        return None
    return (parse_qs(urlparse(next_url).query).get("page_token") or [None])[0]


class FlinkStatementsHook(ConfluentHttpHook):
    """Lifecycle of Confluent Cloud Flink SQL statements over the REST API (sync, plus async reads)."""

    default_conn_name = FLINK_CONN_ID
    conn_type = "confluent_flink"  # the connection type's hook is FlinkSqlHook (get_provider_info)
    hook_name = "Confluent Flink statements"

    @property
    def base_path(self) -> str:
        return statements_path(self.extra)

    def statement_properties(self, properties: Mapping[str, str] | None) -> dict[str, str]:
        """The caller's properties, with the connection's catalog and database where they are unset."""
        extra = self.extra
        merged = {k: str(v) for k, v in (properties or {}).items()}
        catalog = extra.get("catalog") or extra.get("environment_id")
        if catalog:
            merged.setdefault(CATALOG, catalog)
        if extra.get("database"):
            merged.setdefault(DATABASE, extra["database"])
        return merged

    def _create_body(self, name: str, sql: str, properties: dict[str, str], compute_pool_id: str | None,
                     principal: str | None, labels: Mapping[str, str] | None) -> dict[str, Any]:
        extra = self.extra
        spec: dict[str, Any] = {"statement": sql, "properties": properties, "stopped": False}
        if compute_pool_id or extra.get("compute_pool_id"):
            spec["compute_pool_id"] = compute_pool_id or extra["compute_pool_id"]
        if principal or extra.get("principal"):
            spec["principal"] = principal or extra["principal"]
        body: dict[str, Any] = {"name": name, "organization_id": extra["organization_id"],
                                "environment_id": extra["environment_id"], "spec": spec}
        if labels:
            body["metadata"] = {"labels": dict(labels)}
        return body

    def submit_statement(
        self,
        name: str,
        sql: str,
        properties: Mapping[str, str] | None = None,
        *,
        compute_pool_id: str | None = None,
        principal: str | None = None,
    ) -> tuple[Statement, bool]:
        """Create the statement, or adopt the existing one of that name if it is the same statement.

        :return: the statement and whether it was adopted (True: it existed already).
        :raises StatementConflictError: a statement of that name exists with other SQL or properties.
        """
        check_statement_name(name)
        wanted = self.statement_properties(properties)
        body = self._create_body(name, sql, wanted, compute_pool_id, principal, None)
        response = self.request("POST", self.base_path, what=f"Flink statement '{name}'", json=body, expect=(409,))
        if response.status_code != 409:
            return Statement.from_api(response.json()), False
        existing = self.get_statement(name)
        differences = []
        if existing.sql.strip() != sql.strip():
            differences.append(f"SQL:\n  existing: {existing.sql.strip()}\n  wanted:   {sql.strip()}")
        changed = {k: (existing.properties.get(k), v) for k, v in wanted.items() if existing.properties.get(k) != v}
        if changed:
            differences.append("properties (existing, wanted): " + ", ".join(f"{k}={a!r} vs {b!r}" for k, (a, b) in changed.items()))
        if differences:
            raise StatementConflictError(
                f"Flink statement '{name}' already exists and differs from the one this task submits: "
                + "; ".join(differences)
                + ". A statement's SQL cannot change: delete the old statement or give the new one another "
                  "name (a new pipeline version or migration run)."
            )
        self.log.info("Flink statement '%s' already exists with the same SQL and properties (phase %s): adopting it",
                      name, existing.phase)
        return existing, True

    def dry_run(self, sql: str, properties: Mapping[str, str] | None = None) -> Statement:
        """Validate and plan ``sql`` with ``sql.dry-run`` (answered at once, never stored).

        :raises StatementFailedError: the statement is invalid; the message carries Flink's detail.
        """
        name = f"dry-run-{uuid.uuid4().hex[:12]}"
        wanted = {**self.statement_properties(properties), DRY_RUN: "true"}
        body = self._create_body(name, sql, wanted, None, None, None)
        statement = Statement.from_api(self.request("POST", self.base_path, what="Flink dry run", json=body).json())
        if statement.is_failed:
            raise StatementFailedError(f"Flink rejected the statement in a dry run: {statement.detail}\nSQL:\n{sql}")
        return statement

    def get_statement(self, name: str) -> Statement:
        response = self.request("GET", f"{self.base_path}/{name}", what=f"Flink statement '{name}'")
        return Statement.from_api(response.json())

    def find_statement(self, name: str) -> Statement | None:
        """The statement, or None when there is no statement of that name."""
        response = self.request("GET", f"{self.base_path}/{name}", what=f"Flink statement '{name}'", expect=(404,))
        return None if response.status_code == 404 else Statement.from_api(response.json())

    def list_statements(self, *, label_selector: str | None = None, page_size: int = 100) -> list[Statement]:
        """Every statement of the environment, following ``metadata.next`` page by page."""
        params: dict[str, Any] = {"page_size": page_size}
        if label_selector:
            params["label_selector"] = label_selector
        statements: list[Statement] = []
        while True:
            data = self.request("GET", self.base_path, what="Flink statements list", params=params).json()
            statements += [Statement.from_api(s) for s in data.get("data") or []]
            token = page_token((data.get("metadata") or {}).get("next"))
            if not token:
                return statements
            params["page_token"] = token

    def set_stopped(self, name: str, stopped: bool, *, max_conflicts: int = 5) -> Statement:
        """Stop (``stopped=True``) or resume a statement with a PUT of the statement as read.

        The PUT carries ``metadata.resource_version``; when the statement changed since the read
        (409) it is read again and the PUT repeated, up to ``max_conflicts`` times, a little later
        each time.
        """
        what = f"Flink statement '{name}'"
        for attempt in range(max_conflicts):
            time.sleep(0.5 * attempt)
            current = self.request("GET", f"{self.base_path}/{name}", what=what).json()
            if bool((current.get("spec") or {}).get("stopped")) == stopped:
                return Statement.from_api(current)
            body = {
                "name": current["name"],
                "organization_id": current["organization_id"],
                "environment_id": current["environment_id"],
                "metadata": {k: v for k, v in (current.get("metadata") or {}).items() if k in ("self", "resource_version")},
                "spec": {**{k: v for k, v in (current.get("spec") or {}).items() if k != "execution_mode"},
                         "stopped": stopped},
            }
            response = self.request("PUT", f"{self.base_path}/{name}", what=what, json=body, expect=(409,))
            if response.status_code != 409:
                return Statement.from_api(response.json()) if response.content else self.get_statement(name)
            self.log.info("%s changed since it was read (409): reading it again", what)
        raise ConfluentApiError(what, 409, f"it kept changing while being {'stopped' if stopped else 'resumed'} "
                                f"({max_conflicts} conflicts in a row)", "the task is retried; or retry it by hand")

    def delete_statement(self, name: str) -> bool:
        """Delete a statement; False when there was none of that name."""
        response = self.request("DELETE", f"{self.base_path}/{name}", what=f"Flink statement '{name}'", expect=(404,))
        return response.status_code != 404

    def get_results(self, name: str) -> list[dict[str, Any]]:
        """Every result row (``{"op": 0..3, "row": [...]}``) so far, following ``metadata.next``."""
        rows: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        while True:
            data = self.request("GET", f"{self.base_path}/{name}/results", what=f"results of Flink statement '{name}'",
                                params=params).json()
            page = (data.get("results") or {}).get("data") or []
            rows += page
            token = page_token((data.get("metadata") or {}).get("next"))
            if not token or not page:
                return rows
            params["page_token"] = token

    def get_exceptions(self, name: str) -> list[dict[str, Any]]:
        """The statement's most recent exceptions (``name``, ``message``, ``timestamp``)."""
        response = self.request("GET", f"{self.base_path}/{name}/exceptions",
                                what=f"exceptions of Flink statement '{name}'", expect=(404,))
        return [] if response.status_code == 404 else (response.json().get("data") or [])

    async def aget_statement(self, name: str) -> Statement:
        path = f"{statements_path(await self.aextra())}/{name}"
        _, data = await self.arequest("GET", path, what=f"Flink statement '{name}'")
        return Statement.from_api(data)

    async def aget_exceptions(self, name: str) -> list[dict[str, Any]]:
        path = f"{statements_path(await self.aextra())}/{name}/exceptions"
        status, data = await self.arequest("GET", path, what=f"exceptions of Flink statement '{name}'", expect=(404,))
        return [] if status == 404 else ((data or {}).get("data") or [])

