"""A lock on tables that holds across DAGs: no two migrations or rollbacks touch the same table at once.

An Airflow pool of one slot would serialise whole DAGs but not know about tables, and Airflow
Variables have no compare-and-set. So each table has a lock object in the ledger storage,
``<ledger>/locks/<table>.json``, holding its owner (DAG, run, since). Taking it is an exclusive
create (``open(mode="x")``: atomic on local and shared file systems); where a store cannot create
exclusively, the object is written and read back, and the reader who does not find itself loses.
A run takes all its tables or none (sorted order, taken ones released on a conflict), takes them
again harmlessly on a retry (same owner), and releases them in a teardown task that runs even when
the run failed. A refusal names every lock held by another run, its holder and its file.

A lock left by a killed worker (kill -9: no teardown ran) is taken over by the rollback *of that
run*: a run whose ledger header says it is a rollback with ``target_run`` = the holder (same DAG as
the target's header) becomes the owner. Any other holder is refused; its lock is removed by
deleting its file after checking the run named in it is over. :func:`holders` lists the locks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from airflow.sdk import ObjectStoragePath
from airflow.sdk.exceptions import AirflowFailException

from confluent_migration.migration.ledger import Ledger, ledger_base, now_iso, safe_name


class LockHeldError(RuntimeError):
    """A table is locked by another migration or rollback run."""


@dataclass(frozen=True)
class Owner:
    dag_id: str
    run_id: str
    since: str = ""

    def same_run(self, other: dict) -> bool:
        return other.get("dag_id") == self.dag_id and other.get("run_id") == self.run_id


class TableLocks:
    """The table locks under a ledger location."""

    def __init__(self, base: ObjectStoragePath) -> None:
        self.base = base
        self.folder = base / "locks"

    def path(self, table: str) -> ObjectStoragePath:
        return self.folder / f"{safe_name(table)}.json"

    def holder(self, table: str) -> dict | None:
        path = self.path(table)
        try:
            return json.loads(path.read_text()) if path.exists() else None
        except FileNotFoundError:
            return None

    def rolled_back(self, run_id: str) -> dict | None:
        """``{"dag_id", "run_id"}`` of the run that ``run_id`` rolls back (from its ledger header), else None."""
        ledger = Ledger(self.base, run_id)
        header = ledger.header() if ledger.exists() else {}
        target = header.get("target_run") if header.get("kind") == "rollback" else None
        if not target or not Ledger(self.base, target).exists():
            return None
        return {"dag_id": Ledger(self.base, target).header()["dag_id"], "run_id": target}

    def _create(self, table: str, owner: Owner, take_over_from: dict | None) -> bool:
        """Create the lock object if absent (or take it over from ``take_over_from``); True when ``owner`` holds it."""
        path = self.path(table)
        text = json.dumps({**asdict(owner), "table": table})
        try:
            with path.open("x") as handle:
                handle.write(text)
            return True
        except FileExistsError:
            pass
        except (ValueError, NotImplementedError):  # a store without exclusive create: write, then read back
            if not path.exists():
                path.write_text(text)
        held = self.holder(table)
        if held is not None and take_over_from is not None and Owner(**take_over_from).same_run(held):
            path.write_text(json.dumps({**asdict(owner), "table": table, "took_over_from": held}))
            held = self.holder(table)
        return held is not None and owner.same_run(held)

    def acquire(self, tables: Iterable[str], *, dag_id: str, run_id: str) -> list[str]:
        """Lock every table or none; raise :class:`LockHeldError` naming every lock held by another run.

        A rollback run takes over the locks of the run it rolls back (see the module docstring)."""
        owner = Owner(dag_id, run_id, now_iso())
        take_over_from = self.rolled_back(run_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        taken: list[str] = []
        refused: list[str] = []
        for table in sorted(set(tables)):
            if self._create(table, owner, take_over_from):
                taken.append(table)
                continue
            held = self.holder(table) or {}
            refused.append(f"table '{table}' is locked by run '{held.get('run_id')}' of DAG '{held.get('dag_id')}' "
                           f"since {held.get('since')} (lock file {self.path(table)})")
        if refused:
            self._give_back(taken, owner)
            raise LockHeldError(
                f"run '{run_id}' of DAG '{dag_id}' locked nothing: " + "; ".join(refused) + ". Wait for those runs "
                "to finish, or roll them back (the rollback of a run takes over its locks). If a run is over and "
                "its lock was left behind, delete that lock file")
        return taken

    def _give_back(self, tables: Iterable[str], owner: Owner) -> None:
        """Undo a partial acquire: locks taken over go back to their holder, new ones are released."""
        for table in tables:
            held = self.holder(table) or {}
            if owner.same_run(held) and "took_over_from" in held:
                self.path(table).write_text(json.dumps(held["took_over_from"]))
            else:
                self.release([table], dag_id=owner.dag_id, run_id=owner.run_id)

    def release(self, tables: Iterable[str], *, dag_id: str, run_id: str) -> list[str]:
        """Release the tables this run holds; locks of other runs are left alone."""
        owner = Owner(dag_id, run_id)
        released = []
        for table in tables:
            held = self.holder(table)
            if held is not None and owner.same_run(held):
                self.path(table).unlink()
                released.append(table)
        return released

    def holders(self) -> dict[str, dict]:
        """Every lock held now: table -> owner."""
        if not self.folder.exists():
            return {}
        found = {}
        for path in self.folder.iterdir():
            if path.name.endswith(".json"):
                doc = json.loads(path.read_text())
                found[doc.get("table", path.name)] = doc
        return found


# The DAGs' lock tasks (no docstrings: a task callable's docstring becomes the task's doc). They
# take the run's first XCom, a migration's plan (Plan.to_xcom) or the rollback's choice: both list
# the run's "tables".
def acquire_lock(the_run: dict[str, Any], **context: Any) -> list[str]:
    locks = TableLocks(ledger_base())
    try:
        taken = locks.acquire(the_run["tables"], dag_id=context["dag"].dag_id, run_id=context["run_id"])
    except LockHeldError as held:
        raise AirflowFailException(str(held)) from held
    print(f"Locked {taken} for run {context['run_id']} (locks at {locks.folder})")
    return taken


def release_lock(the_run: dict[str, Any], **context: Any) -> list[str]:
    released = TableLocks(ledger_base()).release(the_run["tables"], dag_id=context["dag"].dag_id,
                                                 run_id=context["run_id"])
    print(f"Released {released}")
    return released
