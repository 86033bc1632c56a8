"""The run report a person would rather look at than read: one self-contained HTML page with charts
(matplotlib, Agg backend, inline SVG) written next to the ledger as ``report.html``: rows per table
before and after, each table's write gap, and throughput against the baseline."""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_migration.migration.ledger import Step
from confluent_migration.migration.summary import _seconds_between


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    return buffer.getvalue()[buffer.getvalue().index("<svg"):]


def _bars(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]], unit: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 0.6 + 0.5 * len(labels)))
    height = 0.8 / max(len(series), 1)
    for n, (name, values) in enumerate(series.items()):
        axes.barh([i + n * height for i in range(len(labels))], [v or 0 for v in values], height, label=name)
    axes.set_yticks([i + height * (len(series) - 1) / 2 for i in range(len(labels))], labels)
    axes.set_xlabel(unit)
    axes.set_title(title)
    if len(series) > 1:
        axes.legend()
    try:
        return _svg(figure)
    finally:
        pyplot.close(figure)


def write_gaps(steps: Sequence[Step], tables: Sequence[str]) -> dict[str, float | None]:
    """Per table: seconds from its old writer's stop to its new writer started (None: no gap recorded;
    0 when the new writer already ran before the old one stopped, as option B's dual write does)."""
    gaps: dict[str, float | None] = {}
    for table in tables:
        prefix = table.replace("_", "-")
        stops = [s.at for s in steps if s.kind == "statement_stopped" and prefix in str(s.data.get("statement_name"))]
        starts = [s.done_at for s in steps if s.kind == "statement_created" and s.done_at
                  and str(s.data.get("statement_name", "")).startswith(prefix + "-v2")]
        gaps[table] = max(0.0, _seconds_between(min(stops), max(starts))) if stops and starts else None
    return gaps


def render_report(header: Mapping[str, Any], steps: Sequence[Step], summary: str, *,
                  rows_after: Mapping[str, int | None] | None = None) -> str:
    """The HTML page of a run (its summary text included under the charts)."""
    tables = list(header.get("tables") or [])
    state = next((s.result for s in steps if s.kind == "preflight_state" and s.done), None) or {}
    before = state.get("rows") or {}
    baseline = next((s.result for s in steps if s.kind == "baseline" and s.done), None) or {}
    after = next((s.data.get("after") for s in reversed(steps) if s.kind == "criteria" and s.done), None) or {}
    charts = [_bars("Rows per table", tables, {"before": [before.get(t) for t in tables],
                                                "after": [(rows_after or {}).get(t) for t in tables]}, "rows")]
    gaps = write_gaps(steps, tables)
    if any(v is not None for v in gaps.values()):
        charts.append(_bars("Write gap per table (old writer stopped to new writer started)", tables,
                            {"gap": [gaps[t] for t in tables]}, "seconds"))
    if baseline.get("throughput") is not None or after.get("throughput") is not None:
        charts.append(_bars("Throughput against the baseline", ["records read per second"],
                            {"baseline": [baseline.get("throughput")], "after": [after.get("throughput")]},
                            "records/s"))
    title = f"{header.get('dag_id')} {header.get('run_id')}: {str(header.get('outcome') or '').upper()}"
    return ("<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}pre{background:#f4f4f4;"
            "padding:1em;overflow:auto}</style></head><body><h1>" + html.escape(title) + "</h1>"
            + "".join(f"<figure>{c}</figure>" for c in charts)
            + "<h2>Summary</h2><pre>" + html.escape(summary) + "</pre></body></html>")
