"""``./dev test`` without arguments: the whole suite in lanes, separate pytest processes run at once.

The runtime tier's migrations (Airflow's own scheduler and triggerer, each test module on a world of
its own) spend much of their time waiting out wall-clock windows (a throughput window after each
catch-up, a maintenance window, an outage), so the tier runs beside everything else. Two Airflow
stacks at once saturate the 2 cores: a third lane (the runtime tier split over two stacks) took
longer, and so did the browser test in the other lane (34:24 against 34:07 in all; the tests of
both stacks slowed by a quarter).
Each lane's output is printed whole when it ends (live in its log file); the exit status is the
first failing lane's, or 0.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

LANES: dict[str, list[str]] = {
    "runtime tier (the real scheduler; the browser test)": ["-m", "runtime"],
    "everything else": ["-m", "not runtime"],
}


@dataclass
class Lane:
    name: str
    args: list[str]
    log: Path
    started: float = field(default_factory=time.monotonic)
    process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "pytest", *self.args], stdout=out,
                                            stderr=subprocess.STDOUT)
        print(f"lane started: {self.name} (pytest {' '.join(self.args)}; live in {self.log})", flush=True)

    def report(self) -> int:
        code = self.process.returncode
        print(f"\n{'=' * 20} lane: {self.name}: exit {code} after {time.monotonic() - self.started:.0f} s {'=' * 20}")
        print(self.log.read_text(errors="replace"), flush=True)
        return code


def main() -> int:
    directory = Path(tempfile.mkdtemp(prefix="test-lanes-"))
    lanes = [Lane(name, args, directory / f"lane-{n}.log") for n, (name, args) in enumerate(LANES.items())]

    def stop(signum: int, frame: FrameType | None) -> None:
        # SIGINT, as Ctrl-C: pytest tears its fixtures (Airflow stacks, sandboxes) down; SIGTERM
        # can meet a handler that Airflow installed (dag.test) and be ignored
        for lane in lanes:
            if lane.process is not None and lane.process.poll() is None:
                lane.process.send_signal(signal.SIGINT)
        for lane in lanes:
            if lane.process is not None:
                try:
                    lane.process.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    lane.process.kill()
        sys.exit(128 + signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for lane in lanes:
        lane.start()
    codes, running = [], list(lanes)
    while running:
        for lane in [lane for lane in running if lane.process.poll() is not None]:
            codes.append(lane.report())
            running.remove(lane)
        time.sleep(1)
    failed = [code for code in codes if code]
    print(f"lanes: {len(lanes) - len(failed)} of {len(lanes)} passed")
    return failed[0] if failed else 0


if __name__ == "__main__":
    sys.exit(main())
