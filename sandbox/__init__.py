"""A local stand-in for Confluent Cloud: Schema Registry, Flink SQL statements and Metrics APIs.

A test double for development and the end-to-end tests. It serves the published contracts in
``../shared/contracts/`` on one loopback port over a DuckDB store. Product code (``plugins/``)
never imports it and never asks whether it talks to it.
"""
