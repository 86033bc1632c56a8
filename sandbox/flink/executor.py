"""The background runner: one thread stepping every running statement, about every 150 ms, and at once
when woken (a stop or a start asked)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

TICK_SECONDS = 0.15


class Executor:
    """Calls ``tick()`` (and ``after_tick()``, e.g. metric sampling) until stopped; an idle pause ends
    early when ``wake`` is set (the tick clears it)."""

    def __init__(self, tick: Callable[[], bool], after_tick: Callable[[], None] | None = None,
                 wake: threading.Event | None = None) -> None:
        self._tick = tick
        self._after_tick = after_tick
        self._stop = threading.Event()
        self._wake = wake if wake is not None else self._stop
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="flink-executor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            busy = False
            try:
                busy = self._tick()
                if self._after_tick is not None:
                    self._after_tick()
            except Exception:  # noqa: BLE001 - keep stepping the other statements
                log.exception("flink executor tick failed")
            if not busy:
                self._wake.wait(TICK_SECONDS)
