"""The sandbox's lock: the statements' runner gives way to API calls waiting for it."""

from __future__ import annotations

import threading
import time

from sandbox.store import ApiFirstLock


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_the_next_step_waits_for_the_api_call_that_waited_on_the_last_one():
    lock, order = ApiFirstLock(), []

    def api_call() -> None:
        with lock:
            order.append("api")

    lock.acquire()  # a step in progress
    caller = threading.Thread(target=api_call)
    caller.start()
    wait_until(lambda: lock.waiting == 1)
    lock.release()  # the step ends
    lock.give_way(limit=5)
    with lock:  # the next step
        order.append("step")
    caller.join(5)
    assert order == ["api", "step"]
    assert lock.waiting == 0


def test_giving_way_ends_after_its_limit_when_the_waiting_call_cannot_go():
    lock = ApiFirstLock()
    lock.acquire()
    caller = threading.Thread(target=lambda: (lock.acquire(), lock.release()))
    caller.start()
    wait_until(lambda: lock.waiting == 1)
    started = time.monotonic()
    lock.give_way(limit=0.05)  # holding the lock itself: the caller cannot go, the step goes on
    assert lock.waiting == 1 and time.monotonic() - started < 5
    lock.release()
    caller.join(5)
    assert not caller.is_alive() and lock.waiting == 0


def test_it_is_reentrant_and_honours_non_blocking_and_timed_acquires():
    lock = ApiFirstLock()
    with lock:
        with lock:  # the same thread again
            other: list[bool] = []
            probe = threading.Thread(target=lambda: other.extend([lock.acquire(blocking=False),
                                                                  lock.acquire(timeout=0.01)]))
            probe.start()
            probe.join(5)
            assert other == [False, False]
    assert lock.acquire(blocking=False)
    lock.release()


def test_a_flush_that_waited_for_another_threads_flush_writes_nothing_and_does_not_fail(tmp_path):
    from datetime import datetime, timezone

    from sandbox.flink.records import StatementRecord, StatementTable
    from sandbox.store import Store

    store = Store(tmp_path)
    table = StatementTable(store)
    now = datetime.now(timezone.utc)
    table.save(StatementRecord("s1", "u1", {"statement": "SELECT 1"}, now, now))
    errors: list[BaseException] = []

    def flush() -> None:
        try:
            table.flush()
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    store.lock.acquire()  # a step in progress; this thread then flushes first
    waiter = threading.Thread(target=flush)
    waiter.start()
    wait_until(lambda: store.lock.waiting == 1)  # it saw unwritten saves, and waits for the store
    table.flush()
    store.lock.release()
    waiter.join(5)
    assert errors == []
    assert store.execute("SELECT name, phase FROM flink_statements") == [("s1", "PENDING")]
    store.close()
