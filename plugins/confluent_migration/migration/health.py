"""The daily health check of the migrated pipelines: phases, one metrics query, data checks, thresholds.

For each table of the manifest, the live statements writing it are its pipelines. Their phases
come from the statements API; pending records and records read from the Metrics API (one query
per metric for all statements); lag is estimated as pending records / records read per second.
The tables are checked against the manifest's ``checks`` (conditions every row must meet),
column counts equal to the DDL's (of the expected version, never a hard-coded number) and freshness
(time since the newest value of each table's ``freshness`` column). Throughput is compared with the
baseline of the latest migration, when one is recorded. Every check is recorded as a run of kind ``health`` beside the migrations' runs, its
reading in the run's header, with a text report and an HTML one that charts the reading against the
thresholds over the last checks (linked from the task); a breach fails the run (and the on-failure
notifier alerts).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from confluent_migration.links import REPORT_FILE
from confluent_migration.migration import observe
from confluent_migration.migration.criteria import Measurements, Verdict, failures, judge
from confluent_migration.migration.ledger import Ledger, latest_run, ledger_base, run_ids
from confluent_migration.migration.manifest import Manifest, condition_columns, load_manifest, manifest_path
from confluent_migration.migration.notify import AlertNotDelivered, WebhookNotifier
from confluent_migration.migration.params import check_health_params, check_version


HEALTH = "health"  # the kind of a health check's run record
TREND_RUNS = 90  # checks shown in a report's trend (a quarter of daily checks)


class HealthBreach(AirflowFailException):
    """A health threshold was breached and the alert was sent; the message lists each breach."""

    alerted = True  # the on-failure notifier does not send it again


def alert(breached: list[Verdict], report_path: str, **context: Any) -> str:
    """Send the breaches to the alert webhook; :class:`AlertNotDelivered` (naming the connection) when
    it cannot be, so a lost alert fails the run visibly instead of a log line of a callback."""
    text = (f":rotating_light: *{context['dag'].dag_id}* failed in task `{context['ti'].task_id}` (run "
            f"`{context['run_id']}`): {len(breached)} health threshold(s) breached:\n"
            + "\n".join(v.line() for v in breached) + f"\nReport: {report_path}")
    try:
        return WebhookNotifier().post(text)
    except AlertNotDelivered as lost:
        raise AlertNotDelivered(f"{lost}\nThe undelivered alert: {text}") from None


def recorded_baseline() -> Measurements | None:
    """The baseline measured by the latest migration, if any was recorded."""
    try:
        ledger = Ledger(ledger_base(), latest_run(ledger_base()))
    except FileNotFoundError:
        return None
    baseline = next((s.result for s in ledger.steps(["baseline"])), None)
    return Measurements.from_dict(baseline) if baseline else None


def expected_versions(manifest: Manifest, version: str | None) -> dict[str, str]:
    """Each table's version to check: ``version`` for all, or (empty) the one the migration history says."""
    from confluent_migration.migration.history import positions

    version = check_version("version", version, manifest, manifest.names)
    if not version:
        return {table: p.version for table, p in positions(manifest).items()}
    return {spec.name: version for spec in manifest.tables}


def check_health(**context: Any) -> str:
    """Run every check; write the report; on a breach alert and raise :class:`HealthBreach`; fail with
    :class:`AlertNotDelivered` when the alert webhook is missing (also on a healthy day: the next
    breach would go unheard). Returns the report."""
    from confluent_migration.hooks.flink_sql import FlinkSqlHook
    from confluent_migration.hooks.flink_statements import FlinkStatementsHook
    from confluent_migration.hooks.metrics import PENDING_RECORDS, ConfluentMetricsHook

    params = context["params"]
    thresholds = check_health_params(params)
    manifest = load_manifest(manifest_path(params.get("manifest")))
    version = expected_versions(manifest, params.get("version"))
    statements = FlinkStatementsHook().list_statements()
    sql = FlinkSqlHook()
    verdicts: list[Verdict] = []
    pipelines: dict[str, list[str]] = {}
    errors = rows = 0
    freshness: list[float] = []
    now = datetime.now(timezone.utc)
    columns = observe.columns_of(sql, [spec.flink_table for spec in manifest.tables])
    # a table's checks and freshness column where its columns have them (the v1 tables may not)
    checked = {spec.flink_table: observe.violations(spec.flink_table, spec.checks) for spec in manifest.tables
               if spec.checks and set().union(*map(condition_columns, spec.checks)) <= set(columns[spec.flink_table])}
    counted = observe.counts(sql, [c for t, check in checked.items() for c in (observe.Count(t), check)])
    newest = observe.newest_updates(sql, {spec.flink_table: spec.freshness for spec in manifest.tables
                                          if spec.freshness in columns[spec.flink_table]})
    for spec in manifest.tables:
        writers = [s for s in statements if observe.writes(s, spec.flink_table)]
        running = [s.name for s in writers if s.phase == "RUNNING"]
        pipelines[spec.name] = running
        verdicts.append(judge("running pipelines", spec.name, len(running), ">=", 1,
                              ", ".join(f"{s.name}={s.phase}" for s in writers) or "no statement writes it"))
        found = columns[spec.flink_table]
        expected = len(manifest.definition(spec, version[spec.name]).columns)
        verdicts.append(judge("column count - DDL's", spec.name, abs(len(found) - expected), "<=", 0,
                              f"{len(found)} columns, the {version[spec.name]} DDL declares {expected}"))
        if spec.flink_table in checked:
            bad, count = counted[checked[spec.flink_table]], counted[observe.Count(spec.flink_table)]
            errors, rows = errors + bad, rows + count
            verdicts.append(judge("rows failing the manifest's checks", spec.name, bad, "<=", 0,
                                  " AND ".join(spec.checks) + " (NULL fails)"))
        if newest.get(spec.flink_table) is not None:
            freshness.append(max(0.0, (now - newest[spec.flink_table]).total_seconds()))
    names = [n for running in pipelines.values() for n in running]
    pending = ConfluentMetricsHook().statement_metric(PENDING_RECORDS, names) if names else {}
    throughput = observe.records_per_second(ConfluentMetricsHook(), names)
    lag = observe.estimated_lag(sum(pending.values()) if pending else None, throughput)
    measured = Measurements(throughput=throughput, error_rate=(errors / rows) if rows else None,
                            freshness_seconds=max(freshness) if freshness else None, lag_seconds=lag)
    baseline = recorded_baseline()
    verdicts += thresholds.evaluate(baseline, measured)
    breached = failures(verdicts)
    report = "\n".join([f"Health check {context['run_id']} at {now.isoformat(timespec='seconds')} "
                        f"({', '.join(sorted(set(version.values())))} pipelines): "
                        f"{'BREACH' if breached else 'HEALTHY'}",
                        f"  pipelines: {pipelines}", f"  pending records: {pending}",
                        *(f"  {v.line()}" for v in verdicts)]) + "\n"
    path = write_health_report(context, report, Reading(
        at=now.isoformat(timespec="seconds"), healthy=not breached, measured=asdict(measured),
        baseline_throughput=baseline.throughput if baseline else None, thresholds=asdict(thresholds),
        breaches=[v.line() for v in breached]))
    print(report)
    print(f"Report with its trend over the days: {path}")
    if breached:
        url = alert(breached, str(path), **context)
        raise HealthBreach(f"{len(breached)} health threshold(s) breached (alert sent to {url}):\n"
                           + "\n".join(v.line() for v in breached))
    WebhookNotifier().url()  # a healthy day still needs a route for tomorrow's alert
    print(f"HEALTHY: {len(verdicts)} checks passed; report at {path}")
    return report


@dataclass(frozen=True)
class Reading:
    """What one health check measured, kept in its run's record for the trend over the days."""

    at: str
    healthy: bool
    measured: dict[str, float | None]
    baseline_throughput: float | None
    thresholds: dict[str, float]
    breaches: list[str]


def write_health_report(context: Any, report: str, reading: Reading) -> Any:
    """Record the check as a run of kind :data:`HEALTH` (its reading in the header) and write its HTML
    report with the trend of the last :data:`TREND_RUNS` checks; the report's path."""
    from confluent_migration.migration.report import render_health_report

    base = ledger_base()
    ledger = Ledger(base, context["run_id"])
    ledger.start(dag_id=context["dag"].dag_id, option="health", tables=[], params=dict(context["params"]), kind=HEALTH)
    header = ledger.finish("healthy" if reading.healthy else "breach", health=asdict(reading))
    ledger.write_report("report.txt", report)
    trend = [Ledger(base, run).header() for run in run_ids(base, HEALTH)[-TREND_RUNS:]]
    return ledger.write_report(REPORT_FILE, render_health_report(header, [h["health"] for h in trend if h.get("health")],
                                                                 report))
