"""Test session setup: a private AIRFLOW_HOME before Airflow is imported, and the sandbox fixtures."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_home = Path(tempfile.mkdtemp(prefix="airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home}/airflow.db"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "plugins"), str(ROOT), os.environ.get("PYTHONPATH")]))

# Airflow finds the provider (connection types -> hooks) by its entry point, here and in every child process
from tests.support.provider import register_from_source  # noqa: E402

register_from_source(_home / "provider")

pytest_plugins = ["tests.support.sandbox_fixtures"]

