"""The package's run-time settings: an environment variable, else an Airflow Variable.

Read by tasks at run time, never while a DAG file is parsed (a Variable read at parse time would
query the metadata database on every parse)."""

from __future__ import annotations

import os


def setting(env: str, variable: str) -> str | None:
    """The value of ``env`` when set, else Airflow Variable ``variable``, else None."""
    if os.environ.get(env):
        return os.environ[env]
    try:
        from airflow.sdk import Variable

        return Variable.get(variable, default=None)
    except Exception:  # noqa: BLE001 - no Airflow API/DB here (e.g. a unit test): the default applies
        return None
