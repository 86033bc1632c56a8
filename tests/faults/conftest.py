"""Fault tests: the hooks talk to the session sandbox through a fault-injecting proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fault_proxy import FaultProxy
from tests.support.sandbox_fixtures import RunningSandbox


@pytest.fixture
def proxy(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session sandbox, with the Airflow connections pointed at it."""
    with FaultProxy(sandbox.url, lifetime=300) as running:
        for key, value in running.connection_env(sandbox.config).items():
            monkeypatch.setenv(key, value)
        yield running
