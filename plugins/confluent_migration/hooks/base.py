"""The shared HTTP base of the Confluent Cloud hooks: timeouts, bounded retries, errors that name things.

Every call has a timeout. A 429 waits as long as its ``Retry-After`` says (bounded), a 5xx or a
lost connection backs off exponentially, and after ``RetryPolicy.max_attempts`` the call fails
with a :class:`~confluent_migration.errors.ConfluentApiError` that names the statement or subject
and what to do. Credentials travel only in the ``Authorization`` header: they are never logged and
never part of an exception (Airflow also masks connection passwords in task logs).

The same policy serves synchronous calls (``request``, on the http provider's ``HttpHook`` and its
``requests`` session) and asynchronous ones for triggers (``arequest``, on aiohttp with the
connection resolved by the provider's ``HttpAsyncHook``). Every call is retried on 429/5xx: the
project's POSTs are safe to repeat (a statement create is keyed by its deterministic name and
answers 409 if it already happened; a metrics query only reads).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import aiohttp
import requests
from airflow.providers.http.hooks.http import HttpAsyncHook, HttpHook

from confluent_migration.errors import ConfluentApiError

DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a call that was rate limited or hit a server error."""

    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    max_retry_after_seconds: float = 120.0

    def delay(self, status: int | None, retry_after: str | None, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when this answer is final."""
        if attempt >= self.max_attempts:
            return None
        backoff = min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds)
        if status == 429:
            wait = retry_after_seconds(retry_after)
            return min(wait if wait is not None else backoff, self.max_retry_after_seconds)
        if status is None or status >= 500:
            return backoff * random.uniform(0.8, 1.2)
        return None

    def wait_or_raise(self, what: str, status: int | None, retry_after: str | None, detail: str, attempt: int,
                      *, hint: str, log: Any) -> float:
        """Seconds to wait before the next attempt (logged), or raise the final :class:`ConfluentApiError`."""
        delay = self.delay(status, retry_after, attempt)
        if delay is None:
            raise ConfluentApiError(what, status, detail, hint)
        log.warning("%s: %s (HTTP %s); retrying in %.1fs (attempt %d of %d)",
                    what, detail, status, delay, attempt, self.max_attempts)
        return delay


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def error_detail(body: str) -> str:
    """The server's message from a Confluent error body (Failure ``errors[]`` or SR ``message``)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:500] or "(empty body)"
    if isinstance(data, dict):
        if isinstance(data.get("errors"), list) and data["errors"]:
            return "; ".join(
                str(e.get("detail") or e.get("title") or e) for e in data["errors"] if isinstance(e, dict)
            )
        if "message" in data:
            code = data.get("error_code")
            return f"{data['message']} (error code {code})" if code else str(data["message"])
    return str(data)[:500]


def api_hint(conn_id: str, status: int | None, attempts: int) -> str:
    """What to do about a final error answer of the API behind Airflow connection ``conn_id``."""
    if status in (401, 403):
        return (f"Check the API key and secret of Airflow connection '{conn_id}' "
                "and that the key may use this resource")
    if status == 404:
        return f"Check the name and the ids in Airflow connection '{conn_id}'"
    if status == 429:
        return "Still rate limited after retries: retry the task later or poll less often"
    if status is None or status >= 500:
        return f"Confluent Cloud did not answer properly after {attempts} attempts: retry the task later"
    return ""


class ConfluentHttpHook(HttpHook):
    """An ``HttpHook`` for one Confluent Cloud API with the project's timeout and retry policy.

    The connection (a Confluent connection type of this provider, or ``http``): host = API URL,
    login/password = API key/secret. Its ``extra`` holds Confluent settings (ids, catalog,
    database), which are never sent as HTTP headers (the plain ``HttpHook`` would send them).

    :param conn_id: the Airflow connection.
    :param timeout: seconds for each HTTP call (connect and read).
    :param retry: the retry policy for 429, 5xx and lost connections.
    """

    default_conn_name = "http_default"
    conn_name_attr = "conn_id"  # Airflow builds a hook from a connection as ``hook_class(conn_id=...)``
    hook_name = "Confluent Cloud API"

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(method="GET", http_conn_id=conn_id or self.default_conn_name)
        self.conn_id = self.http_conn_id
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._session: requests.Session | None = None
        self._async_hook = HttpAsyncHook(http_conn_id=self.http_conn_id)

    def _configure_session_from_extra(self, session: requests.Session, connection: Any, extra_options: dict) -> requests.Session:
        """Confluent settings in ``extra`` are configuration, not headers: only TLS verify is honoured."""
        session.verify = connection.extra_dejson.get("verify", True)
        return session

    @cached_property
    def extra(self) -> dict[str, Any]:
        """The connection's ``extra`` (Confluent ids and names)."""
        return self.get_connection(self.http_conn_id).extra_dejson

    def prepare(self) -> None:
        """Resolve the connection and open the session now, before several threads call at once."""
        if self._session is None:
            self._session = self.get_conn()
        self.extra  # noqa: B018 - resolved once

    def hint(self, status: int | None) -> str:
        """What to do about a final error answer."""
        return api_hint(self.conn_id, status, self.retry.max_attempts)

    def _final_or_wait(self, what: str, status: int | None, retry_after: str | None, detail: str,
                       attempt: int) -> float:
        return self.retry.wait_or_raise(what, status, retry_after, detail, attempt, hint=self.hint(status),
                                        log=self.log)

    def request(
        self,
        method: str,
        endpoint: str,
        *,
        what: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        expect: Collection[int] = (),
    ) -> requests.Response:
        """Send one call; return the response when it is 2xx or its status is in ``expect``.

        :param what: the resource in domain words, for logs and errors.
        :param expect: error statuses the caller handles itself (e.g. 404, 409).
        """
        if self._session is None:
            self._session = self.get_conn()
        url = self.url_from_endpoint(endpoint)
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                response = self._session.request(method, url, json=json, params=params, headers=headers,
                                                 timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                time.sleep(self._final_or_wait(what, None, None, f"{type(exc).__name__} calling {url}", attempt))
                continue
            if response.status_code < 400 or response.status_code in expect:
                return response
            time.sleep(self._final_or_wait(what, response.status_code, response.headers.get("Retry-After"),
                                           error_detail(response.text), attempt))
        raise AssertionError("unreachable: the retry policy ends the loop")

    async def arequest(
        self,
        method: str,
        endpoint: str,
        *,
        what: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        expect: Collection[int] = (),
    ) -> tuple[int, Any]:
        """The asynchronous ``request`` for triggers: returns (status, decoded JSON body or None)."""
        config = await self._async_hook.config()
        url = f"{config.base_url.rstrip('/')}/{endpoint.lstrip('/')}"
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for attempt in range(1, self.retry.max_attempts + 1):
                try:
                    async with session.request(method, url, json=json, params=params, auth=config.auth) as resp:
                        text = await resp.text()
                        status, retry_after = resp.status, resp.headers.get("Retry-After")
                except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
                    await asyncio.sleep(self._final_or_wait(what, None, None,
                                                            f"{type(exc).__name__} calling {url}", attempt))
                    continue
                if status < 400 or status in expect:
                    return status, (json_loads(text) if text else None)
                await asyncio.sleep(self._final_or_wait(what, status, retry_after, error_detail(text), attempt))
        raise AssertionError("unreachable: the retry policy ends the loop")

    async def aextra(self) -> dict[str, Any]:
        """The connection's ``extra``, resolved without blocking the triggerer's event loop."""
        from airflow.providers.common.compat.connection import get_async_connection

        return (await get_async_connection(self.http_conn_id, hook=self)).extra_dejson


def json_loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
