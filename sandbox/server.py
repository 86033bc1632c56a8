"""One sandbox: its store, its API services and their background work, served by uvicorn."""

from __future__ import annotations

import logging

import uvicorn
from fastapi import APIRouter

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.control import router as control_router
from sandbox.flink.api import router as flink_router
from sandbox.flink.executor import Executor
from sandbox.flink.service import FlinkService
from sandbox.metrics.api import router as metrics_router
from sandbox.metrics.series import MetricSeries
from sandbox.schema_registry.api import router as schema_registry_router
from sandbox.schema_registry.registry import SchemaRegistry
from sandbox.store import Store

log = logging.getLogger(__name__)


class Sandbox:
    """The services behind the HTTP API, over one :class:`Store`."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = Store(config.data_dir)
        self.schema_registry = SchemaRegistry(self.store)
        self.flink = FlinkService(self.store, self.schema_registry, config)
        self.metrics = MetricSeries(self.store, self.flink.progress)
        self.executor = Executor(self.flink.tick, self.metrics.sample, wake=self.flink.phase_asked)
        self.world = None
        if config.world == "encarta":
            from sandbox.world.encarta import EncartaWorld

            self.world = EncartaWorld(self)

    def routers(self) -> list[APIRouter]:
        return [schema_registry_router, flink_router, metrics_router, control_router]

    def start(self) -> None:
        """Start background work (statement execution, the world's change generator)."""
        self.executor.start()
        if self.world is not None:
            self.world.start()

    def stop(self) -> None:
        """Stop background work and close the store; state stays on disk."""
        if self.world is not None:
            self.world.stop()
        self.executor.stop()
        self.flink.statements.flush()
        self.store.close()


def serve(config: SandboxConfig) -> None:
    """Serve until interrupted (SIGINT or SIGTERM), then stop cleanly."""
    sandbox = Sandbox(config)
    sandbox.start()
    try:
        log.info("Confluent sandbox on %s (data in %s)", config.url, config.data_dir)
        uvicorn.run(create_app(sandbox), host=config.host, port=config.port, log_level="warning")
    finally:
        sandbox.stop()
