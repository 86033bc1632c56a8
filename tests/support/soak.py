"""Soak: many migrations in a row under Airflow's real scheduler, each followed by its rollback.

    ./dev soak --runs 5 [--option A|B] [--cpu-load 4] [--max-minutes 60]

Starts one sandbox (encarta world, 5 changes/s) and one Airflow stack (api-server, scheduler,
DAG processor, triggerer; LocalExecutor, SQLite) in a temporary directory, then triggers the
option's migration through the REST API as the UI does and, after it, ``rollback_migration``
(a failed migration is rolled back too, so the next run starts from the v1 pipelines again).
``--cpu-load K`` runs K CPU-bound busy loops beside it: races between the triggerer, the executor
and the scheduler (e.g. a fast trigger against the executor's report of a deferring task) only show
on a busy host. Prints ``N succeeded of M`` and each failure's tasks and errors; stops everything
by itself, at the latest after ``--max-minutes``. Not part of CI. Exit code 0 when all succeeded.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox.alert_receiver import AlertReceiver
from sandbox.process import free_port
from sandbox.world.status import wait_until_ready
from tests.support.airflow_stack import AirflowStack, RunResult, stack_env
from tests.support.sandbox_fixtures import RunningSandbox, start_sandbox
from tests.support.world_checks import assert_no_change_lost

OPTIONS = {  # options whose rollback restores the v1 statements under their own names (chainable)
    "A": ("migrate_schema_registry_evolution", {}),
    "B": ("migrate_zero_downtime_dual_write", {"final_names": "v2", "require_approval": False}),
}
ERROR_LINE = re.compile(r"(Error|Exception|not in the running state|state attribute is|Task killed|shouldn't be running)")
RACE = re.compile(r"reported that the task instance <TaskInstance: (\S+) (\S+)(?: map_index=(\d+))? \[\w+\][^>]*> "
                  r"finished with state (\w+), but the task instance's state attribute is (\w+)")


def errors_of(result: RunResult, scheduler_log: str) -> list[str]:
    """The failed tasks and the error lines of their logs; the scheduler's reports of a task whose
    executor state and TI state disagreed during the run."""
    lines = [line.strip() for line in result.failures.splitlines()
             if line.startswith("task ") or ERROR_LINE.search(line)]
    for match in RACE.finditer(scheduler_log):
        if match.group(2) == result.run_id:
            lines.append(f"scheduler: executor reported {match.group(1)}[{match.group(3) or -1}] finished "
                         f"{match.group(4)} while its TI was {match.group(5)}")
    return list(dict.fromkeys(lines))


def final_tables(option: str) -> dict[str, str] | None:
    """Where the migrated rows are: option B (final_names=v2) leaves them in the ``_v2`` tables."""
    from confluent_migration.migration.manifest import load_manifest
    from confluent_migration.migration.plans import v2_table

    return {s.name: v2_table(s.flink_table) for s in load_manifest().tables} if option == "B" else None


def changes_lost(sandbox: RunningSandbox, migrated: bool, final: dict[str, str] | None) -> str:
    """After a successful migration: '' when every source change made so far is in the final tables,
    else what is missing (the generator is paused while checking, and resumed)."""
    from confluent_migration.migration.manifest import load_manifest

    if not migrated:
        return ""
    try:
        checked = assert_no_change_lost(sandbox, load_manifest(), final)
        print(f"    {checked} source changes checked: none lost", flush=True)
        return ""
    except AssertionError as missing:
        return str(missing).splitlines()[0]


def busy_loops(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
            for _ in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="migrations to run, each followed by its rollback")
    parser.add_argument("--option", choices=sorted(OPTIONS), default="A",
                        help="A (default) or B with final_names=v2: their rollbacks restore the v1 statements' names")
    parser.add_argument("--cpu-load", type=int, default=0, help="CPU-bound busy loops beside the stack")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop after this long (default: 10 + 12 per run)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (logs) afterwards")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + 60 * (args.max_minutes or 10 + 12 * args.runs)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop everything on SIGTERM as on Ctrl-C

    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    print(f"soak: {args.runs} x option {args.option} + rollback, {args.cpu_load} busy loops; logs in {workdir}")
    port = free_port()
    sandbox = stack = None
    loops: list[subprocess.Popen] = []
    outcomes: list[tuple[int, bool, list[str]]] = []
    dag_id, extra = OPTIONS[args.option]
    try:
        sandbox = start_sandbox(workdir / "sandbox", port=port, world="encarta", changes_per_second=5.0)
        os.environ.update(sandbox.connection_env())  # the change check reads the tables through the hooks
        alerts = AlertReceiver(log=workdir / "alerts.log").start()
        stack = AirflowStack(workdir / "airflow", stack_env(workdir / "airflow", port, alerts))
        stack.start()
        wait_until_ready(sandbox.url, sandbox.auth, timeout=300)
        client = stack.client
        client.wait_for_dags([dag_id, "rollback_migration"], alive=stack.check_alive)
        for dag in (dag_id, "rollback_migration"):
            client.unpause(dag)
        loops = busy_loops(args.cpu_load)
        database = sandbox.config.database
        scheduler_log = stack.log_dir / "scheduler.log"
        for n in range(1, args.runs + 1):
            left = deadline - time.monotonic()
            if left < 60:
                print(f"run {n}: not started, the {args.max_minutes or 10 + 12 * args.runs:.0f} min limit is near")
                break
            migration = client.run(dag_id, {"dry_run": False, "confirm": database, "criteria_window_minutes": 1,
                                            **extra}, timeout=left,
                                   alive=stack.check_alive)
            lost = changes_lost(sandbox, migration.state == "success", final_tables(args.option))
            rollback = client.run("rollback_migration", {"confirm": database, "mode": "planned",
                                                         "migration_run": migration.run_id},
                                  timeout=max(60.0, deadline - time.monotonic()), alive=stack.check_alive)
            log = scheduler_log.read_text(errors="replace")
            errors = [f"{dag_id}: {e}" for e in errors_of(migration, log)]
            errors += [f"rollback_migration: {e}" for e in errors_of(rollback, log)]
            errors += [f"changes lost: {lost}"] if lost else []
            ok = migration.state == "success" and rollback.state == "success" and not lost
            outcomes.append((n, ok, errors))
            print(f"run {n}: migration {migration.state} in {migration.seconds:.0f}s, rollback {rollback.state} "
                  f"in {rollback.seconds:.0f}s, changes lost: {lost or 0}", flush=True)
            for error in errors:
                print(f"    {error}", flush=True)
    finally:
        for proc in loops:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if stack is not None:
            stack.stop()
        if sandbox is not None:
            sandbox.process.stop()
    succeeded = sum(ok for _, ok, _ in outcomes)
    print(f"\n{succeeded} succeeded of {len(outcomes)}" + (f" ({args.runs} asked)" if len(outcomes) != args.runs else ""))
    for n, ok, errors in outcomes:
        if not ok:
            print(f"run {n} failed:\n" + "\n".join(f"    {e}" for e in errors or ["(no error found in the logs)"]))
    if args.keep or succeeded < len(outcomes):
        print(f"logs: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if succeeded == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
