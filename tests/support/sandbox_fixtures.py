"""Pytest fixtures that start sandboxes for tests, with every exchange checked against the contracts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from sandbox.connections import airflow_connection_env
from sandbox.contracts import read_violations
from sandbox.process import SandboxProcess

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = ROOT.parent / "shared" / "contracts"


def contracts_dir() -> Path:
    if not (CONTRACTS_DIR / "confluent-schema-registry-v1.openapi.yaml").exists():
        pytest.fail(f"Confluent's OpenAPI specs are expected in {CONTRACTS_DIR} (../shared/contracts)")
    return CONTRACTS_DIR


@dataclass
class RunningSandbox:
    """A live sandbox as a test sees it."""

    process: SandboxProcess

    @property
    def config(self) -> SandboxConfig:
        return self.process.config

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def auth(self) -> tuple[str, str]:
        return (self.config.api_key, self.config.api_secret)

    @property
    def flink_base(self) -> str:
        c = self.config
        return f"{c.url}/sql/v1/organizations/{c.organization_id}/environments/{c.environment_id}"

    def violations(self) -> list[dict]:
        return read_violations(self.config.data_dir)

    def connection_env(self) -> dict[str, str]:
        return airflow_connection_env(self.config)


def start_sandbox(data_dir: Path, **overrides: object) -> RunningSandbox:
    """A sandbox on a free loopback port (or ``port=...``), checking every exchange against the contracts."""
    config = SandboxConfig(**{"data_dir": data_dir, "port": 0, "contracts_dir": contracts_dir(), **overrides})
    return RunningSandbox(SandboxProcess(config).start())


def assert_contract_kept(sandbox: RunningSandbox, seen: int = 0) -> None:
    """Fail the test if any exchange with ``sandbox`` (after the first ``seen``) broke the contract."""
    new = sandbox.violations()[seen:]
    if new:
        lines = [f"{v['method']} {v['path']} -> {v['status']}: {v['violations']}" for v in new[:5]]
        pytest.fail("exchanges broke the OpenAPI contract:\n" + "\n".join(lines), pytrace=False)


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One empty sandbox for the whole session (tests namespace their subjects/statements)."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    yield sandbox
    sandbox.process.stop()


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox) -> Iterator[RunningSandbox]:
    """The session sandbox; the test fails if any exchange during it broke the contract."""
    seen = len(sandbox_server.violations())
    yield sandbox_server
    assert_contract_kept(sandbox_server, seen)


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[Callable[..., RunningSandbox]]:
    """Start private sandboxes (e.g. ``sandbox_factory(world="encarta")``); stopped after the test."""
    started: list[RunningSandbox] = []

    def start(**overrides: object) -> RunningSandbox:
        data_dir = overrides.pop("data_dir", None) or tmp_path / f"sandbox-{len(started)}"
        sandbox = start_sandbox(Path(data_dir), **overrides)
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.process.stop()
    for sandbox in started:
        assert_contract_kept(sandbox, 0)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata DB in this session's AIRFLOW_HOME (``dag.test()`` needs one)."""
    home = Path(os.environ["AIRFLOW_HOME"])
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return home


@pytest.fixture
def airflow_connections(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> RunningSandbox:
    """Point the ``*_default`` Confluent connections at the session sandbox."""
    for key, value in sandbox.connection_env().items():
        monkeypatch.setenv(key, value)
    return sandbox
