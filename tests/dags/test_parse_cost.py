"""Parsing a DAG file imports no heavy client and checks no SQL: Airflow parses each file again for
every task run. Each file is parsed as the DAG processor parses it (``benchmarks.dag_parse``: a
fresh interpreter with Airflow imported, a forked child per file); what the parse loaded is listed.
The DAG file names the Airflow modules its operators come from, so the DAG processor imports them
once, before it forks each parse. How long a parse takes is the benchmark's business, not a test's
(shared machines are noisy)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.dag_parse import DAG_FILES, ROOT

HEAVY = ["confluent_kafka", "confluent_sql", "sqlglot", "matplotlib", "aiohttp", "requests", "avro"]
# The manifest's checks against its files: Flink DDL and pipeline SQL parsed (a task's job).
FILE_CHECKS = ["confluent_migration.flink_ddl", "sqlglot"]
LOADED_BY_PARSE = """
import json, sys, tempfile
from pathlib import Path
from airflow.dag_processing.dagbag import BundleDagBag
from benchmarks.dag_parse import DAG_FILES, in_child, parse, pre_import, prepare

prepare(Path(tempfile.mkdtemp()))
watched = json.loads(sys.argv[1])
def loaded(path):
    parse(path)
    return sorted({m for m in sys.modules if any(m == w or m.startswith(w + ".") for w in watched)} & set(watched))
def unnamed(path):
    pre_import(path)
    ready = set(sys.modules)
    [dag] = BundleDagBag(dag_folder=str(path), bundle_path=path.parent, load_op_links=False).dags.values()
    operators = {getattr(t, "operator_class", type(t)) for t in dag.tasks}
    airflow_bases = {next(c for c in op.__mro__ if c.__module__.startswith("airflow.")) for op in operators}
    return sorted({c.__module__ for c in airflow_bases} - ready)
print(json.dumps({"before": sorted(set(watched) & set(sys.modules)),
                  "unnamed": {p.name: in_child(unnamed, p) for p in DAG_FILES},
                  **{p.name: in_child(loaded, p) for p in DAG_FILES}}))
"""


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", LOADED_BY_PARSE, json.dumps(HEAVY + FILE_CHECKS)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found.pop("before") == [], "Airflow itself loaded a watched module: the check would prove nothing"
    return found


@pytest.mark.parametrize("dag_file", [p.name for p in DAG_FILES])
def test_parsing_a_dag_file_imports_no_heavy_client(loaded, dag_file):
    assert [m for m in loaded[dag_file] if m in HEAVY] == []


@pytest.mark.parametrize("dag_file", [p.name for p in DAG_FILES])
def test_parsing_a_dag_file_does_not_check_the_manifest_against_its_files(loaded, dag_file):
    assert [m for m in loaded[dag_file] if m in FILE_CHECKS] == []


@pytest.mark.parametrize("dag_file", [p.name for p in DAG_FILES])
def test_a_dag_file_names_the_airflow_modules_of_its_operators(loaded, dag_file):
    """The DAG processor imports a DAG file's airflow imports before it forks each parse
    (``[dag_processor] parsing_pre_import_modules``): an operator module it does not name (the
    human-in-the-loop operators, the date-time sensor's: 5-20 ms each), every parse imports again."""
    assert loaded["unnamed"][dag_file] == []
