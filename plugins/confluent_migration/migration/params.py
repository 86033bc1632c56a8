"""The trigger form of the DAGs (Airflow ``Param`` s) and the check of what was entered.

The form lets a person pick the tables, ask for a dry run, confirm and tune the thresholds; the
check runs as the first task, before anything changes, and a bad value fails with a
:class:`ParamError` naming the param and why. ``confirm`` must be the target database (the Flink
connection's ``database``: the Kafka cluster) for every run that changes something, so a run
aimed at the wrong environment stops before it starts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from airflow.sdk import Param
from airflow.sdk.exceptions import AirflowFailException

from confluent_migration.hooks import FLINK_CONN_ID

if TYPE_CHECKING:
    from confluent_migration.migration.criteria import HealthThresholds, SuccessCriteria
    from confluent_migration.migration.manifest import Manifest

EMERGENCY, PLANNED = "emergency", "planned"


class ParamError(AirflowFailException, ValueError):
    """A trigger param is wrong; the message names the param and says why and what to enter (not retried)."""

    def __init__(self, param: str, problem: str) -> None:
        self.param = param
        super().__init__(f"param '{param}': {problem}")


OPTIONAL_STRING = ["null", "string"]  # the form may be left empty (a plain "string" is a required field)


def flink_target(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Flink connection's target (``database``, ``catalog``, ``environment_id``) as the DAG
    processor's environment defines it (``AIRFLOW_CONN_CONFLUENT_FLINK_DEFAULT``, JSON or URI form);
    empty when it is defined elsewhere (metadata DB, secrets backend): read at parse time, no network."""
    raw = (environ if environ is not None else os.environ).get(f"AIRFLOW_CONN_{FLINK_CONN_ID.upper()}", "")
    try:
        if raw.lstrip().startswith("{"):
            extra = json.loads(raw).get("extra") or {}
            extra = json.loads(extra) if isinstance(extra, str) else extra
        else:
            query = dict(parse_qsl(urlsplit(raw).query))
            extra = json.loads(query["__extra__"]) if "__extra__" in query else query
    except (ValueError, AttributeError, TypeError):
        return {}
    return {k: str(extra[k]) for k in ("database", "catalog", "environment_id") if extra.get(k)}


def describe_target(target: Mapping[str, str]) -> str:
    """Where a run makes its changes, in words, for the form."""
    if not target.get("database"):
        return (f"the database (Kafka cluster) in the extra of connection '{FLINK_CONN_ID}' (Admin > "
                "Connections; not defined in this environment, so it cannot be shown here)")
    where = ", ".join(f"{k} {target[k]}" for k in ("catalog", "environment_id") if target.get(k))
    return f"database '{target['database']}'" + (f" ({where})" if where else "")


def _confirm_param(target: Mapping[str, str]) -> Param:
    word = target.get("database") or "the target database"
    return Param(None, type=OPTIONAL_STRING, title="Confirm target database",
                 description=f"This run changes {describe_target(target)}. Type '{word}' to allow the "
                             "changes; leave empty for a dry run.")


def _dry_run_param(default: bool, description: str) -> Param:
    return Param(default, type="boolean", title="Dry run", description=description)


MIGRATION_DRY_RUN = ("Plan only: check everything, validate every statement (sql.dry-run) and schema (compatibility "
                     "check), and write the plan to the summary; change nothing.")
ROLLBACK_DRY_RUN = "List what the rollback would undo, in order, and change nothing."


# The success criteria's defaults as the form offers them (``criteria.SuccessCriteria``'s, in the form's
# units; a test keeps them equal): the forms do not import the criteria, a DAG file is parsed for every task run.
CRITERIA_DEFAULTS = {"throughput_min_pct": 95.0, "latency_max_pct": 105.0, "error_rate_max_pct": 0.1,
                     "freshness_max_seconds": 120.0, "criteria_window_minutes": 5}


def _threshold_params() -> dict[str, Param]:
    d = CRITERIA_DEFAULTS
    return {
        "pending_records_threshold": Param(100, type="integer", minimum=0, title="Caught up at",
                                           description="A statement is caught up at or under this many pending "
                                                       "records (Messages Behind)."),
        "parity_tolerance_pct": Param(1.0, type="number", minimum=0, maximum=100, title="Row parity tolerance (%)",
                                      description="Rows of a table and keys of its source may differ by this much "
                                                  "while live changes are in flight."),
        "throughput_min_pct": Param(d["throughput_min_pct"], type="number", minimum=0,
                                    title="Throughput at least (% of baseline)",
                                    description="Success criterion: records read per second by the new "
                                                "statements, as a % of the baseline measured in pre-flight."),
        "latency_max_pct": Param(d["latency_max_pct"], type="number", minimum=0,
                                 title="Latency at most (% of baseline)",
                                 description="Success criterion: how far the slowest output watermark trails "
                                             "the clock, as a % of the baseline (not measured where Confluent "
                                             "reports no watermark; a missing figure neither passes nor fails)."),
        "error_rate_max_pct": Param(d["error_rate_max_pct"], type="number", minimum=0, maximum=100,
                                    title="Error rate at most (%)",
                                    description="Success criterion: rows failing the manifest's checks (e.g. "
                                                "created_at <= updated_at; NULL fails), as a % of the rows of the "
                                                "migrated tables."),
        "freshness_max_seconds": Param(d["freshness_max_seconds"], type="number", minimum=0,
                                       title="Freshness at most (seconds)",
                                       description="Success criterion: seconds since the newest value of the "
                                                   "tables' freshness column (the manifest's, e.g. updated_at)."),
        "criteria_window_minutes": Param(d["criteria_window_minutes"], type="integer", minimum=1,
                                         title="Throughput window (minutes)",
                                         description="The baseline is the old statements' records read per second "
                                                     "over this many minutes before the migration; after it, "
                                                     "validation waits this long once the new statements have "
                                                     "caught up and measures them over the same length."),
    }


def manifest_param() -> Param:
    return Param(None, type=OPTIONAL_STRING, title="Manifest",
                 description="The manifest this run uses (a path the workers can read); empty for the configured "
                             "one: env CONFLUENT_MIGRATION_MANIFEST, else Airflow Variable "
                             "confluent_migration_manifest, else the package's include/migration.yaml.")


def migration_params(*, extra: Mapping[str, Param] | None = None,
                     target: Mapping[str, str] | None = None) -> dict[str, Param]:
    """The form of a migration DAG: manifest, tables, dry run, confirm, thresholds, and the option's
    own params. Nothing in it comes from the manifest: the first task reads it and checks the tables.

    :param target: the Flink connection's target (default: :func:`flink_target`), shown in the form."""
    target = flink_target() if target is None else target
    return {
        "manifest": manifest_param(),
        "tables": Param([], type="array", items={"type": "string"}, uniqueItems=True, title="Tables",
                        description="Which of the manifest's tables to migrate (empty: all of them); they run in "
                                    "dependency order. A name the manifest lacks fails the first task."),
        "target_version": Param(None, type=OPTIONAL_STRING, title="Target version",
                                description="The version of the manifest to move the tables to (v2, v3, ...); "
                                            "empty for each table's newest. Each table moves from the version "
                                            "the migration history says it is at, which must be earlier."),
        "dry_run": _dry_run_param(True, MIGRATION_DRY_RUN),
        "confirm": _confirm_param(target),
        **_threshold_params(),
        **dict(extra or {}),
    }


def rollback_params(target: Mapping[str, str] | None = None) -> dict[str, Param]:
    """The rollback form: which run, mode, dry run, confirm, how long to wait for data to flow."""
    target = flink_target() if target is None else target
    return {
        "migration_run": Param(None, type=OPTIONAL_STRING, title="Migration run",
                               description="The run id of the migration to undo (as its summary names it); "
                                           "empty for the latest recorded migration."),
        "mode": Param(PLANNED, type="string", enum=[PLANNED, EMERGENCY], title="Mode",
                      description="planned: verify each step and that data flows again; emergency: undo fast, "
                                  "skip the optional checks."),
        "dry_run": _dry_run_param(False, ROLLBACK_DRY_RUN),
        "confirm": _confirm_param(target),
        "flow_timeout_minutes": Param(10, type="integer", minimum=1, title="Wait for data flow (minutes)",
                                      description="Planned mode: how long to wait for the old statements to "
                                                  "catch up and write new records before the rollback fails."),
    }


def health_params() -> dict[str, Param]:
    from confluent_migration.migration.criteria import HealthThresholds

    h = HealthThresholds()
    return {
        "manifest": manifest_param(),
        "lag_max_seconds": Param(h.lag_max_seconds, type="number", minimum=0, title="Pipeline lag at most (s)",
                                 description="Alert when pending records / records read per second exceeds this."),
        "stale_max_seconds": Param(h.stale_max_seconds, type="number", minimum=0,
                                   title="Alert when no updates for (s)",
                                   description="Alert when the newest value of a table's freshness column (the "
                                               "manifest's, e.g. updated_at) is older than this."),
        "error_rate_max_pct": Param(h.error_rate_max * 100, type="number", minimum=0, maximum=100,
                                    title="Error rate at most (%)",
                                    description="Alert when more rows than this fail the manifest's checks "
                                                "(e.g. created_at <= updated_at; NULL fails)."),
        "throughput_min_pct": Param(h.throughput_min_ratio * 100, type="number", minimum=0,
                                    title="Throughput at least (% of baseline)",
                                    description="Alert when records read per second fall under this % of the "
                                                "baseline of the latest migration (no baseline: not judged)."),
        "version": Param(None, type=OPTIONAL_STRING, title="Pipelines expected",
                         description="The version (v1, v2, ...) every table should be at; empty for the one "
                                     "the migration history says for each."),
    }


@dataclass(frozen=True)
class RunParams:
    """A migration run's params, checked."""

    manifest: str  # the manifest's path, as the run loaded it
    tables: list[str]
    dry_run: bool
    confirm: str
    pending_records_threshold: int
    parity_tolerance: float
    criteria: SuccessCriteria
    options: dict[str, Any] = field(default_factory=dict)
    target_version: str | None = None  # None: each table's newest version

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(params: Mapping[str, Any], name: str, default: float, *, minimum: float = 0.0,
            maximum: float | None = None) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ParamError(name, f"must be a number, got {value!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum:g}" + (f" and <= {maximum:g}" if maximum is not None else "")
        raise ParamError(name, f"must be {bounds}, got {value!r}")
    return float(value)


def _whole_number(params: Mapping[str, Any], name: str, default: int, *, minimum: int = 0) -> int:
    value = _number(params, name, default, minimum=minimum)
    if not value.is_integer():
        raise ParamError(name, f"must be a whole number, got {params.get(name)!r}")
    return int(value)


def _flag(params: Mapping[str, Any], name: str, default: bool) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise ParamError(name, f"must be true or false, got {value!r}")
    return value


def check_confirm(params: Mapping[str, Any], database: str | None, dry_run: bool) -> str:
    """``confirm`` must name the target database unless the run is a dry run."""
    confirm = str(params.get("confirm") or "").strip()
    if dry_run:
        return confirm
    if not database:
        raise ParamError("confirm", "the Flink connection has no 'database' in its extra, so the target cannot be "
                                    "confirmed: add it (the Kafka cluster's name) to the connection")
    if confirm != database:
        raise ParamError("confirm", f"this run changes database '{database}': type exactly that to confirm "
                                    f"(got {confirm!r}), or set dry_run to plan only")
    return confirm


def check_version(name: str, value: Any, manifest: Manifest, tables: Sequence[str]) -> str | None:
    """The version that param ``name`` names (None: empty); each of ``tables`` must have it."""
    version = str(value or "").strip() or None
    lacking = [t for t in tables if version and version not in manifest.table(t).version_names]
    if lacking:
        raise ParamError(name, f"{version!r} is not a version of {lacking} in {manifest.path}; their "
                               f"versions: {list(manifest.table(lacking[0]).version_names)}")
    return version


def check_tables(params: Mapping[str, Any], manifest: Manifest) -> list[str]:
    """The chosen tables (none chosen: all) in dependency order; each must be in the manifest."""
    chosen = params.get("tables") or []
    if isinstance(chosen, str):
        chosen = [t.strip() for t in chosen.split(",") if t.strip()]
    if not isinstance(chosen, list) or not all(isinstance(t, str) for t in chosen):
        raise ParamError("tables", f"must be a list of table names, got {chosen!r}")
    unknown = sorted(set(chosen) - set(manifest.names))
    if unknown:
        raise ParamError("tables", f"{unknown} are not in the manifest {manifest.path}; known: {manifest.names}")
    return [t.name for t in manifest.subset(chosen or None)]


WINDOW_GRACE = timedelta(minutes=5)  # a window that opened moments ago (the form was slow) still counts


def check_window_start(value: Any) -> datetime | None:
    """An ISO 8601 date-time with a time zone, or empty for no wait."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ParamError("window_start", f"must be an ISO 8601 date-time such as 2026-01-31T22:00:00+00:00, "
                                         f"got {value!r}") from None
    if moment.tzinfo is None:
        raise ParamError("window_start", f"must carry a time zone (e.g. +00:00), got {value!r}")
    if moment < datetime.now(timezone.utc) - WINDOW_GRACE:
        raise ParamError("window_start", f"{value!r} is in the past: a maintenance window that already opened "
                                         "would stop pipelines at once; enter when the next window opens, or "
                                         "leave it empty to start now")
    return moment


FINAL_NAMES_V2, FINAL_NAMES_ORIGINAL = "v2", "original"


def check_final_names(value: Any) -> str:
    """Option B's final table names: ``original`` recreates them with the v2 schema; ``v2`` keeps ``_v2``."""
    if value in (FINAL_NAMES_ORIGINAL, FINAL_NAMES_V2):
        return value
    raise ParamError("final_names", f"must be '{FINAL_NAMES_ORIGINAL}' or '{FINAL_NAMES_V2}', got {value!r}")


def check_migration_params(params: Mapping[str, Any], manifest: Manifest, database: str | None,
                           option_flags: Mapping[str, bool] | None = None) -> RunParams:
    """Check a migration run's params; raise :class:`ParamError` on the first bad one.

    :param option_flags: the option's own boolean params and their defaults.
    """
    from confluent_migration.migration.criteria import SuccessCriteria

    tables = check_tables(params, manifest)
    dry_run = _flag(params, "dry_run", True)
    confirm = check_confirm(params, database, dry_run)
    d = CRITERIA_DEFAULTS
    criteria = SuccessCriteria(
        throughput_min_ratio=_number(params, "throughput_min_pct", d["throughput_min_pct"]) / 100,
        latency_max_ratio=_number(params, "latency_max_pct", d["latency_max_pct"]) / 100,
        error_rate_max=_number(params, "error_rate_max_pct", d["error_rate_max_pct"], maximum=100) / 100,
        freshness_max_seconds=_number(params, "freshness_max_seconds", d["freshness_max_seconds"]),
        window_minutes=_whole_number(params, "criteria_window_minutes", d["criteria_window_minutes"], minimum=1),
    )
    options: dict[str, Any] = {name: _flag(params, name, default) for name, default in (option_flags or {}).items()}
    if "window_start" in params:
        window = check_window_start(params.get("window_start"))
        options["window_start"] = window.isoformat() if window else None
    if "final_names" in params:
        options["final_names"] = check_final_names(params.get("final_names"))
    return RunParams(
        manifest=str(manifest.path),
        tables=tables,
        dry_run=dry_run,
        confirm=confirm,
        pending_records_threshold=int(_number(params, "pending_records_threshold", 100)),
        parity_tolerance=_number(params, "parity_tolerance_pct", 1.0, maximum=100) / 100,
        criteria=criteria,
        options=options,
        target_version=check_version("target_version", params.get("target_version"), manifest, tables),
    )


def check_rollback_params(params: Mapping[str, Any], database: str | None) -> dict[str, Any]:
    mode = params.get("mode", PLANNED)
    if mode not in (PLANNED, EMERGENCY):
        raise ParamError("mode", f"must be '{PLANNED}' or '{EMERGENCY}', got {mode!r}")
    dry_run = _flag(params, "dry_run", False)
    return {
        "migration_run": str(params.get("migration_run") or "").strip() or None,
        "mode": mode,
        "dry_run": dry_run,
        "confirm": check_confirm(params, database, dry_run),
        "flow_timeout_seconds": _number(params, "flow_timeout_minutes", 10, minimum=1) * 60,
    }


def check_health_params(params: Mapping[str, Any]) -> HealthThresholds:
    from confluent_migration.migration.criteria import HealthThresholds

    return HealthThresholds(
        lag_max_seconds=_number(params, "lag_max_seconds", 300),
        stale_max_seconds=_number(params, "stale_max_seconds", 1800),
        error_rate_max=_number(params, "error_rate_max_pct", 1.0, maximum=100) / 100,
        throughput_min_ratio=_number(params, "throughput_min_pct", 80) / 100,
    )
