"""``python -m sandbox.world.bench``: the changes per second the encarta world's four v1 pipelines sustain.

Starts a sandbox server with ``--world encarta`` in a throw-away data directory, as an operator
would, and reads it only over HTTP. Prints the world's build time and rows per table, then, for each
rate, sets the change generator to it (``POST /sandbox/v1/world/rate``), watches for a while and
prints: the changes made and applied per second, the backlog (made - applied) at the end, the lag
(age of the oldest change not yet applied; mean and max over the samples), and the largest
``pending_records`` the Metrics API reported per pipeline. Finally it pauses the generator and
measures how long the pipelines take to apply everything.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import requests

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

    def line(self) -> str:
        pending, lags = max(self.pending.values(), default=0), self.lags or [0.0]
        return (f"{self.rate:>8.0f} {self.made / self.seconds:>8.1f} {self.applied / self.seconds:>8.1f} "
                f"{self.backlog:>8d} {statistics.fmean(lags):>8.2f} {max(lags):>8.2f} {pending:>10.0f}")


class Bench:
    def __init__(self, sandbox: SandboxProcess) -> None:
        self.url = sandbox.config.url
        self.auth = (sandbox.config.api_key, sandbox.config.api_secret)

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
        began = time.monotonic()
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[5, 20, 50, 100])
    parser.add_argument("--seconds", type=float, default=20.0, help="watch each rate this long")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        config = SandboxConfig(data_dir=Path(tmp), port=0, world="encarta", changes_per_second=0)
        began = time.monotonic()
        with SandboxProcess(config) as sandbox:
            bench = Bench(sandbox)
            wait_until_ready(sandbox.config.url, bench.auth, timeout=600)
            ready = time.monotonic() - began
            doc = world(sandbox.config.url, bench.auth, timeout=120)
            print(f"world built in {doc['build_seconds']:.1f}s (ready over HTTP after {ready:.1f}s)")
            for name, rows in doc["tables"].items():
                print(f"  {name:<55} {rows:>7} rows")
            print(f"{'offered':>8} {'made/s':>8} {'applied/s':>8} {'backlog':>8} {'lag s':>8} {'max lag':>8} "
                  f"{'max pending':>10}")
            for rate in args.rates:
                print(bench.watch(rate, args.seconds).line(), flush=True)
            print(f"paused: every change applied {bench.drain():.1f}s later")


if __name__ == "__main__":
    main()
