"""What a deployment installs is enough: ``requirements.txt`` alone, in a clean virtual environment,
loads every DAG with no import error from the plugins folder (the package uninstalled; the wheel is
``tests/test_provider_package.py``'s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOAD_DAGS = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={dags!r})
print(json.dumps({{"dags": sorted(bag.dag_ids), "errors": bag.import_errors}}, default=str))
"""


def uv() -> str:
    found = Path(sys.executable).parent / "uv"
    if not found.exists():
        pytest.fail(f"uv is expected beside {sys.executable} (./dev installs it)")
    return str(found)


def test_requirements_txt_alone_loads_every_dag(tmp_path):
    venv = tmp_path / "deployment"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([uv(), "pip", "install", "-q", "-p", str(python), "-r", str(ROOT / "requirements.txt")],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    home = tmp_path / "airflow-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHONPATH", "VIRTUAL_ENV"))}
    env |= {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    loaded = subprocess.run([str(python), "-c", LOAD_DAGS.format(dags=str(ROOT / "dags"))], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    result = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}, result["errors"]
    expected = sorted(path.stem for path in (ROOT / "dags").glob("*.py"))
    assert result["dags"] == expected
