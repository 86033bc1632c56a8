"""``python -m sandbox.flink.bench``: how many source changes per second four running pipelines keep up with.

Builds, in a throw-away sandbox (no HTTP), four source tables with a few thousand rows and four
continuous pipelines shaped like the project's (GROUP BY aggregates, LEFT JOINs on keys, COALESCE,
CAST, TO_TIMESTAMP_LTZ), then offers upserts at increasing rates for a few seconds each and prints,
per rate, the changes applied per second, the records behind at the end, and the mean step time.

First it prints what an idle step costs (every pipeline caught up, no change arriving) with no
finished statement and with ``--finished`` of them (the bounded queries a migration's checks
leave behind), side by side: the cost of a step should not grow with the statements that ended.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sandbox.config import SandboxConfig
from sandbox.server import Sandbox

SOURCES = {
    "bench.skus": ("`sku_id` BIGINT NOT NULL, `uom_id` BIGINT, `class_id` BIGINT, `name` STRING, "
                   "`price` DECIMAL(10, 2), `updated_ms` BIGINT", "sku_id", 3000),
    "bench.uoms": ("`uom_id` BIGINT NOT NULL, `code` STRING, `factor` INT", "uom_id", 50),
    "bench.classes": ("`class_id` BIGINT NOT NULL, `label` STRING", "class_id", 200),
    "bench.products": ("`product_id` BIGINT NOT NULL, `sku_id` BIGINT, `qty` INT", "product_id", 1000),
}
SINKS = {
    "bench_sku_dim": ("`sku_id` BIGINT NOT NULL, `uom_code` STRING, `class_label` STRING, `price_text` STRING, "
                      "`updated_at` TIMESTAMP_LTZ(3)", "sku_id",
                      "SELECT s.sku_id, COALESCE(u.code, 'n/a'), COALESCE(c.label, 'none'), CAST(s.price AS STRING), "
                      "TO_TIMESTAMP_LTZ(s.updated_ms, 3) FROM `bench.skus` s LEFT JOIN `bench.uoms` u "
                      "ON s.uom_id = u.uom_id LEFT JOIN `bench.classes` c ON s.class_id = c.class_id"),
    "bench_class_stats": ("`class_id` BIGINT NOT NULL, `skus` BIGINT, `max_price` DECIMAL(10, 2), "
                          "`last_ms` BIGINT", "class_id",
                          "SELECT class_id, COUNT(*), MAX(price), MAX(updated_ms) FROM `bench.skus` GROUP BY class_id"),
    "bench_uom_usage": ("`uom_id` BIGINT NOT NULL, `code` STRING, `skus` BIGINT", "uom_id",
                        "SELECT u.uom_id, MAX(u.code), COUNT(s.sku_id) FROM `bench.uoms` u LEFT JOIN `bench.skus` s "
                        "ON s.uom_id = u.uom_id GROUP BY u.uom_id"),
    "bench_product_qty": ("`sku_id` BIGINT NOT NULL, `total_qty` BIGINT, `products` BIGINT, `name` STRING",
                          "sku_id",
                          "SELECT p.sku_id, SUM(p.qty), COUNT(*), MAX(s.name) FROM `bench.products` p "
                          "LEFT JOIN `bench.skus` s ON p.sku_id = s.sku_id GROUP BY p.sku_id"),
}


def _row(table: str, key: int, rng: random.Random) -> dict:
    now = int(time.time() * 1000)
    if table == "bench.skus":
        return {"sku_id": key, "uom_id": rng.randrange(50), "class_id": rng.randrange(200), "name": f"sku {key}",
                "price": f"{rng.uniform(1, 500):.2f}", "updated_ms": now}
    if table == "bench.uoms":
        return {"uom_id": key, "code": f"U{key}", "factor": rng.randrange(1, 24)}
    if table == "bench.classes":
        return {"class_id": key, "label": f"class {key}"}
    return {"product_id": key, "sku_id": rng.randrange(3000), "qty": rng.randrange(1, 100)}


def build(sandbox: Sandbox, rng: random.Random) -> None:
    flink = sandbox.flink
    for i, (table, (columns, key, count)) in enumerate(SOURCES.items()):
        flink.submit(f"bench-src-{i}", f"CREATE TABLE `{table}` ({columns}, PRIMARY KEY (`{key}`) NOT ENFORCED) "
                                       f"DISTRIBUTED BY HASH(`{key}`) INTO 6 BUCKETS")
        flink.produce(table, [_row(table, k, rng) for k in range(count)])
    for i, (table, (columns, key, query)) in enumerate(SINKS.items()):
        flink.submit(f"bench-sink-{i}", f"CREATE TABLE `{table}` ({columns}, PRIMARY KEY (`{key}`) NOT ENFORCED)")
        statement = flink.submit(f"bench-pipeline-{i}", f"INSERT INTO `{table}` {query}")
        assert statement["status"]["phase"] == "RUNNING", statement["status"]


def offer(sandbox: Sandbox, rate: float, seconds: float, rng: random.Random) -> int:
    """Upsert random source rows at ``rate`` per second for ``seconds``; return how many were made."""
    tables = list(SOURCES)
    weights = [0.6, 0.05, 0.05, 0.3]
    made, start = 0, time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) - made
        batches: dict[str, list[dict]] = {}
        for _ in range(due):
            table = rng.choices(tables, weights)[0]
            batches.setdefault(table, []).append(_row(table, rng.randrange(SOURCES[table][2]), rng))
        for table, rows in batches.items():  # what arrived in the last 10 ms, per topic
            sandbox.flink.produce(table, rows)
        made += max(due, 0)
        time.sleep(0.01)
    return made


def idle_step_ms(sandbox: Sandbox, steps: int = 200) -> float:
    """Mean time of a step of the four caught-up pipelines when nothing arrives (no executor running)."""
    t0 = time.perf_counter()
    for _ in range(steps):
        sandbox.flink.tick()
    return (time.perf_counter() - t0) / steps * 1000


def idle_cost(sandbox: Sandbox, finished: int) -> None:
    """Print the idle step time before and after ``finished`` bounded statements ran, and their ratio."""
    before = idle_step_ms(sandbox)
    for i in range(finished):
        sandbox.flink.submit(f"bench-query-{i}", "SHOW TABLES")
    after = idle_step_ms(sandbox)
    print(f"idle step: {before:.2f} ms with no finished statement, {after:.2f} ms with {finished}: "
          f"ratio {after / before:.2f}")


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins"))  # confluent_migration (DDL, Avro)
    parser = argparse.ArgumentParser(prog="python -m sandbox.flink.bench", description=__doc__)
    parser.add_argument("--rates", default="10,25,50,100,200", help="changes per second to offer")
    parser.add_argument("--seconds", type=float, default=8.0, help="how long each rate is offered")
    parser.add_argument("--finished", type=int, default=1000, help="finished statements for the idle step")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as data_dir:
        sandbox = Sandbox(SandboxConfig(data_dir=Path(data_dir)))
        started = time.monotonic()
        build(sandbox, rng)
        while sandbox.flink.tick():  # the initial rows, stepped here (the executor starts below)
            pass
        print(f"initial load: {sum(c for *_, c in SOURCES.values())} source rows through 4 pipelines "
              f"in {time.monotonic() - started:.1f}s")
        idle_cost(sandbox, args.finished)
        step_times: list[float] = []
        tick = sandbox.flink.tick

        def timed_tick() -> bool:
            t0 = time.perf_counter()
            busy = tick()
            if busy:
                step_times.append(time.perf_counter() - t0)
            return busy

        sandbox.flink.tick = timed_tick  # type: ignore[method-assign]
        sandbox.executor._tick = timed_tick  # noqa: SLF001 - measuring the executor's own steps
        sandbox.start()
        assert sandbox.flink.wait_idle(120), "the pipelines did not catch up with the initial rows"
        print(f"{'offered/s':>10} {'made/s':>8} {'applied/s':>10} {'behind':>7} {'catch-up s':>10} "
              f"{'mean step ms':>13}")
        for rate in (float(r) for r in args.rates.split(",")):
            step_times.clear()
            progress = {p["name"]: p["records_in"] for p in sandbox.flink.progress()}
            t0 = time.monotonic()
            made = offer(sandbox, rate, args.seconds, rng)
            offered_for = time.monotonic() - t0
            behind = sum(p["pending_records"] for p in sandbox.flink.progress() if p["phase"] == "RUNNING")
            t1 = time.monotonic()
            caught_up = sandbox.flink.wait_idle(60)
            catch_up = time.monotonic() - t1
            consumed = sum(p["records_in"] - progress.get(p["name"], 0) for p in sandbox.flink.progress())
            # each change feeds 1-3 pipelines; applied/s counts source changes consumed by all of them
            applied = consumed / (offered_for + catch_up) / _fan_out()
            mean = statistics.mean(step_times) * 1000 if step_times else 0.0
            print(f"{rate:>10.0f} {made / offered_for:>8.1f} {applied:>10.1f} {behind:>7} {catch_up if caught_up else float('inf'):>10.2f} "
                  f"{mean:>13.1f}")
        sandbox.stop()


def _fan_out() -> float:
    """Mean number of pipelines reading a random change (by the weights in :func:`offer`)."""
    readers = {"bench.skus": 4, "bench.uoms": 2, "bench.classes": 1, "bench.products": 1}
    weights = {"bench.skus": 0.6, "bench.uoms": 0.05, "bench.classes": 0.05, "bench.products": 0.3}
    return sum(readers[t] * w for t, w in weights.items())


if __name__ == "__main__":
    main()
