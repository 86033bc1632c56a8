"""A 20 s outage of the Confluent APIs at the worst moment of a migration under the scheduler:
right after a v1 statement stopped, before its v2 statement starts. Every request of the Airflow
components meanwhile has its connection reset (a fault proxy sits between them and the sandbox).
Tasks retry what is safe to retry, and the run completes with no source change lost."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration.plans import new_statement_name
from sandbox.process import free_port
from tests.runtime.checks import MANIFEST
from tests.runtime.conftest import CRITERIA_WINDOW_MINUTES, RUN_TIMEOUT
from tests.support.airflow_stack import TERMINAL
from tests.support.fault_proxy import FaultProxy
from tests.support.world_checks import assert_no_change_lost

pytestmark = pytest.mark.runtime
DAG_ID = "migrate_schema_registry_evolution"
STOPPED_V1 = "phase_3_replace_pipelines.level_0_stop_v1[0]"
OUTAGE_SECONDS = 20


@pytest.fixture(scope="module")
def world_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def proxy(encarta, sandbox_port: int) -> Iterator[FaultProxy]:
    """The fault proxy on the port the stack's connections point at, forwarding to the world."""
    with FaultProxy(encarta.url, port=sandbox_port, lifetime=3 * RUN_TIMEOUT, max_requests=1_000_000) as running:
        yield running


def test_a_20_s_outage_between_a_v1_stop_and_its_v2_start_is_survived(runs, proxy, encarta):
    uoms = MANIFEST.table("skus_uoms_agg")
    client = runs.stack.client
    runs.wait_until_steady()
    run_id = client.trigger(DAG_ID, {"dry_run": False, "confirm": runs.database, "tables": [uoms.name],
                                     "criteria_window_minutes": CRITERIA_WINDOW_MINUTES})
    deadline = time.monotonic() + RUN_TIMEOUT
    while client.task_states(DAG_ID, run_id).get(STOPPED_V1) != "success":
        assert client.dag_run(DAG_ID, run_id)["state"] not in TERMINAL, client.failures(DAG_ID, run_id)
        assert time.monotonic() < deadline, f"{STOPPED_V1} did not succeed in {RUN_TIMEOUT}s"
        runs.stack.check_alive()
        time.sleep(0.5)
    proxy.outage(OUTAGE_SECONDS)  # v1 stopped, v2 not started: the table has no writer meanwhile

    result = client.wait(DAG_ID, run_id, RUN_TIMEOUT, alive=runs.stack.check_alive)
    assert result.state == "success", result.why()
    refused = proxy.done("outage")
    assert refused, "no request met the outage"
    retried = {t["task_id"]: t["try_number"] for t in client.task_instances(DAG_ID, run_id) if t["try_number"] > 1}
    print(f"{len(refused)} requests refused during the {OUTAGE_SECONDS} s outage; tasks retried: {retried}")
    assert FlinkStatementsHook().get_statement(new_statement_name(uoms, run_id)).phase == "RUNNING"
    print(f"{assert_no_change_lost(encarta, MANIFEST, migrated={uoms.name})} source changes are in the tables")
