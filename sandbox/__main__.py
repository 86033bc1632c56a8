"""``python -m sandbox serve ...``: run the local Confluent Cloud sandbox."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sandbox.config import SandboxConfig


def _parser() -> argparse.ArgumentParser:
    d = SandboxConfig(data_dir=Path(".sandbox"))
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the Schema Registry, Flink SQL and Metrics APIs")
    serve.add_argument("--host", default=d.host, help=f"address to bind (default {d.host})")
    serve.add_argument("--port", type=int, default=d.port, help=f"port (default {d.port})")
    serve.add_argument("--data-dir", type=Path, default=d.data_dir,
                       help="where state lives; kept across restarts (default .sandbox)")
    serve.add_argument("--api-key", default=d.api_key, help=f"Basic auth user (default {d.api_key})")
    serve.add_argument("--api-secret", default=d.api_secret,
                       help=f"Basic auth password (default {d.api_secret})")
    serve.add_argument("--organization-id", default=d.organization_id)
    serve.add_argument("--environment-id", default=d.environment_id)
    serve.add_argument("--compute-pool-id", default=d.compute_pool_id)
    serve.add_argument("--catalog", default=d.catalog,
                       help=f"Flink catalog = environment name (default {d.catalog})")
    serve.add_argument("--database", default=d.database,
                       help=f"Flink database = Kafka cluster name (default {d.database})")
    serve.add_argument("--database-id", default=d.database_id,
                       help=f"Flink database id = Kafka cluster id (default {d.database_id})")
    serve.add_argument("--world", choices=["encarta"], default=None,
                       help="pre-build a world: encarta = the guide's tables with running pipelines")
    serve.add_argument("--manifest", type=Path, default=None,
                       help="the migration manifest whose sources and tables the world builds (default: "
                       "$CONFLUENT_MIGRATION_MANIFEST, else include/migration.yaml)")
    serve.add_argument("--changes-per-second", type=float, default=d.changes_per_second,
                       help=f"source changes the world's generator makes (default {d.changes_per_second})")
    serve.add_argument("--contracts-dir", type=Path, default=None,
                       help="validate every request and response against the OpenAPI specs here, "
                       "recording violations in <data-dir>/contract-violations.jsonl")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = vars(_parser().parse_args(argv))
    command = args.pop("command")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if command == "serve":
        from sandbox.server import serve

        serve(SandboxConfig(**args))


if __name__ == "__main__":
    main()
