"""``./dev bench benchmarks.migration``: a migration's wall time and each table's write gap, for
estates of different sizes side by side, under the real scheduler (issue 13, items 1 and 3).

Per size (``--copies 1 10``: 4 and 40 tables), in a throw-away folder: writes the estate
(:mod:`benchmarks.estate`), starts a sandbox whose world runs the estate's v1 pipelines under the
same change rate, and the four Airflow components (LocalExecutor, ``--parallelism`` task slots) with
``CONFLUENT_MIGRATION_MANIFEST`` naming the estate. Once the v1 pipelines have run a throughput
window, it triggers the option's DAG as the UI does and waits for its end. Prints per size the run's
wall time and outcome, and the write gaps from its ledger (a table's v1 statement stopped to its new
statement started: the longest, the mean); then the ratios of the largest size to the smallest.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from airflow.sdk import ObjectStoragePath

from benchmarks.estate import write_estate
from confluent_migration.migration.ledger import Ledger, Step
from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.plans import new_statement_name
from confluent_migration.migration.report import write_gaps
from confluent_migration.migration.summary import seconds_between
from sandbox.alert_receiver import AlertReceiver
from sandbox.config import SandboxConfig
from sandbox.demo import OPTIONS
from sandbox.process import SandboxProcess, free_port
from sandbox.world.status import wait_until_ready
from tests.support.airflow_stack import AirflowStack, ledger_folder, stack_env

WINDOW_MINUTES = 1  # the run's throughput window (the form's shortest), the same for every size


@dataclass
class Measured:
    tables: int
    seconds: float
    outcome: str
    gaps: list[float]
    parts: dict[str, float]  # the mean write gap's parts: the stop's wait, stopped to create, the create's wait
    steps: dict[str, tuple[int, float, float]]  # task id -> (instances, span s, summed run s)

    def line(self) -> str:
        gaps = self.gaps or [float("nan")]
        parts = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.parts.items())
        return (f"{self.tables:>7} {self.seconds:>9.0f} {max(gaps):>11.1f} {statistics.fmean(gaps):>11.1f}"
                f"  {self.outcome}" + (f" (gap parts, mean s: {parts})" if parts else ""))


def measure(copies: int, option: str, rate: float, parallelism: int, workdir: Path) -> Measured:
    """One migration of ``copies`` copies of the estate under the scheduler; its figures."""
    manifest_path = write_estate(copies, workdir / "estate")
    manifest = load_manifest(manifest_path)
    port = free_port()
    alerts = AlertReceiver(log=workdir / "alerts.log").start()
    config = SandboxConfig(data_dir=workdir / "sandbox", port=port, world="encarta", changes_per_second=rate,
                           manifest=manifest_path)
    env = {**stack_env(workdir, port, alerts), "CONFLUENT_MIGRATION_MANIFEST": str(manifest_path)}
    dag_id = OPTIONS[option]
    with SandboxProcess(config) as sandbox, AirflowStack(workdir / "stack", env, parallelism=parallelism) as stack:
        stack.client.wait_for_dags([dag_id], alive=stack.check_alive)
        stack.client.unpause(dag_id)
        wait_until_ready(sandbox.config.url, (config.api_key, config.api_secret), timeout=900)
        time.sleep(WINDOW_MINUTES * 60)  # a baseline window of running v1 pipelines, as before any migration
        conf = {"dry_run": False, "confirm": config.database, "criteria_window_minutes": WINDOW_MINUTES}
        result = stack.client.run(dag_id, conf, timeout=7200, approve="Approve", alive=stack.check_alive)
    alerts.stop()
    steps = Ledger(ObjectStoragePath(f"file://{ledger_folder(workdir)}"), result.run_id).steps()
    old = {t.name: t.v1.statement for t in manifest.tables}
    new = {t.name: new_statement_name(t, result.run_id) for t in manifest.tables}
    gaps = [g for g in write_gaps(steps, old, new).values() if g is not None]
    return Measured(len(manifest.tables), result.seconds, result.state, gaps, gap_parts(steps, old, new),
                    task_steps(stack.home / "airflow.db", result.run_id))


def gap_parts(steps: list[Step], old: dict[str, str], new: dict[str, str]) -> dict[str, float]:
    """Where a table's write gap goes, averaged over the tables: the stop (PUT to STOPPED), stopped to
    the create's submit, the create (submit to RUNNING); empty where no table has a gap."""
    def first(kind: str, name: str) -> Step | None:
        return next((s for s in steps if s.kind == kind and s.data.get("statement_name") == name and s.done_at), None)

    parts: dict[str, list[float]] = {"stop": [], "stopped to create": [], "create": []}
    for table, writer in old.items():
        stop, create = first("statement_stopped", writer), first("statement_created", new[table])
        if stop and create and stop.at <= create.at:  # option B's new writer runs before the old one stops
            parts["stop"].append(seconds_between(stop.at, stop.done_at))
            parts["stopped to create"].append(seconds_between(stop.done_at, create.at))
            parts["create"].append(seconds_between(create.at, create.done_at))
    return {name: statistics.fmean(values) for name, values in parts.items() if values}


def task_steps(db: Path, run_id: str) -> dict[str, tuple[int, float, float]]:
    """Per task of the run (mapped instances together): how many ran, first start to last end, and
    the sum of their run times, from the metadata database."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT task_id, count(*), (julianday(max(end_date)) - julianday(min(start_date))) * 86400,"
            " sum(duration) FROM task_instance WHERE run_id = ? AND start_date IS NOT NULL"
            " GROUP BY task_id ORDER BY min(start_date)", (run_id,)).fetchall()
    return {task: (n, span or 0.0, run or 0.0) for task, n, span, run in rows}


def print_steps(results: list[Measured]) -> None:
    """Each task's span per size side by side, and its ratio: where the time of a larger estate goes."""
    small, large = results[0], results[-1]
    print(f"\n{'task (span s; instances)':<62}" + "".join(f"{m.tables:>14}" for m in (small, large)) + "   ratio")
    for task, (n, span, _) in large.steps.items():
        n0, span0, _ = small.steps.get(task, (0, 0.0, 0.0))
        ratio = f"{span / span0:7.1f}x" if span0 > 0.5 else ""
        print(f"{task:<62}{span0:>9.1f} ({n0:>2}){span:>9.1f} ({n:>2}){ratio}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 10], help="estate sizes (4 tables per copy)")
    parser.add_argument("--option", choices=sorted(OPTIONS), default="A", help="option B's approvals are given at once")
    parser.add_argument("--rate", type=float, default=5.0, help="source changes per second, the same for each size")
    parser.add_argument("--parallelism", type=int, default=4, help="the executor's task slots")
    args = parser.parse_args(argv)
    print(f"option {args.option}, {args.rate:g} changes/s, {args.parallelism} task slots, "
          f"a {WINDOW_MINUTES}-minute throughput window in every run")
    print(f"{'tables':>7} {'wall s':>9} {'max gap s':>11} {'mean gap s':>11}  outcome", flush=True)
    results = []
    for copies in args.copies:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(measure(copies, args.option, args.rate, args.parallelism, Path(tmp)))
        print(results[-1].line(), flush=True)
    small, large = results[0], results[-1]
    if large is not small:
        gaps = (f", longest write gap {max(large.gaps) / max(small.gaps):.1f}x, "
                f"mean write gap {statistics.fmean(large.gaps) / statistics.fmean(small.gaps):.1f}x"
                if min(small.gaps or [0]) > 0 and large.gaps else "")  # option B writes on: no gap
        print(f"{large.tables} vs {small.tables} tables: wall time {large.seconds / small.seconds:.1f}x{gaps}")
        print_steps(results)


if __name__ == "__main__":
    main()
