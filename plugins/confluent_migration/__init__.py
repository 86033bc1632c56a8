"""Confluent Cloud Flink SQL schema migrations for Airflow."""

DAG_TAG = "schema-migration"  # every DAG of this package carries it
