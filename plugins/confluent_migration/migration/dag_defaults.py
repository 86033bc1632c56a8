"""What every DAG of the package shares: its tags and its retries (light: DAG files import it)."""

from __future__ import annotations

from datetime import timedelta

from confluent_migration import DAG_TAG

TAGS = ["confluent", "flink", DAG_TAG]
# Every step is safe to retry (a stop of a stopped statement keeps its offsets, a create adopts its
# own statement, a registration finds its schema, the ledger keeps the first "before" state), so a
# 429 storm, an outage of a minute or a killed worker costs a retry, not the run. Verdicts that a
# retry cannot change (bad params, a held lock, a failed gate, a rejection) fail at once.
RETRIES = {"retries": 3, "retry_delay": timedelta(seconds=20)}
