"""Trigger params: bad values fail before anything changes, naming the param and why."""

from __future__ import annotations

import pytest

from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.params import (
    CRITERIA_DEFAULTS,
    ParamError,
    check_health_params,
    check_migration_params,
    check_rollback_params,
    migration_params,
)

MANIFEST = load_manifest()
ALL = MANIFEST.names


def check(**params):
    return check_migration_params({"tables": ALL, "dry_run": False, "confirm": "prod-cluster", **params},
                                  MANIFEST, "prod-cluster")


def test_tables_come_back_in_dependency_order():
    run = check(tables=["skus_master", "skus_uoms_agg"])
    assert run.tables == ["skus_uoms_agg", "skus_master"]


def test_an_unknown_table_names_the_param_and_the_known_tables():
    with pytest.raises(ParamError, match=r"param 'tables': \['skus'\] are not in the manifest.*skus_master"):
        check(tables=["skus"])


def test_no_tables_chosen_means_all_of_the_manifest_in_dependency_order():
    assert check(tables=[]).tables == check(tables=None).tables == [t.name for t in MANIFEST.in_dependency_order()]


def test_the_run_records_the_manifest_it_loaded():
    assert check().manifest == str(MANIFEST.path)


def test_a_changing_run_needs_the_target_database_confirmed():
    with pytest.raises(ParamError, match="param 'confirm': this run changes database 'prod-cluster'"):
        check(confirm="prod")


def test_a_dry_run_needs_no_confirmation():
    run = check(dry_run=True, confirm="")
    assert run.dry_run and run.confirm == ""


def test_a_connection_without_database_cannot_be_confirmed():
    with pytest.raises(ParamError, match="no 'database' in its extra"):
        check_migration_params({"tables": ALL, "dry_run": False, "confirm": "x"}, MANIFEST, None)


def test_thresholds_become_ratios_and_bad_ones_are_named():
    run = check(throughput_min_pct=90, latency_max_pct=110, error_rate_max_pct=0.5, freshness_max_seconds=60)
    assert (run.criteria.throughput_min_ratio, run.criteria.latency_max_ratio) == (0.9, 1.1)
    assert run.criteria.error_rate_max == pytest.approx(0.005)
    with pytest.raises(ParamError, match="param 'error_rate_max_pct': must be >= 0 and <= 100"):
        check(error_rate_max_pct=150)
    with pytest.raises(ParamError, match="param 'pending_records_threshold': must be a number"):
        check(pending_records_threshold="lots")


def test_the_forms_thresholds_and_the_unset_ones_are_the_success_criterias_defaults():
    from confluent_migration.migration.criteria import SuccessCriteria

    form = {name: p.value for name, p in migration_params(target={}).items() if name in CRITERIA_DEFAULTS}
    assert form == CRITERIA_DEFAULTS
    assert check(**form).criteria == check().criteria == SuccessCriteria()


def test_the_throughput_window_is_whole_minutes():
    assert check().criteria.window_minutes == 5
    assert check(criteria_window_minutes=2).criteria.window_minutes == 2
    with pytest.raises(ParamError, match="param 'criteria_window_minutes': must be a whole number, got 1.5"):
        check(criteria_window_minutes=1.5)
    with pytest.raises(ParamError, match="param 'criteria_window_minutes': must be >= 1, got 0"):
        check(criteria_window_minutes=0)


def test_option_flags_must_be_booleans():
    run = check_migration_params({"tables": ALL, "dry_run": True, "skip_approval": True}, MANIFEST, None,
                                 {"skip_approval": False, "keep_v2_names": False})
    assert run.options == {"skip_approval": True, "keep_v2_names": False}
    with pytest.raises(ParamError, match="param 'keep_v2_names': must be true or false"):
        check_migration_params({"tables": ALL, "dry_run": True, "keep_v2_names": "yes"}, MANIFEST, None,
                               {"keep_v2_names": False})


def test_a_maintenance_window_in_the_past_is_refused_before_anything_stops():
    from datetime import datetime, timedelta, timezone

    last_year = (datetime.now(timezone.utc) - timedelta(days=365)).isoformat()
    with pytest.raises(ParamError, match="param 'window_start': .* is in the past"):
        check(window_start=last_year)
    moments_ago = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    assert check(window_start=moments_ago).options["window_start"] == moments_ago


def test_a_param_error_fails_the_task_without_retries():
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException):
        check(confirm="another-cluster")


def test_window_start_needs_a_time_zone():
    run = check_migration_params({"tables": ALL, "dry_run": True, "window_start": "2099-01-31T22:00:00Z"},
                                 MANIFEST, None)
    assert run.options["window_start"] == "2099-01-31T22:00:00+00:00"
    with pytest.raises(ParamError, match="param 'window_start': must carry a time zone"):
        check_migration_params({"tables": ALL, "dry_run": True, "window_start": "2026-01-31T22:00:00"},
                               MANIFEST, None)


def test_the_form_reads_no_manifest_and_has_safe_defaults():
    form = migration_params()
    assert form["tables"].value == [] and "enum" not in form["tables"].schema["items"]  # empty: all of them
    assert form["manifest"].value is None and "confluent_migration_manifest" in form["manifest"].description
    assert form["dry_run"].value is True
    assert form["confirm"].value is None


def test_the_form_names_the_target_from_the_connection_in_the_environment():
    import json

    from confluent_migration.migration.params import flink_target

    extra = {"database": "lkc-prod", "catalog": "prod-env", "environment_id": "env-123"}
    as_json = {"AIRFLOW_CONN_CONFLUENT_FLINK_DEFAULT": json.dumps({"conn_type": "http", "extra": extra})}
    as_uri = {"AIRFLOW_CONN_CONFLUENT_FLINK_DEFAULT": "http://k:s@flink.example?database=lkc-prod&catalog=prod-env"
                                                      "&environment_id=env-123"}
    assert flink_target(as_json) == flink_target(as_uri) == extra
    form = migration_params(target=flink_target(as_json))
    assert form["confirm"].description == ("This run changes database 'lkc-prod' (catalog prod-env, environment_id "
                                           "env-123). Type 'lkc-prod' to allow the changes; leave empty for a dry run.")
    assert flink_target({}) == {} and flink_target({"AIRFLOW_CONN_CONFLUENT_FLINK_DEFAULT": "{not json"}) == {}
    unknown = migration_params(target={})["confirm"].description
    assert "extra of connection 'confluent_flink_default'" in unknown and "cannot be shown here" in unknown


def test_rollback_mode_and_health_thresholds():
    assert check_rollback_params({"mode": "emergency", "confirm": "db"}, "db")["mode"] == "emergency"
    with pytest.raises(ParamError, match="param 'mode'"):
        check_rollback_params({"mode": "fast", "confirm": "db"}, "db")
    thresholds = check_health_params({"lag_max_seconds": 60, "error_rate_max_pct": 2})
    assert (thresholds.lag_max_seconds, thresholds.error_rate_max) == (60, 0.02)
