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
QUERY_LIMIT = 1000  # points one query answers (the API's largest limit)


def statement_metric_query(metric: str, statement_names: Sequence[str], lookback: timedelta,
                           now: datetime | None = None, granularity: str = "PT1M") -> dict[str, Any]:
    """The body of one query for ``metric`` of every named statement, grouped by statement, per
    ``granularity`` (an ISO-8601 duration the API accepts: PT1M, PT5M, PT15M, PT30M, PT1H, ...)."""
    end = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    start = end - lookback
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "aggregations": [{"metric": metric, "agg": "SUM"}],
        "filter": {"op": "OR",
                   "filters": [{"field": STATEMENT_NAME, "op": "EQ", "value": n} for n in statement_names]},
        "granularity": granularity,
        "intervals": [f"{start.strftime(stamp)}/{end.strftime(stamp)}"],
        "group_by": [STATEMENT_NAME],
        "limit": QUERY_LIMIT,
    }


def series_by_statement(data: list[dict[str, Any]]) -> dict[str, list[tuple[str, float]]]:
    """Each statement's ``(timestamp, value)`` points in a flat query response's ``data``, oldest first."""
    series: dict[str, list[tuple[str, float]]] = {}
    for point in data:
        name = point.get(STATEMENT_NAME)
        if name is not None:
            series.setdefault(name, []).append((point["timestamp"], point["value"]))
    return {name: sorted(points) for name, points in series.items()}


def latest_values(series: dict[str, list[tuple[str, float]]]) -> dict[str, float]:
    """The most recent value of each statement's series."""
    return {name: points[-1][1] for name, points in series.items()}


def latest_by_statement(data: list[dict[str, Any]]) -> dict[str, float]:
    """The most recent value of each statement in a flat query response's ``data``."""
    return latest_values(series_by_statement(data))


class ConfluentMetricsHook(ConfluentHttpHook):
    """Flink statement metrics, many statements per call."""

    default_conn_name = METRICS_CONN_ID
    conn_type = "confluent_metrics"
    hook_name = "Confluent Metrics API"

    def statement_metric(self, metric: str, statement_names: Sequence[str],
                         lookback: timedelta = timedelta(minutes=10)) -> dict[str, float]:
        """Latest value of ``metric`` per statement; a statement without data points is absent."""
        return latest_values(self.statement_series(metric, statement_names, lookback))

    def statement_series(self, metric: str, statement_names: Sequence[str], lookback: timedelta,
                         granularity: str = "PT1M") -> dict[str, list[tuple[str, float]]]:
        """Per statement, ``metric`` per ``granularity`` over ``lookback`` (oldest first); one query."""
        body = statement_metric_query(metric, statement_names, lookback, granularity=granularity)
        response = self.request("POST", QUERY_PATH, what=f"metric {metric} of {', '.join(statement_names)}", json=body)
        return series_by_statement(response.json().get("data") or [])

    async def astatement_metric(self, metric: str, statement_names: Sequence[str],
                                lookback: timedelta = timedelta(minutes=10)) -> dict[str, float]:
        body = statement_metric_query(metric, statement_names, lookback)
        _, data = await self.arequest("POST", QUERY_PATH, what=f"metric {metric} of {', '.join(statement_names)}",
                                      json=body)
        return latest_by_statement((data or {}).get("data") or [])


def lagging(pending: dict[str, float], statement_names: Sequence[str], threshold: float) -> dict[str, float | None]:
    """Statements not caught up: more than ``threshold`` pending records, or no data (None)."""
    return {n: pending.get(n) for n in statement_names if pending.get(n) is None or pending[n] > threshold}
