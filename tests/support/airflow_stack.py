"""Airflow as users run it: api-server, scheduler, DAG processor and triggerer as separate processes
(LocalExecutor, SQLite) in a private AIRFLOW_HOME, and a small client of its REST API.

``dag.test()`` runs every task and trigger inline in one process, which hides the races between the
scheduler, the executor, the triggerer and the task processes; :class:`AirflowStack` runs the
real components, and :class:`AirflowClient` drives them as the UI does (unpause, the Trigger
button, Approve) and reports, when a run fails, its failed task instances and the tail of their logs.
The simple auth manager asks for a login: one admin user, ``USER`` with the stack's ``password``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from sandbox.alert_receiver import AlertReceiver
from sandbox.config import SandboxConfig
from sandbox.connections import airflow_connection_env
from sandbox.process import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
USER = "admin"
TERMINAL = {"success", "failed"}
Approver = str | Callable[[dict], str] | None
PROBLEM_STATES = {"failed", "upstream_failed", "up_for_retry", "restarting", "removed"}


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read {path}: {exc})"


def ledger_folder(workdir: Path) -> Path:
    """The migration ledger of a stack made with :func:`stack_env` in ``workdir``."""
    return workdir / "ledger"


def stack_env(workdir: Path, sandbox_port: int, alerts: AlertReceiver) -> dict[str, str]:
    """What the e2e tests set for ``dag.test()``, for the Airflow components: connections to the
    sandbox on ``sandbox_port`` and to the ``alerts`` webhook, a private ledger and backups, fast polls."""
    config = SandboxConfig(data_dir=workdir, port=sandbox_port)
    return {
        **airflow_connection_env(config),
        **alerts.connection_env(),
        "CONFLUENT_MIGRATION_LEDGER": f"file://{ledger_folder(workdir)}",
        "CONFLUENT_MIGRATION_POLL_SECONDS": "1",
        "CONFLUENT_MIGRATION_CATCH_UP_TIMEOUT": "600",
        "AIRFLOW__CONFLUENT_MIGRATION__BACKUP_LOCATION": f"file://{workdir}/schema-backups",
    }


class AirflowStack:
    """The four Airflow 3 components as separate process groups sharing one private AIRFLOW_HOME.

    ``env``: what the DAGs need on top (connections, ledger, poll intervals...). Every component's
    output goes to ``<workdir>/logs/<component>.log``; task logs are under ``<home>/logs``.
    """

    def __init__(self, workdir: Path, env: Mapping[str, str], parallelism: int = 4) -> None:
        self.workdir = workdir
        self.home = workdir / "airflow-home"
        self.log_dir = workdir / "logs"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.password = secrets.token_urlsafe(12)
        self.passwords_file = workdir / "passwords.json"
        plugins_path = [str(ROOT / "plugins"), str(ROOT), os.environ.get("PYTHONPATH", "")]
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(dict.fromkeys(filter(None, os.pathsep.join(plugins_path).split(os.pathsep)))),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__API_AUTH__JWT_EXPIRATION_TIME": "86400",
            # a new or changed DAG file is seen within seconds (defaults: 300 s, 30 s)
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            # a killed worker's task is found without a heartbeat after 1 min, not 5 (the default)
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
            **env,
        }
        for key in [k for k in self.env if k.startswith("PYTEST_")]:
            del self.env[key]
        self.client = AirflowClient(self.url, (USER, self.password), task_log_dir=self.home / "logs")

    def start(self, timeout: float = 300) -> AirflowStack:
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.passwords_file.write_text(json.dumps({USER: self.password}))
        try:
            self._airflow("db", "migrate", log_name="db-migrate", wait=True)
            for component in COMPONENTS:
                self._airflow(component, log_name=component)
            self._wait_until_healthy(timeout)
        except BaseException:
            print(self.report())
            self.stop()
            raise
        return self

    def _airflow(self, *args: str, log_name: str, wait: bool = False) -> None:
        log = open(self.log_dir / f"{log_name}.log", "ab")  # noqa: SIM115 - handed to the child process
        proc = subprocess.Popen([sys.executable, "-m", "airflow", *args], cwd=self.workdir, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        if wait:
            if proc.wait(timeout=600) != 0:
                raise RuntimeError(f"airflow {' '.join(args)} exited {proc.returncode}:\n"
                                   f"{tail(self.log_dir / f'{log_name}.log')}")
        else:
            self.procs[log_name] = proc

    def dead(self) -> dict[str, int]:
        return {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}

    def check_alive(self) -> None:
        if dead := self.dead():
            raise AssertionError(f"Airflow components exited: {dead}\n{self.report()}")

    def _wait_until_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        health: Any = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
                if all(health.get(c, {}).get("status") == "healthy"
                       for c in ("metadatabase", "scheduler", "triggerer", "dag_processor")):
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(1)
        raise TimeoutError(f"Airflow not healthy within {timeout:.0f}s: {health}")

    def report(self, lines: int = 30) -> str:
        """The tail of every component's log, for a failure's message."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            parts.append(f"----- {path} (last {lines} lines) -----\n{tail(path, lines)}")
        return "\n".join(parts)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM each component's process group (its executor workers and task processes too),
        SIGKILL what is left after ``timeout``."""
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)  # stragglers in the group, even if the leader exited
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def __enter__(self) -> AirflowStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # start_new_session: the group id is the leader's pid
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class RunResult:
    """A DAG run as the REST API reports it once it ended (or the wait for it timed out)."""

    dag_id: str
    run_id: str
    state: str
    seconds: float
    task_states: dict[str, str] = field(default_factory=dict)
    failures: str = ""  # failed task instances and the tail of their logs
    answered: list[dict[str, Any]] = field(default_factory=list)  # human-in-the-loop requests answered

    def why(self) -> str:
        return f"{self.dag_id} run {self.run_id} ended {self.state} after {self.seconds:.0f}s\n{self.failures}"


class AirflowClient:
    """The REST calls the UI makes, over HTTP to the api-server, with the token of ``login`` (user,
    password), asked for on the first call."""

    def __init__(self, url: str, login: tuple[str, str], task_log_dir: Path | None = None,
                 poll: float = 1.0) -> None:
        self.url = url
        self.api = f"{url}/api/v2"
        self.login = login
        self.task_log_dir = task_log_dir
        self.poll = poll
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"

    def _call(self, method: str, path: str, patience: float = 180, **kwargs: Any) -> Any:
        """One REST call. A GET that times out or finds no server is repeated for up to ``patience``
        seconds: on SQLite the api-server can stall while another process holds the database lock."""
        if "Authorization" not in self.session.headers:
            self._log_in()
        deadline = time.monotonic() + patience
        while True:
            try:
                response = self.session.request(method, f"{self.api}/{path}", timeout=60, **kwargs)
                break
            except (requests.Timeout, requests.ConnectionError) as exc:
                if method != "GET" or time.monotonic() > deadline:
                    raise AssertionError(f"{method} {path}: {exc!r}") from exc
                time.sleep(self.poll)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    def _log_in(self) -> None:
        user, password = self.login
        response = requests.post(f"{self.url}/auth/token", json={"username": user, "password": password}, timeout=60)
        assert response.status_code == 201, f"login as {user}: {response.status_code} {response.text[:500]}"
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params)

    def import_errors(self) -> list[dict]:
        return self.get("importErrors")["import_errors"]

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 180,
                      alive: Callable[[], None] | None = None) -> None:
        """Wait until the DAG processor parsed ``dag_ids`` with no import error."""
        deadline = time.monotonic() + timeout
        while True:
            if alive:
                alive()
            errors = self.import_errors()
            assert not errors, f"import errors: {json.dumps(errors, indent=1)[:4000]}"
            known = {d["dag_id"] for d in self.get("dags", limit=100)["dags"]}
            if set(dag_ids) <= known:
                return
            assert time.monotonic() < deadline, f"DAGs {sorted(set(dag_ids) - known)} not parsed within {timeout}s"
            time.sleep(self.poll)

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: Mapping[str, Any]) -> str:
        """As the UI's Trigger button: no logical date, the form's values as ``conf``; the run id."""
        run = self._call("POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": dict(conf)})
        return run["dag_run_id"]

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.get(f"dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances", limit=1000)["task_instances"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        """``task_id`` (``[map_index]`` for mapped ones) -> state; a mapped task's instances all listed."""
        return {ti_key(ti): ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        entry = self.get(f"dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/xcomEntries/{key}",
                         deserialize=True, stringify=False)
        return entry["value"]

    def pending_approvals(self, dag_id: str) -> list[dict]:
        return self.get(f"dags/{dag_id}/dagRuns/~/hitlDetails", response_received=False)["hitl_details"]

    def answer(self, item: dict, choice: str = "Approve") -> dict[str, Any]:
        """Answer one human-in-the-loop request, as the UI's Approve/Reject buttons do."""
        ti = item["task_instance"]
        self._call("PATCH", f"dags/{ti['dag_id']}/dagRuns/{quote(ti['dag_run_id'], safe='')}/taskInstances/"
                            f"{ti['task_id']}/{ti['map_index']}/hitlDetails",
                   json={"chosen_options": [choice], "params_input": {}})
        return {"task_id": ti["task_id"], "subject": item["subject"], "body": item["body"]}

    def wait(self, dag_id: str, run_id: str, timeout: float, approve: Approver = None,
             alive: Callable[[], None] | None = None) -> RunResult:
        """Wait until the run ends (``timeout`` is a safety limit: the run is reported as it stands).
        ``approve``: answer each human-in-the-loop request of the run meanwhile with this option, or
        with what ``approve(request)`` returns (a person who acts on the request, then answers)."""
        started = time.monotonic()
        answered: list[dict[str, Any]] = []
        state = "unknown"
        while time.monotonic() - started < timeout:
            if alive:
                alive()
            state = self.dag_run(dag_id, run_id)["state"]
            if state in TERMINAL:
                break
            if approve:
                for item in self.pending_approvals(dag_id):
                    if item["task_instance"]["dag_run_id"] == run_id:
                        answered.append(self.answer(item, approve(item) if callable(approve) else approve))
            time.sleep(self.poll)
        else:
            state = f"{state} (still, after the {timeout:.0f}s limit)"
        result = RunResult(dag_id, run_id, state, time.monotonic() - started,
                           self.task_states(dag_id, run_id), answered=answered)
        if state != "success":
            result.failures = self.failures(dag_id, run_id)
        return result

    def run(self, dag_id: str, conf: Mapping[str, Any], timeout: float, approve: Approver = None,
            alive: Callable[[], None] | None = None) -> RunResult:
        """Trigger ``dag_id`` with ``conf`` and wait for its end."""
        return self.wait(dag_id, self.trigger(dag_id, conf), timeout, approve=approve, alive=alive)

    def failures(self, dag_id: str, run_id: str, lines: int = 40) -> str:
        """Every task instance not in a good state, with the tail of the failed ones' logs."""
        parts, others = [], {}
        for ti in self.task_instances(dag_id, run_id):
            if ti["state"] in PROBLEM_STATES - {"upstream_failed"} and ti["try_number"]:
                parts.append(f"task {ti_key(ti)}: {ti['state']} (try {ti['try_number']})")
                for try_number in range(1, ti["try_number"] + 1):
                    parts.append(f"  --- log of try {try_number} (tail) ---\n"
                                 + _indent(self.task_log(ti, try_number, lines)))
            elif ti["state"] not in ("success", "skipped"):
                others.setdefault(str(ti["state"]), []).append(ti_key(ti))
        parts += [f"{len(tasks)} tasks {state}: {', '.join(tasks[:3])}{', ...' if len(tasks) > 3 else ''}"
                  for state, tasks in others.items()]
        return "\n".join(parts) or "(no task instance in a bad state)"

    def task_log(self, ti: dict, try_number: int, lines: int = 40) -> str:
        path = (f"dags/{ti['dag_id']}/dagRuns/{quote(ti['dag_run_id'], safe='')}/taskInstances/{ti['task_id']}/"
                f"logs/{try_number}")
        try:
            content = self.get(path, map_index=ti["map_index"], full_content=True)["content"]
            text = "\n".join(_log_line(c) for c in content) if isinstance(content, list) else str(content)
        except AssertionError as exc:
            text = f"(log API: {exc})"
        if self.task_log_dir and (not text.strip() or text.startswith("(log API")):
            found = sorted(self.task_log_dir.glob(
                f"dag_id={ti['dag_id']}/run_id={ti['dag_run_id']}/task_id={ti['task_id']}/**/attempt={try_number}.log"))
            text += "".join(f"\n{p}:\n{tail(p, lines)}" for p in found)
        return "\n".join(text.splitlines()[-lines:])


def ti_key(ti: dict) -> str:
    return ti["task_id"] if ti["map_index"] in (-1, None) else f"{ti['task_id']}[{ti['map_index']}]"


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def _log_line(entry: Any) -> str:
    if not isinstance(entry, dict):
        return str(entry)
    extra = {k: v for k, v in entry.items() if k not in ("timestamp", "event", "level", "logger", "sources")}
    line = f"{entry.get('timestamp', '')} {entry.get('level', '')} {entry.get('event', '')}".strip()
    if "error_detail" in extra:
        detail = extra.pop("error_detail")
        for exc in detail if isinstance(detail, list) else [detail]:
            if isinstance(exc, dict):
                line += f"\n{exc.get('exc_type')}: {exc.get('exc_value')}"
                for frame in (exc.get("frames") or [])[-3:]:
                    line += f"\n  {frame.get('filename')}:{frame.get('lineno')} in {frame.get('name')}"
    return line
