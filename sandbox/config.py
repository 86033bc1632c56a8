"""Settings of one sandbox server, as given on its command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox needs to know about the Confluent Cloud account it stands in for."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8085
    api_key: str = "sandbox-key"
    api_secret: str = "sandbox-secret"
    organization_id: str = "00000000-0000-4000-8000-00000000000a"
    environment_id: str = "env-sandbox"
    compute_pool_id: str = "lfcp-sandbox"
    catalog: str = "sandbox-env"
    database: str = "sandbox-cluster"
    database_id: str = "lkc-sandbox"  # the Kafka cluster's id (Flink database id)
    world: str | None = None
    manifest: Path | None = None  # the world's tables; None: the configured manifest
    changes_per_second: float = 5.0
    contracts_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"
