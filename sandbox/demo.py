"""The main command (``./dev demo``): a migration end to end on the local sandbox.

Starts a fresh sandbox with the encarta world (its four pipelines RUNNING under live source
changes) in the background, points the Airflow connections at it, runs a migration DAG with
``airflow dags test`` in a project-local AIRFLOW_HOME and prints the run's summary and the world's
state (``--rollback`` then rolls it back).
``--ui`` instead starts ``airflow standalone`` on the same sandbox (``--airflow-port``), with a local
webhook receiver for the health check's alerts (printed as they arrive, kept in ``.sandbox/alerts.log``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from sandbox.alert_receiver import AlertReceiver
from sandbox.config import SandboxConfig
from sandbox.connections import airflow_connection_env
from sandbox.process import SandboxProcess, wait_until_ready
from sandbox.world import status, summary, wait_until_ready as wait_until_world_ready

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".sandbox" / "demo"
OPTIONS = {
    "A": "migrate_schema_registry_evolution",
    "B": "migrate_zero_downtime_dual_write",
    "C": "migrate_maintenance_window_recreate",
}
PID_FILE = ROOT / ".sandbox" / "demo.pid"


def _stop_previous() -> None:
    """Stop the sandbox an earlier demo left running, so that each demo starts from a fresh world."""
    if not PID_FILE.exists():
        return
    pid = int(PID_FILE.read_text())
    PID_FILE.unlink()
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def start_sandbox(port: int, changes_per_second: float, fresh: bool) -> SandboxProcess:
    config = SandboxConfig(data_dir=DATA_DIR, port=port, world="encarta", changes_per_second=changes_per_second)
    if not fresh and PID_FILE.exists():
        try:
            wait_until_ready(config, timeout=2)
            return SandboxProcess(config)  # already running: reuse it
        except (TimeoutError, RuntimeError):
            pass
    _stop_previous()
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    process = SandboxProcess(config, detach=True).start()
    PID_FILE.write_text(str(process.proc.pid))
    return process


def airflow_db_migrate() -> None:
    """``dag.test()`` and the UI need a migrated metadata DB; migrating an up-to-date one is a no-op."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


def run_dag(dag_id: str, conf: dict, log_path: Path) -> bool:
    """``airflow dags test`` (the real CLI: parse, serialize, run every task in-process); True on success."""
    with open(log_path, "w") as log:
        done = subprocess.run([sys.executable, "-m", "airflow", "dags", "test", dag_id, "-c", json.dumps(conf)],
                              stdout=log, stderr=subprocess.STDOUT, check=False)
    text = log_path.read_text()  # the CLI can exit 0 for a failed run: its last state line decides
    return done.returncode == 0 and any(mark in text for mark in ("state=success", "state=DagRunState.SUCCESS"))


def newest_report(ledger: Path, name: str) -> str:
    reports = sorted(ledger.glob(f"runs/*/{name}"), key=lambda p: p.stat().st_mtime)
    return reports[-1].read_text() if reports else f"(no {name} written under {ledger})"


def run_main_job(config: SandboxConfig, option: str, rollback: bool) -> int:
    """Migrate the live world with one option, print the run's summary; optionally roll it back."""
    auth = (config.api_key, config.api_secret)
    ledger = Path(os.environ["AIRFLOW_HOME"]) / "confluent-migration" / "ledger"
    os.environ["CONFLUENT_MIGRATION_LEDGER"] = f"file://{ledger}"
    os.environ.setdefault("CONFLUENT_MIGRATION_POLL_SECONDS", "2")
    logs = ROOT / ".sandbox" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    dag_id = OPTIONS[option]
    conf = {"dry_run": False, "confirm": config.database}
    print(f"\nmigrating with {dag_id} under live changes (log: {(logs / dag_id).relative_to(ROOT)}.log) ...")
    t0 = time.monotonic()
    ok = run_dag(dag_id, conf, logs / f"{dag_id}.log")
    print(newest_report(ledger, "summary.txt"))
    print(f"{dag_id}: {'succeeded' if ok else 'FAILED'} in {time.monotonic() - t0:.0f}s")
    print(summary(status(config.url, auth)))
    if ok and rollback:
        print("\nrolling back with rollback_migration ...")
        t0 = time.monotonic()
        ok = run_dag("rollback_migration", {"confirm": config.database, "mode": "planned"},
                     logs / "rollback_migration.log")
        print(f"rollback_migration: {'succeeded' if ok else 'FAILED'} in {time.monotonic() - t0:.0f}s")
        print(summary(status(config.url, auth)))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ui", action="store_true", help="run airflow standalone on the sandbox instead")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", 8085)), help="the sandbox's port")
    parser.add_argument("--airflow-port", type=int, default=int(os.environ.get("AIRFLOW_PORT", 8080)),
                        help="--ui: the Airflow UI's port (default 8080, env AIRFLOW_PORT)")
    parser.add_argument("--webhook-port", type=int, default=0,
                        help="--ui: the alert webhook receiver's port (default: a free one)")
    parser.add_argument("--changes-per-second", type=float, default=5.0)
    parser.add_argument("--option", choices=sorted(OPTIONS), default="A",
                        help="A: Schema Registry evolution (default), B: zero-downtime dual write, "
                        "C: maintenance-window recreate")
    parser.add_argument("--rollback", action="store_true", help="then roll the migration back")
    parser.add_argument("--keep-running", action="store_true",
                        help="leave the sandbox running after the demo (./dev ui reuses it)")
    args = parser.parse_args(argv)

    t0 = time.monotonic()
    sandbox = start_sandbox(args.port, args.changes_per_second, fresh=not args.ui)
    config = sandbox.config
    auth = (config.api_key, config.api_secret)
    os.environ.update(airflow_connection_env(config))
    print(f"sandbox: {config.url} (data in {config.data_dir.relative_to(ROOT)}), building the encarta world ...")
    wait_until_world_ready(config.url, auth)
    print(f"world ready in {time.monotonic() - t0:.1f}s")
    print(summary(status(config.url, auth)))
    airflow_db_migrate()

    if args.ui:
        alerts = AlertReceiver(args.webhook_port, log=ROOT / ".sandbox" / "alerts.log", echo=True).start()
        env = {**os.environ, **alerts.connection_env(), "AIRFLOW__API__PORT": str(args.airflow_port)}
        print(f"Airflow standalone on http://127.0.0.1:{args.airflow_port} (Ctrl-C stops it; the sandbox keeps "
              f"running); health-check alerts arrive at {alerts.url} (printed here, kept in .sandbox/alerts.log)")
        proc = subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env=env)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)  # standalone stops cleanly on SIGINT, not SIGTERM
            return proc.wait()

    try:
        return run_main_job(config, args.option, args.rollback)
    finally:
        if not args.keep_running:
            sandbox.stop()
            PID_FILE.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
