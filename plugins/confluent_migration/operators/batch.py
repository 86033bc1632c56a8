"""One operator, one action, for 1..n items: the shared base of the operators that act on one thing.

Each such operator acts on one thing given by its own fields (``subject``, ``schema``, ...), or
on a batch of them given as ``items``: a list of the same kwargs, one mapping per thing. With
``items`` the task makes its action for every item at once (``max_concurrency`` threads; each call
keeps its hook's timeout, retry and 429 handling), so a step over 40 tables can be mapped over a few
batches, paying a few task start-ups instead of one per table. Items are independent: one that
fails does not stop the others; once every item has ended, the task fails with one error listing
each failed item (:class:`BatchFailedError`, retried like any failure, or
:class:`BatchRefusedError` when every failure is a verdict a retry cannot change; when one item
failed, its own error as it was raised, which names it) and returns the items' results, in order,
when none failed.

Per-item callbacks (for the migration's ledger, ``migration.ledger.recorded_items``):
``before_item(context, index, item)`` before an item acts (an exception ends that item, unacted),
``after_item(context, index, item, result)`` once it succeeded, and ``done_items(context, {index:
item})`` -> ``{index: result}`` of the items a previous try completed: those are adopted (their
recorded result returned), not redone. ``index`` is the item's place in the whole list the batches were cut from,
``first_index`` plus its place in ``items``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from confluent_migration.concurrent_calls import DEFAULT_CONCURRENCY

ItemCallback = Callable[..., None]


class BatchFailedError(AirflowException):
    """Items of a batch failed (the others completed and were recorded); a retry adopts the done ones."""


class BatchRefusedError(AirflowFailException):
    """Items of a batch failed with verdicts a retry cannot change (not retried)."""


def batch_error(task_id: str, failures: Sequence[tuple[str, BaseException]], total: int,
                adopts: bool = False) -> BaseException:
    """One error naming every failed item and its error, of the class the failures call for; when one
    item failed, its own error as it was raised (it names its item; retried or not as it says)."""
    if len(failures) == 1:
        label, error = failures[0]
        if label and label not in str(error) and len(error.args) <= 1:
            error.args = (f"{label}: {error}",)  # the task's error names its item, as a task of its own did
        return error
    final = all(isinstance(error, AirflowFailException) for _, error in failures)
    lines = [f"{task_id}: {len(failures)} of {total} items failed ({total - len(failures)} completed"
             + (": a retry adopts them and redoes only the failed ones)" if adopts and not final else ")")]
    lines += [f"- {label}: {type(error).__name__}: {error}" for label, error in failures]
    return (BatchRefusedError if final else BatchFailedError)("\n".join(lines))


class BatchOperator(BaseOperator):
    """The base of an operator that acts on one item (its own fields) or on ``items``.

    A subclass names its per-item fields in ``item_fields``, sets ``takes_items``, acts in
    :meth:`act` (one item, as a mapping of those fields; called from several threads at once: no
    shared state but the hook, made ready by :meth:`prepare`) and labels an item by :meth:`item_label`.

    :param items: the items to act on (mappings of ``item_fields``), instead of the operator's own fields.
    :param first_index: the index of ``items[0]`` in the whole list (the callbacks' ``index``).
    :param max_concurrency: items acted on at once (threads).
    :param before_item: / ``after_item`` / ``done_items``: per-item callbacks (see the module).
    """

    item_fields: ClassVar[tuple[str, ...]] = ()
    takes_items: ClassVar[bool] = False  # True where the subclass acts on items

    def __init__(self, *, items: Sequence[Mapping[str, Any]] | None = None, first_index: int = 0,
                 max_concurrency: int = DEFAULT_CONCURRENCY, before_item: ItemCallback | None = None,
                 after_item: ItemCallback | None = None,
                 done_items: Callable[[Context, Mapping[int, Any]], Mapping[int, Any]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if items is not None and not self.takes_items:
            raise ValueError(f"{type(self).__name__} acts on one item: it takes no items")
        self.items = items
        self.first_index = first_index
        self.max_concurrency = max_concurrency
        self.before_item = before_item
        self.after_item = after_item
        self.done_items = done_items

    def require_own_fields(self, *names: str) -> None:
        """Without ``items``, the operator's own ``names`` must be given."""
        missing = [name for name in names if getattr(self, name, None) is None]
        if self.items is None and missing:
            raise ValueError(f"{self.task_id}: give {', '.join(missing)}, or items")

    def own_item(self) -> dict[str, Any]:
        return {name: getattr(self, name, None) for name in self.item_fields}

    def item_label(self, item: Mapping[str, Any]) -> str:
        """An item in words, for logs, errors and the UI (default: its first field)."""
        return str(item.get(self.item_fields[0]) if self.item_fields else item)

    @property
    def map_label(self) -> str:
        """The mapped task's name in the UI: what it acts on (the first item, and how many more)."""
        if self.items is None:
            return self.item_label(self.own_item()) if self.item_fields and self.own_item()[self.item_fields[0]] else ""
        if not self.items:
            return ""
        first = self.item_label(self.items[0])
        return first if len(self.items) == 1 else f"{first} and {len(self.items) - 1} more"

    def execute(self, context: Context) -> Any:
        if self.items is None:
            return self.act(context, self.own_item())
        return self.act_on_items(context, [dict(item) for item in self.items])

    def act(self, context: Context, item: dict[str, Any]) -> Any:
        raise NotImplementedError

    def prepare(self) -> None:
        """Resolve the connection and clients once, before the threads share them."""

    def adopted(self, context: Context, items: list[dict[str, Any]]) -> dict[int, Any]:
        """The items a previous try completed (index -> its recorded result), logged."""
        indexed = {self.first_index + n: item for n, item in enumerate(items)}
        done = dict(self.done_items(context, indexed)) if self.done_items else {}
        for index, result in done.items():
            self.log.info("%s was done by an earlier try: adopted (%s)", self.item_label(indexed[index]), result)
        return done

    def concurrently(self, work: Sequence[tuple[int, dict[str, Any]]], one: Callable[[int, dict[str, Any]], Any]
                     ) -> tuple[dict[int, Any], list[tuple[int, BaseException]]]:
        """``one(index, item)`` for every item of ``work`` at once: (results by index, failures by index)."""
        results: dict[int, Any] = {}
        failures: list[tuple[int, BaseException]] = []
        if not work:
            return results, failures
        self.prepare()
        pool = ThreadPoolExecutor(max_workers=max(1, min(self.max_concurrency, len(work))),
                                  thread_name_prefix=self.task_id)
        try:
            futures = [(index, item, pool.submit(one, index, item)) for index, item in work]
            for index, item, future in futures:
                try:
                    results[index] = future.result()
                except Exception as error:  # noqa: BLE001 - every item's failure is reported, together
                    self.log.error("%s failed: %s: %s", self.item_label(item), type(error).__name__, error)
                    failures.append((index, error))
        except BaseException:  # the task is killed: the items not started yet never start
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return results, failures

    def finish(self, items: list[dict[str, Any]], results: Mapping[int, Any],
               failures: Sequence[tuple[int, BaseException]]) -> list[Any]:
        """The items' results in order, or the error naming every failed item."""
        if failures:
            self.log.error("%d of %d items failed: %s", len(failures), len(items),
                           [self.item_label(items[index - self.first_index]) for index, _ in failures])
            raise batch_error(self.task_id, [(self.item_label(items[index - self.first_index]), error)
                                             for index, error in sorted(failures, key=lambda f: f[0])], len(items),
                              adopts=self.done_items is not None)
        return [results[self.first_index + n] for n in range(len(items))]

    def act_on_items(self, context: Context, items: list[dict[str, Any]]) -> list[Any]:
        done = self.adopted(context, items)
        todo = [(self.first_index + n, item) for n, item in enumerate(items) if self.first_index + n not in done]
        self.log.info("Acting on %d items (%d adopted) of %s, %d at a time", len(todo), len(items) - len(todo),
                      [self.item_label(item) for item in items], min(self.max_concurrency, len(todo) or 1))

        def one(index: int, item: dict[str, Any]) -> Any:
            if self.before_item is not None:
                self.before_item(context, index, item)
            result = self.act(context, item)
            if self.after_item is not None:
                self.after_item(context, index, item, result)
            return result

        results, failures = self.concurrently(todo, one)
        return self.finish(items, {**done, **results}, failures)
