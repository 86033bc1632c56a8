"""The Airflow connections that point the DAGs at a sandbox, as ``AIRFLOW_CONN_*`` variables.

The same fields point them at Confluent Cloud: see the README's "Real Confluent Cloud" section.
"""

from __future__ import annotations

import json

from sandbox.config import SandboxConfig


def airflow_connections(config: SandboxConfig) -> dict[str, dict]:
    """Connection id -> Airflow connection as a dict (the JSON form Airflow reads from env)."""
    auth = {"login": config.api_key, "password": config.api_secret}
    return {
        "schema_registry_default": {"conn_type": "confluent_schema_registry", "host": config.url, **auth},
        "confluent_flink_default": {
            "conn_type": "confluent_flink",
            "host": config.url,
            **auth,
            "extra": {
                "organization_id": config.organization_id,
                "environment_id": config.environment_id,
                "compute_pool_id": config.compute_pool_id,
                "principal": "sa-sandbox",
                "catalog": config.catalog,
                "database": config.database,
            },
        },
        "confluent_metrics_default": {"conn_type": "confluent_metrics", "host": config.url, **auth},
    }


def airflow_connection_env(config: SandboxConfig) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` environment variables for :func:`airflow_connections`."""
    return {
        f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn)
        for conn_id, conn in airflow_connections(config).items()
    }
