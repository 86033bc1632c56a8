"""The provider registered from the source tree, for processes that run the package from ``plugins/``.

Airflow finds a provider (its connection types, hooks, triggers, extra links) by the
``apache_airflow_provider`` entry point of an installed distribution. The tests, ``./dev ui`` and
``./dev demo`` run the package from ``plugins/`` on ``PYTHONPATH`` without installing it (a shared
``.venv`` must not point at one checkout's sources), so this writes what an editable install
(``pip install -e .``) puts in site-packages besides its path entry: the distribution's metadata,
its name, version and entry points read from ``pyproject.toml``, in a folder put on ``sys.path``
and ``PYTHONPATH`` (child processes: the Airflow components, task processes). When the
distribution is installed (editable or the wheel), nothing is written: its entry point names the
same module, which resolves to ``plugins/`` first on the path.

``python -m tests.support.provider FOLDER`` prints the folder to add to ``PYTHONPATH`` (nothing
when the distribution is installed).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def write_metadata(folder: Path) -> Path | None:
    """The distribution's ``.dist-info`` in ``folder`` unless it is installed; returns ``folder`` or None."""
    spec = project()
    if installed(spec["name"]):
        return None
    stem = spec["name"].replace("-", "_")
    for old in folder.glob(f"{stem}-*.dist-info"):  # a kept folder (./dev's) may hold another version's
        shutil.rmtree(old)
    info = folder / f"{stem}-{spec['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {spec['name']}\nVersion: {spec['version']}\n")
    groups = [f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in entries.items())
              for group, entries in spec.get("entry-points", {}).items()]
    (info / "entry_points.txt").write_text("\n".join(groups))
    return folder


def register_from_source(folder: Path) -> Path | None:
    """Make Airflow in this process and its children find the provider; the folder added, or None."""
    added = write_metadata(folder)
    if added is not None:
        sys.path.append(str(added))
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(added)]))
    return added


if __name__ == "__main__":
    added = write_metadata(Path(sys.argv[1]).absolute())
    print(added or "")
