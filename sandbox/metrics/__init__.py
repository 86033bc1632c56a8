"""Confluent's Metrics API (``confluent-metrics-v2.openapi.yaml``) for Flink statements, computed
from the sandbox's real statement counters, sampled into a small time series."""
