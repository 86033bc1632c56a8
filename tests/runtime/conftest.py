"""Runtime tier: the DAGs run by Airflow's own scheduler, DAG processor, triggerer and LocalExecutor
(separate processes, as users run them), triggered and approved through the REST API as the UI does.

One Airflow stack serves the whole session; each test module builds its own encarta world (a fresh
sandbox) on the one loopback port the stack's connections point at, so modules never share a world.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from confluent_migration.migration.observe import CATCH_UP_ALLOWANCE
from sandbox.alert_receiver import AlertReceiver
from sandbox.process import free_port
from sandbox.world.status import wait_until_ready
from tests.support.airflow_stack import AirflowStack, Approver, RunResult, ledger_folder, stack_env
from tests.support.sandbox_fixtures import RunningSandbox, assert_contract_kept, start_sandbox

TRIGGERED = ["migrate_schema_registry_evolution", "migrate_zero_downtime_dual_write",
             "migrate_maintenance_window_recreate", "rollback_migration"]
HEALTH_CHECK = "post_migration_health_check"  # @daily: unpausing it starts a scheduled run at once
DAG_IDS = [*TRIGGERED, HEALTH_CHECK]
STACK = pytest.StashKey["AirflowStack"]()
# the shortest throughput window (validation waits it out after the catch-up; the form's default is 5)
CRITERIA_WINDOW_MINUTES = 1
RUN_TIMEOUT = 1200  # a safety limit per DAG run; a migration of the four tables takes a few minutes


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def sandbox_port() -> int:
    """The loopback port of the runtime tier's sandboxes (one at a time), fixed in the connections."""
    return free_port()


@pytest.fixture(scope="session")
def airflow_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                  sandbox_port: int) -> Iterator[AirflowStack]:
    """api-server, scheduler, dag-processor and triggerer in a private AIRFLOW_HOME (SQLite,
    LocalExecutor), every DAG parsed without import errors, the triggered ones unpaused; stopped at
    the end."""
    workdir = tmp_path_factory.mktemp("airflow-stack")
    alerts = AlertReceiver(log=workdir / "alerts.log").start()  # the health check needs a route for its alerts
    stack = AirflowStack(workdir, stack_env(workdir, sandbox_port, alerts))
    stack.start()
    try:
        stack.client.wait_for_dags(DAG_IDS, alive=stack.check_alive)
        for dag_id in TRIGGERED:
            stack.client.unpause(dag_id)
        request.config.stash[STACK] = stack
        yield stack
    finally:
        stack.stop()
        alerts.stop()
    print(f"Airflow component logs: {stack.log_dir}")


@pytest.fixture(autouse=True)
def _component_logs_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """When a test fails, print the tail of every Airflow component's log (kept under the tmp dir)."""
    yield
    report = getattr(request.node, "rep_call", None)
    stack = request.config.stash.get(STACK, None)
    if report is not None and report.failed and stack is not None:
        print(stack.report(40))


@pytest.fixture(scope="module")
def world_port(sandbox_port: int) -> int:
    """The port of the module's sandbox: the one the stack's connections point at, unless a module
    puts something between them (a fault proxy)."""
    return sandbox_port


@pytest.fixture(scope="module")
def encarta(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            world_port: int) -> Iterator[RunningSandbox]:
    """A fresh sandbox with the encarta world built and changing (5 changes/s) on ``world_port``;
    the test process's hooks point at it too. Every exchange must keep the contract. The world
    builds while the Airflow stack starts. A new world is a new Confluent environment, so its
    migration history starts empty: the stack's ledger of the modules before is moved aside."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("sandbox"), port=world_port,
                            world="encarta", changes_per_second=5.0)
    try:
        stack: AirflowStack = request.getfixturevalue("airflow_stack")
        ledger = ledger_folder(stack.workdir)
        if ledger.exists():
            ledger.rename(ledger.with_name(f"ledger-before-{request.module.__name__.rsplit('.', 1)[-1]}"))
        wait_until_ready(sandbox.url, sandbox.auth, timeout=300)
        with pytest.MonkeyPatch.context() as patch:
            for key, value in sandbox.connection_env().items():
                patch.setenv(key, value)
            yield sandbox
    finally:
        sandbox.process.stop()
    assert_contract_kept(sandbox)


@dataclass
class Runs:
    """DAG runs on the stack, triggered as the UI does, against one world."""

    stack: AirflowStack
    sandbox: RunningSandbox
    # when the v1 statements last (re)started: the world's build, or a rollback's restore
    restarted: float = field(default_factory=time.monotonic)

    def wait_until_steady(self) -> None:
        """Wait until the v1 statements have run a whole throughput window since they last (re)started,
        as production's have: the baseline is their rate over the window before the migration, and a
        window holding a (re)start's catch-up would set it far above their steady rate."""
        left = self.restarted + 60 * CRITERIA_WINDOW_MINUTES + CATCH_UP_ALLOWANCE.total_seconds() + 5 - time.monotonic()
        if left > 0:
            print(f"waiting {left:.0f}s for a steady baseline window")
            time.sleep(left)

    @property
    def database(self) -> str:
        return self.sandbox.config.database

    def run(self, dag_id: str, approve: Approver = None, **conf: Any) -> RunResult:
        if dag_id == HEALTH_CHECK:
            self.stack.client.unpause(dag_id)  # as late as possible: see HEALTH_CHECK
        result = self.stack.client.run(dag_id, conf, RUN_TIMEOUT, approve=approve, alive=self.stack.check_alive)
        if dag_id == "rollback_migration":
            self.restarted = time.monotonic()
        print(f"{dag_id} {result.run_id}: {result.state} in {result.seconds:.1f}s")
        return result

    def summary(self, result: RunResult, task_id: str = "summary") -> str:
        summary = self.stack.client.xcom(result.dag_id, result.run_id, task_id)
        print(summary)
        return summary

    def migrate(self, dag_id: str, approve: Approver = None, *, steady: bool = False, **params: Any) -> RunResult:
        """A migration that changes something (dry_run off, confirmed); it must succeed.

        ``steady``: first wait until the v1 statements ran a whole window, and require the throughput
        criterion to PASS against their baseline. Otherwise the run starts at once: its baseline may
        hold a (re)start, which pre-flight must find (the criterion is then *not measured*, never
        failed), and one test per world is enough to prove the comparison."""
        params = {"criteria_window_minutes": CRITERIA_WINDOW_MINUTES, **params}
        if steady:
            self.wait_until_steady()
        result = self.run(dag_id, approve=approve, dry_run=False, confirm=self.database, **params)
        if result.state != "success":
            # what the runbook says to do after a failed run; it also gives the next test its v1 world
            undo = self.run("rollback_migration", confirm=self.database, mode="planned", migration_run=result.run_id)
            raise AssertionError(f"{result.why()}\n(rolled back: {undo.state}{' ' + undo.why() if undo.state != 'success' else ''})")
        summary = self.summary(result)
        assert "SUCCESS" in summary, summary
        throughput = r"PASS +throughput vs baseline" if steady else r"(PASS|NOT MEASURED) +throughput vs baseline"
        assert re.search(throughput, summary), summary
        return result

    def rollback(self) -> RunResult:
        """``rollback_migration`` of the latest migration, planned mode; it must succeed."""
        result = self.run("rollback_migration", confirm=self.database, mode="planned")
        assert result.state == "success", result.why()
        self.summary(result)
        return result


@pytest.fixture(scope="module")
def runs(encarta: RunningSandbox, airflow_stack: AirflowStack) -> Runs:
    return Runs(airflow_stack, encarta)
