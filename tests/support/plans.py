"""Plans for unit tests: an option's plan of some tables, from params as the trigger form sends them."""

from __future__ import annotations

from typing import Any

from confluent_migration.migration.manifest import Manifest
from confluent_migration.migration.params import check_migration_params
from confluent_migration.migration.plan_types import Plan
from confluent_migration.migration.plans import Move, Moves, plan


def plan_of(option: str, manifest: Manifest, tables: list[str], run_id: str = "manual__r1", slots: int | None = None,
            moves: Moves | None = None, **params: Any) -> Plan:
    """The plan of ``option`` for ``tables`` (a dry run) with the form's ``params`` (``final_names=...``),
    its levels padded to ``slots`` as a DAG's are, each table moved as ``moves`` says (default: from v1)."""
    run = check_migration_params({"tables": tables, **params}, manifest, None)
    return plan(option, manifest, run, run_id, slots, moves or {
        s.name: Move("v1", run.target_version or s.newest.name, s.v1.statement) for s in manifest.subset(tables)})
