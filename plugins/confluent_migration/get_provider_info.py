"""What this package registers with Airflow as a provider (entry point ``apache_airflow_provider``).

Airflow's ``ProvidersManager`` reads it without importing the hooks: the connection types with the
hook that serves each one (so ``SQLExecuteQueryOperator``, ``SQLColumnCheckOperator``, ``SqlSensor``
and the other common-sql operators find :class:`~confluent_migration.hooks.flink_sql.FlinkSqlHook`
from a ``confluent_flink`` connection's type), the connection form's extra fields and labels
(declared here, as Airflow 3.2+ asks, instead of ``get_connection_form_widgets`` /
``get_ui_field_behaviour`` on the hooks), the hooks, operators, sensors and triggers by module, and
the extra links. The form stores each extra field under its own name in the connection's
``extra``, which is where the hooks read them.

The AirflowPlugin (``plugin.py``: the run reports server, the dry-run notes listener) is not
registered here: Airflow loads a provider's plugins only with ``[core] lazy_discover_providers =
False``, so it comes from the plugins folder (``plugins/`` here; one line importing
``ConfluentMigrationPlugin`` in a deployment's own plugins folder).
"""

from __future__ import annotations

from typing import Any

PACKAGE_NAME = "confluent-flink-schema-migration"
FLINK = "Confluent Cloud for Apache Flink"
SCHEMA_REGISTRY = "Confluent Schema Registry"
METRICS = "Confluent Cloud Metrics API"

FLINK_CONN_TYPE = "confluent_flink"
SCHEMA_REGISTRY_CONN_TYPE = "confluent_schema_registry"
METRICS_CONN_TYPE = "confluent_metrics"


def _text(label: str, description: str) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": ["string", "null"]}}


FLINK_FIELDS = {
    "organization_id": _text("Organization ID", "The Confluent Cloud organization (a UUID). Required."),
    "environment_id": _text("Environment ID", "The environment of the compute pool (env-...). Required."),
    "compute_pool_id": _text("Compute pool ID", "The Flink compute pool statements run in (lfcp-...)."),
    "principal": _text("Principal", "The service account statements run as (sa-...)."),
    "catalog": _text("Catalog", "The Flink catalog: the environment's name (default: the environment ID)."),
    "database": _text("Database", "The Flink database: the Kafka cluster's name. A migration run's "
                                  "'confirm' param must equal it."),
}


def _http_api(host: str, host_placeholder: str, key: str) -> dict[str, Any]:
    """A Confluent API reached over HTTPS with an API key: URL in host, key and secret as login/password."""
    return {
        "hidden-fields": ["schema"],
        "relabeling": {"host": host, "login": f"{key} key", "password": f"{key} secret"},
        "placeholders": {"host": host_placeholder, "port": "443 (or in the URL)"},
    }


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": PACKAGE_NAME,
        "name": "Confluent Cloud Flink schema migration",
        "description": "Migrates live Confluent Cloud for Apache Flink SQL pipelines to a new table schema: "
                       "hooks, operators, sensors and triggers on the Flink SQL statements API, the Flink "
                       "SQL driver (a common-sql ``DbApiHook``), Schema Registry and the Metrics API.",
        "integrations": [
            {"integration-name": FLINK, "external-doc-url": "https://docs.confluent.io/cloud/current/flink/",
             "tags": ["service"]},
            {"integration-name": SCHEMA_REGISTRY,
             "external-doc-url": "https://docs.confluent.io/cloud/current/sr/index.html", "tags": ["service"]},
            {"integration-name": METRICS,
             "external-doc-url": "https://docs.confluent.io/cloud/current/monitoring/metrics-api.html",
             "tags": ["service"]},
        ],
        "operators": [
            {"integration-name": FLINK, "python-modules": ["confluent_migration.operators.flink"]},
            {"integration-name": SCHEMA_REGISTRY,
             "python-modules": ["confluent_migration.operators.schema_registry"]},
        ],
        "sensors": [
            {"integration-name": FLINK, "python-modules": ["confluent_migration.sensors.flink"]},
        ],
        "hooks": [
            {"integration-name": FLINK, "python-modules": ["confluent_migration.hooks.flink_sql",
                                                           "confluent_migration.hooks.flink_statements"]},
            {"integration-name": SCHEMA_REGISTRY, "python-modules": ["confluent_migration.hooks.schema_registry"]},
            {"integration-name": METRICS, "python-modules": ["confluent_migration.hooks.metrics"]},
        ],
        "triggers": [
            {"integration-name": FLINK, "python-modules": ["confluent_migration.triggers.flink"]},
        ],
        "connection-types": [
            {
                "connection-type": FLINK_CONN_TYPE,
                "hook-class-name": "confluent_migration.hooks.flink_sql.FlinkSqlHook",
                "hook-name": "Confluent Flink SQL",
                "conn-fields": FLINK_FIELDS,
                "ui-field-behaviour": _http_api("Flink endpoint", "https://flink.us-east-2.aws.confluent.cloud",
                                                "Flink API"),
            },
            {
                "connection-type": SCHEMA_REGISTRY_CONN_TYPE,
                "hook-class-name": "confluent_migration.hooks.schema_registry.SchemaRegistryHook",
                "hook-name": "Confluent Schema Registry",
                "ui-field-behaviour": _http_api("Schema Registry URL",
                                                "https://psrc-xxxxx.us-east-2.aws.confluent.cloud",
                                                "Schema Registry API"),
            },
            {
                "connection-type": METRICS_CONN_TYPE,
                "hook-class-name": "confluent_migration.hooks.metrics.ConfluentMetricsHook",
                "hook-name": "Confluent Metrics API",
                "ui-field-behaviour": _http_api("Metrics API URL", "https://api.telemetry.confluent.cloud",
                                                "Cloud API"),
            },
        ],
        "extra-links": [
            "confluent_migration.links.ConfluentStatementLink",
            "confluent_migration.links.SchemaRegistrySubjectLink",
            "confluent_migration.links.RunReportLink",
        ],
    }
