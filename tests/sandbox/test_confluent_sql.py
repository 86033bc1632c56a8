"""Confluent's own DB-API driver, ``confluent-sql`` 0.7.0, against the sandbox, unchanged.

Every request the driver sends and every answer it gets is checked against the Flink SQL OpenAPI
spec. One of the driver's requests breaks that spec (see ``DRIVER_DEVIATIONS``); the tests that make
it run on a private sandbox that must record no other violation. (Its ``metadata.labels`` on create
contradict the spec's read-only metadata too, but that is the spec's own defect, waived centrally in
``sandbox.contracts``.)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import confluent_sql
import pytest
from confluent_sql import ExecutionMode, Op, OperationalError, StatementNotFoundError

from tests.support.sandbox_fixtures import RunningSandbox, start_sandbox

ORDERS = [(1, "SKU-1", 3), (2, "SKU-2", 5), (3, "SKU-1", 4)]
# Requests of confluent-sql 0.7.0 that break the published spec: (method, text of the violation).
DRIVER_DEVIATIONS = {
    # stop_statement() patches with op "replace" (RFC 6902's spelling); the spec's
    # JsonPatchRequestAddReplace enumerates only "ADD", "REPLACE", "TEST"
    "lowercase patch op": ("PATCH", "is not valid under any of the given schemas"),
}


def connect(sandbox: RunningSandbox) -> confluent_sql.Connection:
    c = sandbox.config
    return confluent_sql.connect(
        flink_api_key=c.api_key,
        flink_api_secret=c.api_secret,
        organization_id=c.organization_id,
        environment_id=c.environment_id,
        compute_pool_id=c.compute_pool_id,
        database=c.database,
        endpoint=sandbox.url,
        result_page_fetch_pause_millis=20,
    )


@pytest.fixture
def conn(sandbox: RunningSandbox) -> Iterator[confluent_sql.Connection]:
    """The driver on the session sandbox: every exchange must keep to the spec."""
    connection = connect(sandbox)
    yield connection
    connection.close()


@pytest.fixture
def driver_sandbox(tmp_path) -> Iterator[RunningSandbox]:  # noqa: ANN001
    """A private sandbox for the driver calls that break the spec; yields, then checks that every
    contract violation recorded is one of ``DRIVER_DEVIATIONS``."""
    sandbox = start_sandbox(tmp_path / "driver")
    yield sandbox
    sandbox.process.stop()
    unexpected = [v for v in sandbox.violations() if deviation(v) is None]
    assert not unexpected, f"exchanges broke the contract beyond the driver's known deviations: {unexpected}"


def deviation(violation: dict) -> str | None:
    """Which known driver deviation a recorded contract violation is, if any."""
    text = " ".join(violation["violations"])
    for name, (method, needle) in DRIVER_DEVIATIONS.items():
        if violation["method"] == method and needle in text:
            return name
    return None


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_orders(conn: confluent_sql.Connection) -> str:
    """A keyed table holding ORDERS, created and filled through the driver."""
    table = unique("cs-orders")
    conn.execute_snapshot_ddl(
        f"CREATE TABLE `{table}` (id BIGINT NOT NULL, sku STRING, qty INT,"
        " PRIMARY KEY (id) NOT ENFORCED) DISTRIBUTED BY HASH(id) INTO 2 BUCKETS"
    )
    insert(conn, table, ORDERS)
    return table


@pytest.fixture
def orders(conn: confluent_sql.Connection) -> str:
    return create_orders(conn)


def insert(conn: confluent_sql.Connection, table: str, rows: list[tuple]) -> None:
    values = ", ".join(f"({i}, '{s}', {q})" for i, s, q in rows)
    with conn.closing_cursor() as cur:  # a snapshot INSERT ... VALUES completes
        cur.execute(f"INSERT INTO `{table}` VALUES {values}")
        assert cur.statement.phase.value == "COMPLETED"


def fetch_until(cur: confluent_sql.Cursor, seen: list, done, timeout: float = 30) -> list:  # noqa: ANN001
    """Poll a streaming cursor, appending to ``seen``, until ``done(seen)``; return the rows this call
    fetched; fail naming what arrived."""
    start = len(seen)
    deadline = time.monotonic() + timeout
    while not done(seen):
        if time.monotonic() > deadline:
            pytest.fail(f"streaming statement {cur.statement.name} gave only {seen}")
        seen += cur.fetchmany(100)
    return seen[start:]


def test_snapshot_cursor_reads_a_point_in_time_result_and_completes(conn, orders):
    with conn.closing_cursor() as cur:
        cur.execute(f"SELECT id, sku, qty FROM `{orders}`")
        assert not cur.is_streaming
        assert [d[0] for d in cur.description] == ["id", "sku", "qty"]
        assert sorted(cur.fetchall()) == ORDERS
        assert cur.statement.phase.value == "COMPLETED"
        assert cur.statement.properties["sql.snapshot.mode"] == "now"


def test_snapshot_cursor_gives_dicts_and_aggregates(conn, orders):
    with conn.closing_cursor(as_dict=True) as cur:
        cur.execute(f"SELECT sku, SUM(qty) AS total FROM `{orders}` GROUP BY sku")
        rows = cur.fetchall()
    assert sorted(rows, key=lambda r: r["sku"]) == [{"sku": "SKU-1", "total": 7}, {"sku": "SKU-2", "total": 5}]


def test_streaming_cursor_stays_running_and_emits_a_changelog(conn, orders):
    with conn.closing_streaming_cursor() as cur:
        cur.execute(f"SELECT sku, COUNT(*) AS n FROM `{orders}` GROUP BY sku")
        assert cur.is_streaming and cur.returns_changelog
        seen: list = []

        def settled_on(expected: dict[str, int]):  # noqa: ANN202
            def done(rows: list) -> bool:
                latest: dict[str, int] = {}
                for op, (sku, n) in rows:
                    if op in (Op.INSERT, Op.UPDATE_AFTER):
                        latest[sku] = n
                    else:
                        latest.pop(sku, None)
                return latest == expected
            return done

        fetch_until(cur, seen, settled_on({"SKU-1": 2, "SKU-2": 1}))
        insert(conn, orders, [(4, "SKU-2", 1)])
        rows = fetch_until(cur, seen, settled_on({"SKU-1": 2, "SKU-2": 2}))
        assert (Op.UPDATE_BEFORE, ["SKU-2", 1]) in [(op, list(row)) for op, row in rows]
        assert conn.get_statement(cur.statement.name).phase.value == "RUNNING"
        cur.delete_statement()
        with pytest.raises(StatementNotFoundError):
            conn.get_statement(cur.statement.name)


def test_named_statement_with_properties_is_listed_stopped_and_deleted(driver_sandbox):
    conn = connect(driver_sandbox)
    orders = create_orders(conn)
    sink = unique("cs-sink")
    conn.execute_snapshot_ddl(
        f"CREATE TABLE `{sink}` (sku STRING NOT NULL, total INT, PRIMARY KEY (sku) NOT ENFORCED)"
    )
    name = unique("cs-pipeline")
    statement = conn.execute_streaming_ddl(
        f"INSERT INTO `{sink}` SELECT sku, CAST(SUM(qty) AS INT) FROM `{orders}` GROUP BY sku",
        statement_name=name,
        statement_labels=["cs-test"],
        properties={"sql.tables.scan.startup.mode": "earliest-offset", "sql.state-ttl": "1 d"},
    )
    assert statement.name == name and statement.is_running
    stored = conn.get_statement(name)
    assert stored.properties["sql.tables.scan.startup.mode"] == "earliest-offset"
    assert stored.properties["sql.current-catalog"] == conn.environment_id
    assert name in [s.name for s in conn.list_statements(page_size=2)]  # follows metadata.next

    with conn.closing_cursor() as cur:
        deadline = time.monotonic() + 30
        while True:
            cur.execute(f"SELECT sku, total FROM `{sink}`")
            if sorted(cur.fetchall()) == [("SKU-1", 7), ("SKU-2", 5)]:
                break
            assert time.monotonic() < deadline, f"{name} did not fill {sink}"

    stopped = conn.stop_statement(name, timeout=30)
    assert stopped.phase.value == "STOPPED"
    conn.delete_statement(name)
    with pytest.raises(StatementNotFoundError):
        conn.get_statement(name)
    conn.close()


def test_list_by_label_returns_only_the_labelled_statements(driver_sandbox):
    """The driver stores labels as ``user.confluent.io/<label>: "true"`` and lists with a label
    selector. Running statements: a snapshot DDL's statement is deleted when its cursor closes."""
    conn = connect(driver_sandbox)
    orders = create_orders(conn)
    sink = unique("cs-labels")
    conn.execute_snapshot_ddl(
        f"CREATE TABLE `{sink}` (id BIGINT NOT NULL, qty INT, PRIMARY KEY (id) NOT ENFORCED)")
    labelled, plain = unique("cs-labelled"), unique("cs-plain")
    for name, labels in ((labelled, ["cs-label"]), (plain, None)):
        conn.execute_streaming_ddl(f"INSERT INTO `{sink}` SELECT id, qty FROM `{orders}`",
                                   statement_name=name, statement_labels=labels)
    try:
        assert [s.name for s in conn.list_statements(label="cs-label")] == [labelled]
        assert conn.get_statement(labelled).end_user_labels == ["cs-label"]
        assert {labelled, plain} <= {s.name for s in conn.list_statements()}
    finally:
        for name in (labelled, plain):
            conn.delete_statement(name)
        conn.close()


def test_dry_run_validates_without_storing(conn, orders):
    statement = conn.dry_run_statement(f"SELECT sku, qty FROM `{orders}`")
    assert [c.name for c in statement.schema] == ["sku", "qty"]
    assert statement.phase.is_terminal
    assert statement.name not in [s.name for s in conn.list_statements()]
    with pytest.raises(OperationalError, match="no_such_table"):
        conn.dry_run_statement("SELECT * FROM `no_such_table`")


def test_a_failing_statement_raises_with_the_servers_detail(conn):
    with conn.closing_cursor() as cur, pytest.raises(OperationalError, match="cs_missing_table"):
        cur.execute("SELECT * FROM `cs_missing_table`")


def test_snapshot_and_streaming_modes_differ_only_in_snapshot_mode(conn, orders):
    snapshot = conn.dry_run_statement(f"SELECT * FROM `{orders}`", mode=ExecutionMode.SNAPSHOT)
    streaming = conn.dry_run_statement(f"SELECT * FROM `{orders}`", mode=ExecutionMode.STREAMING_QUERY)
    assert snapshot.is_bounded and not streaming.is_bounded
