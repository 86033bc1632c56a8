"""Faults at the worst moment of a migration under the scheduler: right after a v1 statement
stopped, before its v2 statement runs, when the table has no writer. A fault proxy sits between the
Airflow components and the sandbox.

- A 20 s outage of the Confluent APIs: every request meanwhile has its connection reset.
- The worker running the v2 start killed with SIGKILL (task and supervisor) while its create is in
  flight: the scheduler finds the task without a heartbeat, fails it, and the retry adopts the
  statement the lost request created.

Tasks retry what is safe to retry, and each run completes with no source change lost."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration.manifest import TableSpec
from confluent_migration.migration.plans import new_statement_name
from sandbox.process import free_port
from tests.runtime.checks import MANIFEST
from tests.runtime.conftest import CRITERIA_WINDOW_MINUTES, RUN_TIMEOUT, Runs
from tests.support.airflow_stack import TERMINAL, RunResult, ti_key
from tests.support.fault_proxy import FaultProxy
from tests.support.world_checks import assert_no_change_lost

pytestmark = pytest.mark.runtime
DAG_ID = "migrate_schema_registry_evolution"
REGISTERED = "phase_2_schema_registry_updates.register_v2_schemas[0]"
REPLACE = "phase_3_replace_pipelines.level_0_replace_v1[0]"  # stops the v1 statement, then creates the v2 one
OUTAGE_SECONDS = 20


@pytest.fixture(scope="module")
def world_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def proxy(encarta, sandbox_port: int) -> Iterator[FaultProxy]:
    """The fault proxy on the port the stack's connections point at, forwarding to the world."""
    with FaultProxy(encarta.url, port=sandbox_port, lifetime=4 * RUN_TIMEOUT, max_requests=1_000_000) as running:
        yield running


def migrate_until(runs: Runs, table: TableSpec, task: str, state: str) -> str:
    """Trigger option A on ``table`` alone; return its run id once ``task`` is in ``state``."""
    client = runs.stack.client
    run_id = client.trigger(DAG_ID, {"dry_run": False, "confirm": runs.database, "tables": [table.name],
                                     "criteria_window_minutes": CRITERIA_WINDOW_MINUTES})
    deadline = time.monotonic() + RUN_TIMEOUT
    while client.task_states(DAG_ID, run_id).get(task) != state:
        assert client.dag_run(DAG_ID, run_id)["state"] not in TERMINAL, client.failures(DAG_ID, run_id)
        assert time.monotonic() < deadline, f"{task} was not {state} in {RUN_TIMEOUT}s"
        runs.stack.check_alive()
        time.sleep(0.2)
    return run_id


def completed_with_v2_writing(runs: Runs, encarta, table: TableSpec, run_id: str) -> RunResult:
    client = runs.stack.client
    result = client.wait(DAG_ID, run_id, RUN_TIMEOUT, alive=runs.stack.check_alive)
    assert result.state == "success", result.why()
    assert FlinkStatementsHook().get_statement(new_statement_name(table, run_id)).phase == "RUNNING"
    print(f"{assert_no_change_lost(encarta, MANIFEST, migrated={table.name})} source changes are in the tables")
    return result


def tries(runs: Runs, run_id: str) -> dict[str, int]:
    return {ti_key(t): t["try_number"] for t in runs.stack.client.task_instances(DAG_ID, run_id) if t["try_number"] > 1}


def test_a_20_s_outage_between_a_v1_stop_and_its_v2_start_is_survived(runs, proxy, encarta):
    uoms = MANIFEST.table("skus_uoms_agg")
    run_id = migrate_until(runs, uoms, REGISTERED, "success")
    # the next create is the v2 statement's, right after its v1 stopped: the API goes away for 20 s
    # from that request on, while the table has no writer
    proxy.add("POST", r"/statements$", "outage", seconds=OUTAGE_SECONDS)

    completed_with_v2_writing(runs, encarta, uoms, run_id)
    refused = proxy.done("outage")
    assert refused and (refused[0].method, refused[0].path.endswith("/statements")) == ("POST", True), refused[:1]
    assert FlinkStatementsHook().get_statement(uoms.v1.statement).phase == "STOPPED"
    print(f"{len(refused)} requests refused during the {OUTAGE_SECONDS} s outage; tasks retried: {tries(runs, run_id)}")


def worker_of(ti_id: str) -> tuple[int, int]:
    """(supervisor pid, task pid) of the task instance ``ti_id``: the task process is titled
    ``airflow worker -- <ti id>``, its parent is the executor's worker supervising it."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if f"airflow worker -- {ti_id}" in title:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                    return parent, int(entry.name)
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    raise LookupError(f"no process runs task instance {ti_id}")


def test_a_worker_killed_while_its_v2_create_is_in_flight_is_retried_and_the_run_completes(runs, proxy, encarta):
    classifications = MANIFEST.table("skus_classifications_agg")
    client = runs.stack.client
    run_id = migrate_until(runs, classifications, REGISTERED, "success")
    # the next create is the v2 statement's (its v1 just stopped), and it reaches the sandbox only
    # after 15 s: time to kill its worker
    delayed = proxy.add("POST", r"/statements$", "delay", seconds=15)
    deadline = time.monotonic() + 60
    while not delayed.applied:
        assert time.monotonic() < deadline, f"{REPLACE} sent no create in 60 s: {client.task_states(DAG_ID, run_id)}"
        time.sleep(0.1)
    [ti] = [t for t in client.task_instances(DAG_ID, run_id) if ti_key(t) == REPLACE]
    supervisor, task = worker_of(ti["id"])
    for pid in (task, supervisor):
        os.kill(pid, signal.SIGKILL)
    print(f"killed the worker of {REPLACE} (supervisor {supervisor}, task {task}) with its create in flight")

    completed_with_v2_writing(runs, encarta, classifications, run_id)
    retried = tries(runs, run_id)
    print(f"tasks retried: {retried}")
    assert retried.get(REPLACE, 1) > 1, retried
