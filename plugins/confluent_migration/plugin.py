"""Registers the console links with Airflow so the UI can show them for serialized DAGs."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from confluent_migration.links import ConfluentStatementLink, SchemaRegistrySubjectLink


class ConfluentMigrationPlugin(AirflowPlugin):
    name = "confluent_migration"
    operator_extra_links = [ConfluentStatementLink(), SchemaRegistrySubjectLink()]
