"""docker-compose.yaml can't run here (no Docker engine); check what can be checked statically."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = [name for name in SERVICES if name.startswith("airflow-")]


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR:-default} / ${VAR} substitution."""

    def value(match: re.Match) -> str:
        name, default = match.group(1), match.group(3) or ""
        return env.get(name) or default

    return re.sub(r"\$\{([A-Z0-9_]+)(:-([^}]*))?\}", value, text)


def _example_env() -> dict[str, str]:
    env = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, val = line.partition("=")
            env[key] = val or f"<{key}>"
    return env


def test_the_official_airflow_services_are_all_there():
    expected = {"postgres", "redis", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                "airflow-triggerer", "airflow-worker", "airflow-init"}
    assert expected <= set(SERVICES)
    assert SERVICES["airflow-worker"]["command"] == "celery worker"
    assert {SERVICES[s]["environment"]["AIRFLOW__CORE__EXECUTOR"] for s in AIRFLOW_SERVICES} == {"CeleryExecutor"}


def test_every_mounted_host_path_exists_and_the_package_folders_are_mounted():
    mounted = set()
    for name in AIRFLOW_SERVICES:
        for volume in SERVICES[name].get("volumes", []):
            host, _, container = volume.partition(":")
            if host.startswith("."):
                assert (ROOT / host).exists(), f"{name} mounts {host}, which is not in the repo"
                mounted.add(container)
    assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include"} <= mounted
    assert (ROOT / SERVICES["airflow-apiserver"]["build"] / "Dockerfile").exists()


def test_confluent_connections_come_from_env_and_are_valid_json():
    env = _example_env()
    common = SERVICES["airflow-scheduler"]["environment"]
    conns = {k: json.loads(_interpolate(v, env)) for k, v in common.items() if k.startswith("AIRFLOW_CONN_")}
    assert {"AIRFLOW_CONN_SCHEMA_REGISTRY_DEFAULT", "AIRFLOW_CONN_CONFLUENT_FLINK_DEFAULT",
            "AIRFLOW_CONN_CONFLUENT_METRICS_DEFAULT"} <= set(conns)
    flink = conns["AIRFLOW_CONN_CONFLUENT_FLINK_DEFAULT"]
    assert set(flink["extra"]) == {"organization_id", "environment_id", "compute_pool_id", "principal",
                                   "catalog", "database"}
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+)", (ROOT / "docker-compose.yaml").read_text()))
    undocumented = {v for v in referenced if v.startswith(("CONFLUENT_", "MIGRATION_"))} - set(env)
    assert not undocumented, f".env.example does not document {sorted(undocumented)}"


def test_no_secret_is_committed():
    assert not (ROOT / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text()
    for key, value in _example_env().items():
        if key.endswith(("_SECRET", "_API_KEY")):
            assert value == f"<{key}>", f".env.example must leave {key} empty"


def test_the_image_installs_the_package_as_a_provider_from_the_mounted_plugins_folder():
    """Editable from /opt/airflow, so its path entry is the mounted plugins folder (no rebuild after an edit)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY --chown=airflow:root pyproject.toml /opt/airflow/pyproject.toml" in dockerfile
    assert re.search(r"^RUN pip install .*--no-deps -e /opt/airflow$", dockerfile, re.MULTILINE)
    assert dockerfile.index("-r /requirements.txt") < dockerfile.index("-e /opt/airflow")
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert packages["packages"] == ["plugins/confluent_migration"]
    mounts = {v.partition(":")[0]: v.partition(":")[2] for v in SERVICES["airflow-scheduler"]["volumes"]}
    assert mounts["./plugins"] == "/opt/airflow/plugins"
