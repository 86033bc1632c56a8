"""Hooks on Confluent Cloud's APIs.

Their modules import heavy clients (``confluent_sql``, ``confluent_kafka``, the http provider's
``aiohttp`` and ``requests``), so code that a DAG file imports uses them only where a task runs;
the default connection ids are here, for signatures.
"""

FLINK_CONN_ID = "confluent_flink_default"
METRICS_CONN_ID = "confluent_metrics_default"
SCHEMA_REGISTRY_CONN_ID = "schema_registry_default"
