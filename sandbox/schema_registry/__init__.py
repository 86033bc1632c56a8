"""Confluent Schema Registry API (``confluent-schema-registry-v1.openapi.yaml``)."""
