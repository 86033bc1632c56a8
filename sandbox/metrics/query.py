"""Answering ``POST /v2/metrics/cloud/query`` for the ``io.confluent.flink/*`` statement metrics.

Counters (``num_records_in``, ``num_records_out``) are the increase within each time bucket;
gauges (``pending_records``) the last value in the bucket; values are summed over the statements
of a group. Watermarks are not modelled: the watermark metrics report Long.MIN_VALUE ("none yet").
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

from sandbox.errors import ApiError
from sandbox.metrics.series import MetricSeries

PREFIX = "io.confluent.flink/"
COUNTERS = {"num_records_in": 3, "num_records_out": 4, "num_records_in_from_topics": 3}
GAUGES = {"pending_records": 5}
WATERMARKS = {"current_input_watermark_milliseconds", "current_output_watermark_milliseconds"}
NO_WATERMARK = -(2**63)
LABELS = {"resource.flink_statement.name": 1, "resource.compute_pool.id": 2}
GRANULARITY = {"PT1M": 60, "PT5M": 300, "PT15M": 900, "PT30M": 1800, "PT1H": 3600, "PT4H": 14400,
               "PT6H": 21600, "PT12H": 43200, "P1D": 86400}
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_NOW = re.compile(r"^now(?:([+-])(\d+)([mhd]))?(?:\|([mhd]))?$")
_UNIT = {"m": 60, "h": 3600, "d": 86400}


def _bad(detail: str) -> ApiError:
    return ApiError(400, detail, code="bad_request", title="Bad Request")


def _moment(text: str, now: datetime) -> datetime:
    match = _NOW.match(text)
    if match:
        moment = now
        if match.group(1):
            delta = timedelta(seconds=int(match.group(2)) * _UNIT[match.group(3)])
            moment = moment + delta if match.group(1) == "+" else moment - delta
        if match.group(4):
            step = _UNIT[match.group(4)]
            moment = datetime.fromtimestamp(int(moment.timestamp()) // step * step, timezone.utc)
        return moment
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        raise _bad(f"Invalid interval timestamp '{text}'.") from None


def _duration(text: str) -> timedelta | None:
    match = _DURATION.match(text)
    if not match or text in ("P", "PT"):
        return None
    days, hours, minutes, seconds = match.groups()
    return timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0),
                     seconds=float(seconds or 0))


def parse_interval(text: str, now: datetime) -> tuple[datetime, datetime]:
    start_text, sep, end_text = text.partition("/")
    if not sep:
        raise _bad(f"Invalid interval '{text}': expected <start>/<end>, <start>/<duration> or <duration>/<end>.")
    start_duration, end_duration = _duration(start_text), _duration(end_text)
    if start_duration is not None:
        end = _moment(end_text, now)
        return end - start_duration, end
    start = _moment(start_text, now)
    end = start + end_duration if end_duration is not None else _moment(end_text, now)
    if end <= start:
        raise _bad(f"Invalid interval '{text}': its end is not after its start.")
    return start, end


def _matches(flt: dict | None, labels: dict[str, str]) -> bool:
    if not flt:
        return True
    op = flt.get("op")
    if op == "AND":
        return all(_matches(f, labels) for f in flt.get("filters", []))
    if op == "OR":
        return any(_matches(f, labels) for f in flt.get("filters", []))
    if op == "NOT":
        return not _matches(flt.get("filter"), labels)
    field = flt.get("field")
    if field not in LABELS:
        raise _bad(f"Invalid filter field '{field}' for Flink statement metrics "
                   f"(use {' or '.join(LABELS)}).")
    value, actual = str(flt.get("value")), labels[field]
    if op == "EQ":
        return actual == value
    if op == "GT":
        return actual > value
    if op == "GTE":
        return actual >= value
    raise _bad(f"Invalid filter op '{op}'.")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def query(series: MetricSeries, body: dict[str, Any]) -> dict[str, Any]:
    aggregations = body.get("aggregations") or []
    if len(aggregations) != 1:
        raise _bad("Exactly one aggregation per request is supported.")
    metric = str(aggregations[0].get("metric", ""))
    name = metric.removeprefix(PREFIX)
    if not metric.startswith(PREFIX) or name not in {**COUNTERS, **GAUGES, **dict.fromkeys(WATERMARKS)}:
        raise _bad(f"Unknown metric '{metric}' (the sandbox serves {PREFIX}"
                   f"{{{', '.join(sorted([*COUNTERS, *GAUGES, *WATERMARKS]))}}}).")
    group_by = list(body.get("group_by") or [])
    for label in group_by:
        if label not in LABELS:
            raise _bad(f"Invalid group_by label '{label}' (use {' or '.join(LABELS)}).")
    granularity = body.get("granularity")
    if granularity != "ALL" and granularity not in GRANULARITY:
        raise _bad(f"Invalid granularity '{granularity}'.")
    if body.get("format", "FLAT") == "GROUPED" and not group_by:
        raise _bad("format GROUPED needs a non-empty group_by.")
    limit = int(body.get("limit", 100))
    series.sample(force=True)
    now = datetime.now(timezone.utc)
    points: dict[tuple, dict[datetime, float]] = defaultdict(dict)
    for interval in body.get("intervals") or []:
        start, end = parse_interval(interval, now)
        for group, buckets in _buckets(series, name, body.get("filter"), group_by, granularity, start, end).items():
            points[group].update(buckets)
    groups = sorted(points)[:limit]
    if body.get("format", "FLAT") == "GROUPED":
        data = [{**dict(zip(group_by, g)),
                 "points": [{"timestamp": _iso(t), "value": v} for t, v in sorted(points[g].items())]}
                for g in groups]
    else:
        data = [{"timestamp": _iso(t), **dict(zip(group_by, g)), "value": v}
                for g in groups for t, v in sorted(points[g].items())]
    return {"data": data}


def _buckets(series: MetricSeries, name: str, flt: dict | None, group_by: list[str], granularity: str,
             start: datetime, end: datetime) -> dict[tuple, dict[datetime, float]]:
    step = GRANULARITY.get(granularity)

    def bucket_of(moment: datetime) -> datetime:
        if step is None:
            return start
        return datetime.fromtimestamp(int(moment.timestamp()) // step * step, timezone.utc)

    # last sample per (statement, bucket), and each statement's baseline before ``start``
    last: dict[tuple[str, datetime], tuple] = {}
    baseline: dict[str, tuple] = {}
    for sample in series.samples(start, end):
        labels = {"resource.flink_statement.name": sample[1], "resource.compute_pool.id": sample[2]}
        if not _matches(flt, labels):
            continue
        if sample[0] < start:
            baseline[sample[1]] = sample
        else:
            last[(sample[1], bucket_of(sample[0]))] = sample
    result: dict[tuple, dict[datetime, float]] = defaultdict(lambda: defaultdict(float))
    previous = dict(baseline)
    for (statement, bucket), sample in sorted(last.items(), key=lambda item: item[0][1]):
        group = tuple(sample[LABELS[label]] for label in group_by)
        if name in COUNTERS:
            column = COUNTERS[name]
            before = previous.get(statement)
            value = sample[column] - (before[column] if before else 0)
            previous[statement] = sample
            result[group][bucket] += max(0, value)
        elif name in GAUGES:
            result[group][bucket] += sample[GAUGES[name]]
        else:
            result[group][bucket] = NO_WATERMARK
    return result
