"""The package as users install it: the wheel built from ``pyproject.toml``, installed with
``requirements.txt``'s pins into a clean virtual environment, is an Airflow provider there (its
connection types, hooks, triggers and extra links registered, common-sql on the Flink connection) and
loads every DAG of ``dags/`` with no import error, with nothing of this repository on the path but
the DAG files and the manifest it is told about (``CONFLUENT_MIGRATION_MANIFEST``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CHECK = """
import importlib.metadata, json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers_manager import ProvidersManager
from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService
import confluent_migration

bag = DagBag(dag_folder=sys.argv[1])
manager, hooks = ProvidersManager(), ProvidersManagerTaskRuntime().hooks
provider = manager.providers.get({name!r})
types = ("confluent_flink", "confluent_schema_registry", "confluent_metrics")
forms = {{m.connection_type: m for m in HookMetaService.hook_meta_data()}}
hook = SQLExecuteQueryOperator(task_id="q", conn_id="confluent_flink_default", sql="SHOW TABLES").get_db_hook()
print(json.dumps({{
    "dags": sorted(bag.dag_ids), "errors": bag.import_errors,
    "package": confluent_migration.__file__,
    "provider": provider and provider.version,
    "hooks": {{t: hooks[t] and hooks[t].hook_class_name for t in types}},
    "flink_fields": sorted((forms["confluent_flink"].extra_fields or {{}})),
    "sql_hook": type(hook).__module__ + "." + type(hook).__name__,
    "extra_links": [c for c in manager.extra_links_class_names if c.startswith("confluent_migration.")],
    "triggers": sorted(t.trigger_class_name for t in manager.trigger if t.package_name == {name!r}),
    "versions": {{name: importlib.metadata.version(name) for name in {pinned!r}}},
}}, default=str))
"""


def uv() -> str:
    found = Path(sys.executable).parent / "uv"
    if not found.exists():
        pytest.fail(f"uv is expected beside {sys.executable} (./dev installs it)")
    return str(found)


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def test_the_wheel_installs_with_the_pins_into_a_clean_venv_as_a_provider_and_loads_the_dags(tmp_path):
    started = time.monotonic()
    run(uv(), "build", "--wheel", "--quiet", "--out-dir", str(tmp_path / "dist"), str(ROOT))
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/")[0] for name in archive.namelist()}
        entry_points = archive.read(f"{wheel.name.split('-')[0]}-{PROJECT['version']}.dist-info/entry_points.txt")
    assert top == {"confluent_migration", f"{wheel.name.split('-')[0]}-{PROJECT['version']}.dist-info"}
    assert "[apache_airflow_provider]" in entry_points.decode()
    built = time.monotonic()

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    run(uv(), "pip", "install", "--quiet", "-p", str(python), str(wheel), "-c", str(ROOT / "requirements.txt"))
    run(uv(), "pip", "check", "--quiet", "-p", str(python))
    installed = time.monotonic()

    plugins = tmp_path / "plugins"  # an empty plugins folder: the package comes from the wheel only
    plugins.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHONPATH", "VIRTUAL_ENV", "CONFLUENT"))}
    env |= {"AIRFLOW_HOME": str(tmp_path / "airflow-home"), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "CONFLUENT_MIGRATION_MANIFEST": str(ROOT / "include" / "migration.yaml"),
            "AIRFLOW_CONN_CONFLUENT_FLINK_DEFAULT": json.dumps({
                "conn_type": "confluent_flink", "host": "https://flink.us-east-2.aws.confluent.cloud",
                "extra": {"organization_id": "org", "environment_id": "env-x", "database": "cluster"}})}
    pinned = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
                  if line and not line.startswith("#"))
    pinned = {name.split("[")[0]: version for name, version in pinned.items()}
    loaded = run(str(python), "-c", CHECK.format(name=PROJECT["name"], pinned=sorted(pinned)), str(ROOT / "dags"),
                 cwd=tmp_path, env=env)
    result = json.loads(loaded.stdout.strip().splitlines()[-1])
    print(f"built in {built - started:.1f}s, installed in {installed - built:.1f}s, "
          f"DAGs loaded in {time.monotonic() - installed:.1f}s")

    assert result["versions"] == pinned  # requirements.txt's pins, as a deployment installs them
    assert result["errors"] == {}, result["errors"]
    assert result["dags"] == sorted(path.stem for path in (ROOT / "dags").glob("*.py"))
    assert Path(result["package"]).is_relative_to(venv), result["package"]
    assert result["provider"] == PROJECT["version"]
    assert result["hooks"] == {"confluent_flink": "confluent_migration.hooks.flink_sql.FlinkSqlHook",
                               "confluent_schema_registry": "confluent_migration.hooks.schema_registry.SchemaRegistryHook",
                               "confluent_metrics": "confluent_migration.hooks.metrics.ConfluentMetricsHook"}
    assert result["flink_fields"] == sorted(["organization_id", "environment_id", "compute_pool_id", "principal",
                                             "catalog", "database"])
    assert result["sql_hook"] == "confluent_migration.hooks.flink_sql.FlinkSqlHook"
    assert result["extra_links"] == ["confluent_migration.links.ConfluentStatementLink",
                                     "confluent_migration.links.RunReportLink",
                                     "confluent_migration.links.SchemaRegistrySubjectLink"]
    assert result["triggers"] == ["confluent_migration.triggers.flink"]
