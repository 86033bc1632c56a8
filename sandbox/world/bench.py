"""``python -m sandbox.world.bench``: the changes per second the encarta world's v1 pipelines sustain,
and what they cost, for estates of several sizes (issue 13, item 6).

    python -m sandbox.world.bench [--copies 1 10] [--rates 20] [--seconds 60] [--idle-seconds 15]

For each size (``--copies`` of the project's four tables, written by ``benchmarks.estate``: 4 and 40
pipelines by default) it starts a sandbox server with ``--world encarta --manifest <the estate>`` in
a throw-away data directory, as an operator would, and reads it only over HTTP, and the server's CPU
time from ``/proc``. Prints the world's build time and rows, then, for each rate, sets the change
generator to it (``POST /sandbox/v1/world/rate``), watches for a while and prints: the changes made
and applied per second, the backlog (made - applied) at the end, the lag (age of the oldest change
not yet applied; mean and max over the samples), the largest ``pending_records`` the Metrics API
reported per pipeline, and the server's CPU seconds per second (serving the bench's three requests
a sample included). Then it pauses the generator, measures how long the pipelines take to apply
everything, and the CPU seconds per second of the idle world (no changes, no requests). Finally the
largest size against the smallest: the ratios of the lags and of the CPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import requests

from benchmarks.estate import write_estate
from sandbox.config import SandboxConfig
from sandbox.process import SandboxProcess
from sandbox.world.status import pending_records, wait_until_ready, world

SAMPLE_SECONDS = 0.5


@dataclass
class Watch:
    """What one rate did."""

    rate: float
    seconds: float
    made: int = 0
    applied: int = 0
    backlog: int = 0
    lags: list[float] = field(default_factory=list)
    pending: dict[str, float] = field(default_factory=dict)
    cpu: float = 0.0  # the server's CPU seconds per second

    @property
    def mean_lag(self) -> float:
        return statistics.fmean(self.lags or [0.0])

    @property
    def max_lag(self) -> float:
        return max(self.lags or [0.0])

    def line(self) -> str:
        pending = max(self.pending.values(), default=0)
        return (f"{self.rate:>8.0f} {self.made / self.seconds:>8.1f} {self.applied / self.seconds:>8.1f} "
                f"{self.backlog:>8d} {self.mean_lag:>8.2f} {self.max_lag:>8.2f} {pending:>10.0f} "
                f"{self.cpu:>8.2f}")


HEADER = (f"{'offered':>8} {'made/s':>8} {'applied/s':>8} {'backlog':>8} {'lag s':>8} {'max lag':>8} "
          f"{'max pending':>10} {'CPU s/s':>8}")


@dataclass
class Size:
    """What one estate size did."""

    pipelines: int
    watches: list[Watch]
    idle_cpu: float


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds process ``pid`` has used (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # from field 3, state
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, sandbox: SandboxProcess) -> None:
        self.url = sandbox.config.url
        self.auth = (sandbox.config.api_key, sandbox.config.api_secret)
        self.pid = sandbox.proc.pid

    def control(self, path: str, **params: object) -> dict:
        response = requests.post(f"{self.url}/sandbox/v1/world{path}", params=params, auth=self.auth,
                                 timeout=60)
        response.raise_for_status()
        return response.json()

    def lag(self, applied: int, made: int) -> float:
        """Seconds since the oldest change not applied yet was made (0 when all are applied)."""
        if applied >= made:
            return 0.0
        response = requests.get(f"{self.url}/sandbox/v1/world/changes", params={"since": applied, "limit": 1},
                                auth=self.auth, timeout=30)
        response.raise_for_status()
        oldest = datetime.fromisoformat(response.json()["data"][0]["wall_time"])
        return (datetime.now(timezone.utc) - oldest).total_seconds()

    def watch(self, rate: float, seconds: float) -> Watch:
        began, cpu = time.monotonic(), cpu_seconds(self.pid)
        doc = self.control("/rate", changes_per_second=rate)
        names = [p["statement"] for p in doc["pipelines"]]
        start = changes = doc["changes"]
        result = Watch(rate, seconds)
        while time.monotonic() - began < seconds:
            time.sleep(SAMPLE_SECONDS)
            changes = world(self.url, self.auth, timeout=60, tables=False)["changes"]
            result.lags.append(self.lag(changes["applied"], changes["made"]))
            for name, value in pending_records(self.url, self.auth, names).items():
                result.pending[name] = max(result.pending.get(name, 0), value or 0)
        result.seconds = time.monotonic() - began
        result.cpu = (cpu_seconds(self.pid) - cpu) / result.seconds
        result.made, result.applied = changes["made"] - start["made"], changes["applied"] - start["applied"]
        result.backlog = changes["made"] - changes["applied"]
        return result

    def drain(self, timeout: float = 300) -> float:
        """Pause the generator; seconds until every change made is applied."""
        self.control("/pause")
        began = time.monotonic()
        while (c := world(self.url, self.auth, timeout=60, tables=False)["changes"])["applied"] < c["made"]:
            if time.monotonic() - began > timeout:
                raise TimeoutError(f"the pipelines did not apply {c['made'] - c['applied']} changes "
                                   f"in {timeout:.0f}s")
            time.sleep(0.1)
        return time.monotonic() - began

    def idle(self, seconds: float) -> float:
        """The server's CPU seconds per second over ``seconds`` without requests."""
        cpu = cpu_seconds(self.pid)
        time.sleep(seconds)
        return (cpu_seconds(self.pid) - cpu) / seconds


def measure(copies: int, folder: Path, args: argparse.Namespace) -> Size:
    """Build the world of ``copies`` copies of the tables in ``folder``, watch it at each rate, then idle."""
    config = SandboxConfig(data_dir=folder / "data", port=0, world="encarta", changes_per_second=0,
                           manifest=write_estate(copies, folder / "estate"))
    began = time.monotonic()
    with SandboxProcess(config) as sandbox:
        bench = Bench(sandbox)
        wait_until_ready(sandbox.config.url, bench.auth, timeout=900)
        ready = time.monotonic() - began
        doc = world(sandbox.config.url, bench.auth, timeout=120)
        sources = sum(doc["tables"][name] for name in doc["sources"])
        derived = sum(doc["tables"][p["table"]] for p in doc["pipelines"])
        pipelines = len(doc["pipelines"])
        print(f"\n{pipelines} pipelines: world built in {doc['build_seconds']:.1f}s (ready over HTTP after "
              f"{ready:.1f}s); {len(doc['sources'])} source tables of {sources} rows, {pipelines} derived "
              f"tables of {derived} rows")
        print(HEADER)
        watches = []
        for rate in args.rates:
            watches.append(bench.watch(rate, args.seconds))
            print(watches[-1].line(), flush=True)
        print(f"paused: every change applied {bench.drain():.1f}s later", flush=True)
        idle = bench.idle(args.idle_seconds)
        print(f"idle (no changes, no requests, {args.idle_seconds:.0f}s): {idle:.3f} CPU s/s", flush=True)
    return Size(pipelines, watches, idle)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "-"


def compare(large: Size, small: Size) -> None:
    """The ratios of the lags and the CPU of ``large`` to ``small``'s."""
    print(f"\n{large.pipelines} vs {small.pipelines} pipelines:")
    print(f"{'offered':>8} {'lag':>8} {'max lag':>8} {'CPU s/s':>8}")
    for big, little in zip(large.watches, small.watches):
        lags = ratio(big.mean_lag, little.mean_lag), ratio(big.max_lag, little.max_lag)
        print(f"{big.rate:>8.0f} {lags[0]:>8} {lags[1]:>8} {ratio(big.cpu, little.cpu):>8}")
    print(f"{'idle':>8} {'':>8} {'':>8} {ratio(large.idle_cpu, small.idle_cpu):>8}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 10],
                        help="estate sizes, in copies of the project's tables (default: 4 and 40 pipelines)")
    parser.add_argument("--rates", type=float, nargs="+", default=[20])
    parser.add_argument("--seconds", type=float, default=60.0, help="watch each rate this long")
    parser.add_argument("--idle-seconds", type=float, default=15.0, help="measure the idle world this long")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [measure(copies, Path(tmp) / f"copies-{copies}", args) for copies in args.copies]
    if len(sizes) > 1:
        compare(sizes[-1], sizes[0])


if __name__ == "__main__":
    main()
