"""How long each DAG file takes to parse, against an empty DAG file (issue 13, item 4).

    python -m benchmarks.dag_parse [--rounds 9] [--no-pre-import] [--plugins-folder]

Parsed as Airflow parses them: one process imports Airflow, then forks a child per parse (the DAG
processor forks one per file, and every task run parses its file again in a fresh child), which
loads the one file with ``BundleDagBag`` and reports how long that took. Before it forks, the DAG
processor imports the airflow modules the file imports (``[dag_processor] parsing_pre_import_modules``,
on by default), into itself, so a parse finds them loaded; so does this one (``--no-pre-import``: not,
as a task run parses its file in a provider-package install). ``--plugins-folder``: first, as every
Airflow process of a deployment whose plugins folder is this repository's ``plugins/`` (the compose
file, ``./dev``), load the plugins, which imports every module there (with ``--no-pre-import``: a
task run there, forked from a scheduler that has loaded them). Modules load from bytecode
caches, as in a deployment (kept in a temporary ``sys.pycache_prefix``, so nothing is written into
the tree even where ``PYTHONDONTWRITEBYTECODE`` is set); a first round fills them and is not
counted. Each round parses every file once, so a busy neighbour slows them all alike; each file's
median is compared with the empty file's, in wall-clock time (the target: at most 10x) and in CPU
time (less disturbed by other processes on a shared machine).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
TARGET = 10.0
EMPTY_DAG = 'from airflow.sdk import DAG\n\nwith DAG("empty", schedule=None):\n    pass\n'


def prepare(folder: Path, plugins_folder: Path | None = None) -> None:
    """Airflow set up as the DAG processor has it (no examples; a home in ``folder`` unless one is
    set), imported once, its plugins loaded from ``plugins_folder`` if given; bytecode cached in
    ``folder``."""
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(folder / "pycache")
    os.environ.setdefault("AIRFLOW_HOME", str(folder / "airflow-home"))
    if plugins_folder is not None:
        os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(plugins_folder)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    for path in (ROOT / "plugins", ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    for module in ("airflow.sdk", "airflow.dag_processing.dagbag", "airflow.dag_processing.processor"):
        importlib.import_module(module)
    if plugins_folder is not None:
        importlib.import_module("airflow.plugins_manager").ensure_plugins_loaded()


def in_child(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a forked child, as Airflow parses a file; its (picklable) result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            payload = pickle.dumps((True, fn(*args)))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
            payload = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
        with os.fdopen(write, "wb") as out:
            out.write(payload)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        ok, value = pickle.loads(answer.read())
    os.waitpid(pid, 0)
    if not ok:
        raise RuntimeError(value)
    return value


def parse(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds to load ``path`` as the DAG processor does; an import error fails."""
    from airflow.dag_processing.dagbag import BundleDagBag

    wall, cpu = time.perf_counter(), time.process_time()
    bag = BundleDagBag(dag_folder=str(path), bundle_path=path.parent, load_op_links=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if bag.import_errors or not bag.dags:
        raise RuntimeError(f"{path.name} did not parse: {bag.import_errors or 'no DAG'}")
    return wall, cpu


def pre_import(path: Path) -> None:
    """What the DAG processor does in itself before it forks a parse of ``path``: import the airflow
    modules the file imports (once: they stay loaded for the next parses)."""
    from airflow.dag_processing.processor import _pre_import_airflow_modules

    _pre_import_airflow_modules(str(path), logging.getLogger(__name__))


def medians(files: list[Path], rounds: int, pre_imports: bool = True) -> dict[Path, tuple[float, float]]:
    """Each file's median (wall, CPU) seconds over ``rounds`` interleaved rounds.

    :param pre_imports: as the DAG processor parses them (:func:`pre_import`); else as a task run does."""
    times: dict[Path, list[tuple[float, float]]] = {path: [] for path in files}
    for path in files:
        if pre_imports:
            pre_import(path)
        in_child(parse, path)  # fills the bytecode caches
    for _ in range(rounds):
        for path in files:
            times[path].append(in_child(parse, path))
    return {path: (statistics.median(w for w, _ in found), statistics.median(c for _, c in found))
            for path, found in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="parses of each file; the median counts")
    parser.add_argument("--no-pre-import", dest="pre_imports", action="store_false",
                        help="import nothing before a parse forks, as a task run parses its file")
    parser.add_argument("--plugins-folder", action="store_true",
                        help="load the plugins from plugins/ first, as every process of the compose "
                             "deployment does")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        prepare(Path(folder), ROOT / "plugins" if args.plugins_folder else None)
        empty = Path(folder) / "empty_dag.py"
        empty.write_text(EMPTY_DAG)
        result = medians([empty, *DAG_FILES], args.rounds, args.pre_imports)
    base_wall, base_cpu = result.pop(empty)
    how = "as the DAG processor: airflow modules pre-imported" if args.pre_imports else "as a task run"
    how += ", plugins loaded from plugins/" if args.plugins_folder else ""
    print(f"median of {args.rounds} parses each (BundleDagBag in a forked child, {how}); ratio to the empty DAG file")
    print(f"{'':<40} {'wall':>9} {'ratio':>6} {'CPU':>9} {'ratio':>6}")
    print(f"{'empty DAG file':<40} {base_wall * 1000:6.1f} ms {'':>6} {base_cpu * 1000:6.1f} ms")
    worst = 0.0
    for path, (wall, cpu) in result.items():
        worst = max(worst, wall / base_wall)
        print(f"{path.name:<40} {wall * 1000:6.1f} ms {wall / base_wall:5.1f}x {cpu * 1000:6.1f} ms "
              f"{cpu / base_cpu:5.1f}x")
    verdict = "PASS" if worst <= TARGET else "FAIL"
    print(f"{verdict}: the slowest DAG file parses in {worst:.1f}x the empty file's wall-clock time "
          f"(target <= {TARGET:g}x)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
