"""Start a sandbox server as a subprocess on a free loopback port and wait until it answers.

Used by the tests, the main command and anything else that needs a live sandbox.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import requests

from sandbox.config import SandboxConfig

ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def command_line(config: SandboxConfig) -> list[str]:
    args = [sys.executable, "-m", "sandbox", "serve"]
    for field, value in asdict(config).items():
        if value is None:
            continue
        args += [f"--{field.replace('_', '-')}", str(value)]
    return args


def wait_until_ready(config: SandboxConfig, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    auth = (config.api_key, config.api_secret)
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"sandbox exited with code {proc.returncode} before answering on {config.url}")
        try:
            if requests.get(f"{config.url}/config", auth=auth, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"sandbox did not answer on {config.url} within {timeout:.0f}s")


class SandboxProcess:
    """A sandbox server in a child process; a context manager that stops it on exit."""

    def __init__(self, config: SandboxConfig, log_path: Path | None = None, detach: bool = False) -> None:
        """:param detach: run in its own session, so that Ctrl-C of the caller leaves it running."""
        if config.port == 0:
            config = replace(config, port=free_port(config.host))
        self.config = config
        self.log_path = log_path or config.data_dir / "sandbox.log"
        self.detach = detach
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> SandboxProcess:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        # The sandbox builds its world from the project's content, read by the product's parsers.
        path = [str(ROOT), str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}
        self.proc = subprocess.Popen(
            command_line(self.config), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=self.detach,
        )
        log.close()
        try:
            wait_until_ready(self.config, timeout, self.proc)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
