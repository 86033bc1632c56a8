"""The Confluent Cloud Metrics API: one query for a metric of many Flink statements.

Connection ``confluent_metrics_default``: host = Metrics API URL (``https://api.telemetry.confluent.cloud``),
login/password = a Cloud API key/secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from confluent_migration.hooks import METRICS_CONN_ID
from confluent_migration.hooks.base import ConfluentHttpHook

QUERY_PATH = "/v2/metrics/cloud/query"
PENDING_RECORDS = "io.confluent.flink/pending_records"
STATEMENT_NAME = "resource.flink_statement.name"


def statement_metric_query(metric: str, statement_names: Sequence[str], lookback: timedelta,
                           now: datetime | None = None) -> dict[str, Any]:
    """The body of one query for ``metric`` of every named statement, grouped by statement, per minute."""
    end = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    start = end - lookback
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "aggregations": [{"metric": metric, "agg": "SUM"}],
        "filter": {"op": "OR",
                   "filters": [{"field": STATEMENT_NAME, "op": "EQ", "value": n} for n in statement_names]},
        "granularity": "PT1M",
        "intervals": [f"{start.strftime(stamp)}/{end.strftime(stamp)}"],
        "group_by": [STATEMENT_NAME],
        "limit": 1000,
    }


def latest_by_statement(data: list[dict[str, Any]]) -> dict[str, float]:
    """The most recent value of each statement in a flat query response's ``data``."""
    latest: dict[str, tuple[str, float]] = {}
    for point in data:
        name = point.get(STATEMENT_NAME)
        if name is not None and (name not in latest or point["timestamp"] > latest[name][0]):
            latest[name] = (point["timestamp"], point["value"])
    return {name: value for name, (_, value) in latest.items()}


class ConfluentMetricsHook(ConfluentHttpHook):
    """Flink statement metrics, many statements per call."""

    default_conn_name = METRICS_CONN_ID
    hook_name = "Confluent Metrics API"

    def statement_metric(self, metric: str, statement_names: Sequence[str],
                         lookback: timedelta = timedelta(minutes=10)) -> dict[str, float]:
        """Latest value of ``metric`` per statement; a statement without data points is absent."""
        body = statement_metric_query(metric, statement_names, lookback)
        response = self.request("POST", QUERY_PATH, what=f"metric {metric} of {', '.join(statement_names)}", json=body)
        return latest_by_statement(response.json().get("data") or [])

    async def astatement_metric(self, metric: str, statement_names: Sequence[str],
                                lookback: timedelta = timedelta(minutes=10)) -> dict[str, float]:
        body = statement_metric_query(metric, statement_names, lookback)
        _, data = await self.arequest("POST", QUERY_PATH, what=f"metric {metric} of {', '.join(statement_names)}",
                                      json=body)
        return latest_by_statement((data or {}).get("data") or [])


def lagging(pending: dict[str, float], statement_names: Sequence[str], threshold: float) -> dict[str, float | None]:
    """Statements not caught up: more than ``threshold`` pending records, or no data (None)."""
    return {n: pending.get(n) for n in statement_names if pending.get(n) is None or pending[n] > threshold}
