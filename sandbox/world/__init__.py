"""Pre-built worlds for the sandbox: ``--world encarta`` (source CDC tables, the four derived tables
with their v1 pipelines RUNNING, and a change generator making live traffic)."""

from sandbox.world.status import status, summary, wait_until_ready

__all__ = ["status", "summary", "wait_until_ready"]
