"""Plans for unit tests: an option's plan of some tables, from params as the trigger form sends them."""

from __future__ import annotations

from typing import Any

from confluent_migration.migration.manifest import Manifest
from confluent_migration.migration.params import check_migration_params
from confluent_migration.migration.plan_types import Plan
from confluent_migration.migration.plans import plan


def plan_of(option: str, manifest: Manifest, tables: list[str], run_id: str = "manual__r1", slots: int | None = None,
            **params: Any) -> Plan:
    """The plan of ``option`` for ``tables`` (a dry run) with the form's ``params`` (``final_names=...``),
    its levels padded to ``slots`` as a DAG's are."""
    return plan(option, manifest, check_migration_params({"tables": tables, **params}, manifest, None), run_id, slots)
