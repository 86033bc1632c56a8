"""
# Daily health check of the migrated pipelines

Scheduled daily (and triggerable) with the guide's alert thresholds as params: pipeline lag over
5 minutes, no updates for over 30 minutes, error rate over 1 %, throughput under 80 % of the
baseline recorded by the latest migration. It also checks that every table has a RUNNING pipeline,
that its column count equals its DDL's (v2 after a migration; `version` = v1 watches the old
pipelines) and that every row meets the manifest's `checks` (here `created_at <= updated_at`;
NULL fails); "updates" are the newest values of each table's `freshness` column. The Metrics API is
asked once per metric for all statements. Every run writes a report linked from its task
(*Migration report*): the figures of the last 90 checks charted against the thresholds, and this
check's verdicts. A breach fails the Airflow run and alerts through the webhook connection
`migration_alerts_webhook` (Slack incoming-webhook format).
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG

from confluent_migration.migration.dag_defaults import RETRIES, TAGS
from confluent_migration.migration.health import check_health
from confluent_migration.migration.notify import WebhookNotifier
from confluent_migration.migration.params import health_params
from confluent_migration.operators.summary import RunSummaryOperator

with DAG("post_migration_health_check", schedule="@daily", start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         catchup=False, doc_md=__doc__, tags=[*TAGS, "health"], params=health_params(),
         default_args={**RETRIES, "on_failure_callback": WebhookNotifier()}) as dag:
    RunSummaryOperator(task_id="check_pipeline_health", python_callable=check_health)
