"""Success criteria of a migration and alert thresholds of the daily health check, as verdicts.

The guide's numbers are the defaults (every one is a DAG param): after a migration throughput
>= 95 % of the baseline, latency <= 105 %, error rate <= 0.1 %, freshness <= 2 minutes; the
health check alerts on lag > 5 minutes, no updates for > 30 minutes, error rate > 1 %, throughput
< 80 % of the recorded baseline. A measurement that is missing is reported as *not measured*,
never as a pass. A migration's throughput shortfall within the counting noise of a quiet table's
few records passes, saying so (:func:`throughput_judged`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

PASS, FAIL, NOT_MEASURED = "pass", "fail", "not measured"


@dataclass(frozen=True)
class Verdict:
    """One criterion judged: what was measured, against which limit, and the outcome."""

    name: str
    subject: str  # the table or statement it is about ("all" for the whole pipeline)
    measured: float | None
    limit: float
    comparison: str  # ">=" or "<="
    outcome: str
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome == FAIL

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        measured = "n/a" if self.measured is None else f"{self.measured:g}"
        text = f"{self.outcome.upper():<12} {self.name} [{self.subject}]: {measured} {self.comparison} {self.limit:g}"
        return text + (f" ({self.detail})" if self.detail else "")


def judge(name: str, subject: str, measured: float | None, comparison: str, limit: float,
          detail: str = "") -> Verdict:
    """``measured`` against ``limit`` (``>=`` or ``<=``); None is *not measured*."""
    if comparison not in (">=", "<="):
        raise ValueError(f"comparison must be '>=' or '<=', not {comparison!r}")
    if measured is None:
        outcome = NOT_MEASURED
    elif comparison == ">=":
        outcome = PASS if measured >= limit else FAIL
    else:
        outcome = PASS if measured <= limit else FAIL
    return Verdict(name, subject, measured, limit, comparison, outcome, detail)


def ratio(value: float | None, baseline: float | None) -> float | None:
    """``value / baseline``; None when either is unknown, or the baseline is zero (nothing to compare)."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


@dataclass(frozen=True)
class Measurements:
    """What the pipelines did over a window: all optional, since not every API reports every figure."""

    throughput: float | None = None  # records in per second, all statements
    latency_seconds: float | None = None
    error_rate: float | None = None  # failed records / records (0..1)
    freshness_seconds: float | None = None  # now - the newest value of the freshness column, worst table
    lag_seconds: float | None = None  # how far behind its sources the slowest statement is

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Measurements:
        data = data or {}
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class SuccessCriteria:
    """After a migration, against the baseline captured in pre-flight."""

    throughput_min_ratio: float = 0.95
    latency_max_ratio: float = 1.05
    error_rate_max: float = 0.001
    freshness_max_seconds: float = 120.0
    window_minutes: int = 5  # throughput and the baseline are rates over windows this long

    def evaluate(self, baseline: Measurements, after: Measurements) -> list[Verdict]:
        return [
            throughput_judged(after.throughput, baseline.throughput, self.throughput_min_ratio,
                              self.window_minutes * 60),
            judge("latency vs baseline", "all", ratio(after.latency_seconds, baseline.latency_seconds), "<=",
                  self.latency_max_ratio),
            judge("error rate", "all", after.error_rate, "<=", self.error_rate_max),
            judge("freshness (s)", "all", after.freshness_seconds, "<=", self.freshness_max_seconds),
        ]


def throughput_judged(after: float | None, baseline: float | None, min_ratio: float, seconds: float) -> Verdict:
    """Records per second after against the baseline, both over windows of ``seconds``. A rate is a
    count of records, which varies by about its square root from one window to the next: a shortfall
    within twice that (a few records of a quiet table; nothing at production rates) passes, saying so."""
    if baseline is None:
        return judge("throughput vs baseline", "all", None, ">=", min_ratio,
                     "no steady baseline (see capture_baseline_metrics)")
    verdict = judge("throughput vs baseline", "all", ratio(after, baseline), ">=", min_ratio,
                    f"{after} vs {baseline} records/s")
    if verdict.failed:
        wanted, counted, noise = min_ratio * baseline * seconds, after * seconds, 2 * math.sqrt(baseline * seconds)
        if counted >= wanted - noise:
            return replace(verdict, outcome=PASS, detail=f"{verdict.detail}; {counted:.0f} records against "
                           f"{baseline * seconds:.0f}: short by less than the counting noise ({noise:.0f})")
    return verdict


@dataclass(frozen=True)
class HealthThresholds:
    """The guide's alert thresholds for the daily health check."""

    lag_max_seconds: float = 300.0
    stale_max_seconds: float = 1800.0
    error_rate_max: float = 0.01
    throughput_min_ratio: float = 0.80

    def evaluate(self, baseline: Measurements | None, now: Measurements) -> list[Verdict]:
        verdicts = [
            judge("pipeline lag (s)", "all", now.lag_seconds, "<=", self.lag_max_seconds),
            judge("seconds since last update", "all", now.freshness_seconds, "<=", self.stale_max_seconds),
            judge("error rate", "all", now.error_rate, "<=", self.error_rate_max),
        ]
        if baseline is not None:
            verdicts.append(judge("throughput vs baseline", "all", ratio(now.throughput, baseline.throughput), ">=",
                                  self.throughput_min_ratio, f"{now.throughput} vs {baseline.throughput} records/s"))
        return verdicts


def failures(verdicts: Iterable[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.failed]
