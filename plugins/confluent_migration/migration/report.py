"""The run report a person would rather look at than read: one self-contained HTML page with charts
(matplotlib, Agg backend, inline SVG) written next to the ledger as ``report.html``: rows per table
before and after, each table's write gap, throughput against the baseline, and the pending records
and estimated lag of the run's statements over the run."""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from confluent_migration.migration.ledger import Step
from confluent_migration.migration.observe import Progress, utc_time
from confluent_migration.migration.summary import seconds_between


def _chart(height: float, draw: Callable[[Any], None]) -> str:
    """One matplotlib figure drawn by ``draw(axes)``, as inline SVG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, height))
    try:
        draw(axes)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", bbox_inches="tight")
        return buffer.getvalue()[buffer.getvalue().index("<svg"):]
    finally:
        pyplot.close(figure)


def _bars(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]], unit: str) -> str:
    def draw(axes: Any) -> None:
        height = 0.8 / max(len(series), 1)
        for n, (name, values) in enumerate(series.items()):
            bars = axes.barh([i + n * height for i in range(len(labels))], [v or 0 for v in values], height, label=name)
            axes.bar_label(bars, labels=["n/a" if v is None else f"{v:.4g}" for v in values], padding=3)
        axes.set_xlim(left=0, right=max([v or 0 for values in series.values() for v in values] + [1]) * 1.15)
        axes.set_yticks([i + height * (len(series) - 1) / 2 for i in range(len(labels))], labels)
        axes.set_xlabel(unit)
        axes.set_title(title)
        if len(series) > 1:
            axes.legend()

    return _chart(0.6 + 0.5 * len(labels), draw)


Series = Sequence[tuple[str, float | None]]  # (ISO timestamp, value; None is a gap)


def lines(title: str, series: Mapping[str, Series], unit: str,
          limits: Mapping[str, float | Series | None] | None = None) -> str:
    """A line per series over time, with ``limits`` dashed in red (a constant, or a series)."""
    def plot(axes: Any, points: Series, **style: Any) -> None:
        axes.plot([utc_time(at) for at, _ in points], [float("nan") if v is None else v for _, v in points], **style)

    def draw(axes: Any) -> None:
        for name, points in series.items():
            plot(axes, points, marker="o", markersize=3, label=name)
        for name, limit in (limits or {}).items():
            if isinstance(limit, (int, float)):
                axes.axhline(limit, linestyle="--", color="red", label=name)
            elif limit:
                plot(axes, limit, linestyle="--", color="red", label=name)
        axes.set_ylabel(unit)
        axes.set_title(title)
        axes.tick_params(axis="x", labelrotation=30)
        if len(series) + len(limits or {}) > 1:
            axes.legend(fontsize="small")

    return _chart(3.5, draw)


def write_gaps(steps: Sequence[Step], old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, float | None]:
    """Per table of ``old`` (table -> the statement that wrote it before the run; ``new``: the one
    after): seconds from the old writer's stop to the new writer started (None: no gap recorded; 0
    when the new writer already ran before the old one stopped, as option B's dual write does)."""
    gaps: dict[str, float | None] = {}
    for table, writer in old.items():
        stops = [s.at for s in steps if s.kind == "statement_stopped" and s.data.get("statement_name") == writer]
        starts = [s.done_at for s in steps if s.kind == "statement_created" and s.done_at
                  and s.data.get("statement_name") == new.get(table)]
        gaps[table] = max(0.0, seconds_between(min(stops), max(starts))) if stops and starts else None
    return gaps


def run_statements(steps: Sequence[Step]) -> list[str]:
    """The statements a run created, stopped or retired, in the order it first touched them."""
    names = [s.data.get("statement_name") for s in steps if s.kind.startswith("statement_")]
    return list(dict.fromkeys(n for n in names if n))


def render_report(header: Mapping[str, Any], steps: Sequence[Step], summary: str, *,
                  rows_after: Mapping[str, int | None] | None = None, progress: Progress | None = None,
                  console: Mapping[str, str] | None = None,
                  writers: tuple[Mapping[str, str], Mapping[str, str]] = ({}, {})) -> str:
    """The HTML page of a run: charts, the run's statements linked to the Confluent Cloud ``console``
    (name -> URL), then its summary text. ``writers``: per table, its statement before and after the
    run (:meth:`~confluent_migration.migration.plan_types.Plan.table_writers`), for the write gaps."""
    tables = list(header.get("tables") or [])
    state = next((s.result for s in steps if s.kind == "preflight_state" and s.done), None) or {}
    before = state.get("rows") or {}
    baseline = next((s.result for s in steps if s.kind == "baseline" and s.done), None) or {}
    after = next((s.data.get("after") for s in reversed(steps) if s.kind == "criteria" and s.done), None) or {}
    charts = [_bars("Rows per table", tables, {"before": [before.get(t) for t in tables],
                                                "after": [(rows_after or {}).get(t) for t in tables]}, "rows")]
    gaps = write_gaps(steps, *writers)
    if any(v is not None for v in gaps.values()):
        charts.append(_bars("Write gap per table (old writer stopped to new writer started)", tables,
                            {"gap": [gaps[t] for t in tables]}, "seconds"))
    if baseline.get("throughput") is not None or after.get("throughput") is not None:
        charts.append(_bars("Throughput against the baseline", ["records read per second"],
                            {"baseline": [baseline.get("throughput")], "after": [after.get("throughput")]},
                            "records/s"))
    if progress and progress.pending:
        minutes = progress.bucket_seconds // 60
        charts.append(lines(f"Pending records per statement (messages behind; per {minutes} min)",
                            progress.pending, "records"))
        charts.append(lines(f"Estimated lag per statement (pending / read rate; per {minutes} min)",
                            progress.lag(), "seconds"))
    links = "".join(f"<li><a href='{html.escape(url)}' target='_blank' rel='noopener'>{html.escape(name)}</a></li>"
                    for name, url in (console or {}).items())
    return _page(f"{header.get('dag_id')} {header.get('run_id')}: {str(header.get('outcome') or '').upper()}",
                 charts, summary, f"<h2>Statements in the Confluent Cloud console</h2><ul>{links}</ul>" if links else "")


def render_health_report(header: Mapping[str, Any], readings: Sequence[Mapping[str, Any]], report: str) -> str:
    """The HTML page of a health check: each measured figure over the ``readings`` (oldest first, this
    check's last) against its threshold, then the check's report."""
    def trend(figure: str, scale: float = 1.0) -> Series:
        return [(r["at"], None if r["measured"].get(figure) is None else r["measured"][figure] * scale)
                for r in readings]

    limits = readings[-1]["thresholds"] if readings else {}
    floor = [(r["at"], r["baseline_throughput"] * r["thresholds"]["throughput_min_ratio"]
              if r.get("baseline_throughput") else None) for r in readings]
    charts = [
        lines("Pipeline lag (pending / read rate)", {"lag": trend("lag_seconds")}, "seconds",
              {"alert above": limits.get("lag_max_seconds")}),
        lines("Time since the newest update", {"freshness": trend("freshness_seconds")}, "seconds",
              {"alert above": limits.get("stale_max_seconds")}),
        lines("Rows failing the manifest's checks", {"error rate": trend("error_rate", 100)}, "%",
              {"alert above": 100 * limits.get("error_rate_max", 0)}),
        lines("Throughput", {"records read per second": trend("throughput")}, "records/s", {"alert below": floor}),
    ] if readings else []
    verdict = "HEALTHY" if header.get("outcome") == "healthy" else "BREACH"
    return _page(f"{header.get('dag_id')} {header.get('run_id')}: {verdict} (trend of the last {len(readings)} "
                 "checks)", charts, report)


def _page(title: str, charts: Sequence[str], text: str, extra: str = "") -> str:
    return ("<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}pre{background:#f4f4f4;"
            "padding:1em;overflow:auto}</style></head><body><h1>" + html.escape(title) + "</h1>"
            + "".join(f"<figure>{c}</figure>" for c in charts) + extra
            + "<h2>Summary</h2><pre>" + html.escape(text) + "</pre></body></html>")
