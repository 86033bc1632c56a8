"""Test helpers: sandbox fixtures and the real-Flink harness."""
