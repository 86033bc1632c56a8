"""Reads made at once: an estate's tens of subjects, statements or combined queries cost a few
round trips, not one per item (light: no client imported)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

DEFAULT_CONCURRENCY = 10  # calls at once to one API: the HTTP session's connection pool (requests keeps 10 per host)
Item, Result = TypeVar("Item"), TypeVar("Result")


def at_once(call: Callable[[Item], Result], items: Iterable[Item], workers: int = DEFAULT_CONCURRENCY) -> list[Result]:
    """``call(item)`` for every item, up to ``workers`` at once (each with its hook's retries): the
    results in order; the first item's error in order is raised once every call has ended. For
    reads: an estate's tens of subjects or statements cost a few round trips, not one per item."""
    items = list(items)
    if len(items) <= 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="at_once") as pool:
        return list(pool.map(call, items))
