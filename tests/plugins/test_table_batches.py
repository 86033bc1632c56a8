"""Option B's and C's per-table steps over a batch of tables, in one task each, against the sandbox:
stop, back up, drop, create, start; each table its own ledger step, a failed table named while
the others complete, and a retry adopting what an earlier try did."""

from __future__ import annotations

import uuid

from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration.ledger import (
    STATEMENT_CREATED,
    STATEMENT_STOPPED,
    TABLE_BACKED_UP,
    TABLE_CREATED,
    TABLE_DROPPED,
    recorded_items,
)
from confluent_migration.migration.recreate import BackUpTableOperator, DropTableOperator
from confluent_migration.operators.flink import StopStatementOperator, SubmitStatementOperator
from confluent_migration.statements import statement_name
from tests.plugins.conftest import ddl, steps_of, unique


def written_tables(count: int) -> list[dict[str, str]]:
    """``count`` keyed tables, each filled by a RUNNING statement from a source of two rows."""
    hook, run, tables = FlinkStatementsHook(), uuid.uuid4().hex, []
    for n in range(count):
        source, sink = unique(f"tb_src{n}", "_"), unique(f"tb_sink{n}", "_")
        ddl(f"CREATE TABLE `{source}` (`id` INT NOT NULL, `qty` INT, PRIMARY KEY (`id`) NOT ENFORCED)")
        ddl(f"INSERT INTO `{source}` VALUES (1, 10), (2, 5)")
        table_ddl = f"CREATE TABLE `{sink}` (`id` INT NOT NULL, `qty` INT, PRIMARY KEY (`id`) NOT ENFORCED)"
        ddl(table_ddl)
        writer = statement_name(sink, 1, run)
        hook.submit_statement(writer, f"INSERT INTO `{sink}` SELECT id, qty FROM `{source}`")
        tables.append({"table": sink, "source": source, "ddl": table_ddl, "writer": writer, "run": run})
    return tables


def changing_run(monkeypatch, tmp_path, confirm: str):
    """A task starting the run's ledger as a changing run whose confirm word is ``confirm``."""
    from airflow.providers.standard.operators.python import PythonOperator

    from confluent_migration.migration.ledger import ledger_for

    monkeypatch.setenv("CONFLUENT_MIGRATION_LEDGER", f"file://{tmp_path}/ledger")

    def start(**context):
        ledger_for(context).start(dag_id=context["dag"].dag_id, option="C", tables=[],
                                  params={"dry_run": False, "confirm": confirm})

    return PythonOperator(task_id="start", python_callable=start)


def back_up(tables: list[dict[str, str]]) -> BackUpTableOperator:
    """A batch backing each table up into ``<table>_bak``, each item recorded."""
    return BackUpTableOperator(
        task_id="back_up", poll_interval=0.3, items=[
            {"table": t["table"], "backup_table": f"{t['table']}_bak", "ddl": t["ddl"],
             "create_statement": f"bak-ddl-{t['table']}".replace("_", "-"),
             "copy_statement": f"bak-copy-{t['table']}".replace("_", "-")} for t in tables],
        **recorded_items(TABLE_BACKED_UP, ["table", "backup_table", "ddl"]))


def drop(tables: list[dict[str, str]]) -> DropTableOperator:
    """A batch dropping each table, each item recorded."""
    return DropTableOperator(
        task_id="drop", poll_interval=0.3, items=[
            {"table": t["table"], "sql": f"DROP TABLE `{t['table']}`",
             "statement_name": f"drop-{t['table']}".replace("_", "-")} for t in tables],
        **recorded_items(TABLE_DROPPED, ["table"]))


def test_a_batch_stops_backs_up_drops_and_recreates_its_tables_each_recorded_and_a_read_table_is_kept(
        run_dag, flink, monkeypatch, tmp_path):
    hook = FlinkStatementsHook()
    tables = written_tables(3)
    read = tables[1]["table"]
    reader = unique("dashboard")
    hook.submit_statement(reader, f"SELECT id FROM `{read}`")  # a live reader: table 1 must not be dropped
    database = hook.extra["database"]
    v2_ddl = {t["table"]: t["ddl"].replace("`qty` INT", "`qty` INT, `created_at` TIMESTAMP_LTZ(3)")
              for t in tables}

    def build() -> None:
        start = changing_run(monkeypatch, tmp_path, database)
        stop = StopStatementOperator(task_id="stop", items=[{"statement_name": t["writer"]} for t in tables],
                                     first_index=2, poll_interval=0.3, **recorded_items(STATEMENT_STOPPED,
                                                                                       ["statement_name"]))
        start >> stop >> back_up(tables) >> drop(tables)

    result = run_dag(build)
    assert [result.state(t) for t in ("stop", "back_up")] == ["success", "success"], result.why()
    stopped = result.xcom("stop")
    assert [s["statement_name"] for s in stopped] == [t["writer"] for t in tables]
    assert all(s["phase"] == "STOPPED" and sum(s["offsets"][t["source"]].values()) == 2
               for s, t in zip(stopped, tables))
    assert sorted(s.map_index for s in steps_of(result, tmp_path, STATEMENT_STOPPED) if s.done) == [2, 3, 4]
    assert [b["rows"] for b in result.xcom("back_up")] == [2, 2, 2]
    assert {s.data["table"] for s in steps_of(result, tmp_path, TABLE_BACKED_UP) if s.done} == {
        t["table"] for t in tables}

    assert result.state("drop") == "failed"  # a live reader is a verdict: not retried
    assert f"`{read}` is not dropped: live statements still read it: ['{reader}']" in result.output
    dropped = {s.data["table"] for s in steps_of(result, tmp_path, TABLE_DROPPED) if s.done}
    assert dropped == {tables[0]["table"], tables[2]["table"]}  # the other tables of the batch were dropped
    from confluent_migration.hooks.flink_sql import FlinkSqlHook
    from confluent_migration.migration import observe

    columns = observe.columns_of(FlinkSqlHook(), [t["table"] for t in tables])
    assert [bool(columns[t["table"]]) for t in tables] == [False, True, False]

    kept = (tables[0], tables[2])

    def recreate() -> None:
        start = changing_run(monkeypatch, tmp_path, database)
        create = SubmitStatementOperator(
            task_id="create", target_phase="COMPLETED", poll_interval=0.3,
            items=[{"table": t["table"], "sql": v2_ddl[t["table"]],
                    "statement_name": f"create-{t['table']}".replace("_", "-")} for t in kept],
            **recorded_items(TABLE_CREATED, ["table", "sql"]))
        starts = SubmitStatementOperator(
            task_id="start_v2", poll_interval=0.3, items=[
                {"statement_name": statement_name(t["table"], 2, t["run"]), "table": t["table"],
                 "sql": f"INSERT INTO `{t['table']}` SELECT id, qty, CURRENT_TIMESTAMP FROM `{t['source']}`",
                 "properties": {"sql.tables.scan.startup.mode": "earliest-offset"}} for t in kept],
            **recorded_items(STATEMENT_CREATED, ["statement_name", "sql", "properties"]))
        start >> create >> starts

    early = f"create-{tables[2]['table']}".replace("_", "-")
    hook.submit_statement(early, v2_ddl[tables[2]["table"]])
    again = run_dag(recreate)  # table 2's create is already submitted: adopted, not refused
    assert [again.state("create"), again.state("start_v2")] == ["success", "success"], again.why()
    assert {s["phase"] for s in again.xcom("create")} == {"COMPLETED"}
    assert [s["phase"] for s in again.xcom("start_v2")] == ["RUNNING", "RUNNING"]
    assert f"Adopted existing Flink statement '{early}'" in again.output
    created = [s for s in steps_of(again, tmp_path, STATEMENT_CREATED) if s.done]
    assert sorted(s.map_index for s in created) == [0, 1]


def test_a_batch_drops_nothing_without_its_runs_verified_backup_and_confirm_word(run_dag, flink, monkeypatch,
                                                                                 tmp_path):
    from confluent_migration.hooks.flink_sql import FlinkSqlHook
    from confluent_migration.migration import observe

    tables = written_tables(2)
    names = [t["table"] for t in tables]
    database = FlinkStatementsHook().extra["database"]

    unbacked = run_dag(lambda: changing_run(monkeypatch, tmp_path, database) >> drop(tables))
    assert unbacked.state("drop") == "failed"
    for table in names:
        assert f"`{table}` has no verified backup in run {unbacked.dag_run.run_id}: it is not dropped" \
            in unbacked.output

    unconfirmed = run_dag(lambda: changing_run(monkeypatch, tmp_path, "not-the-database") >> back_up(tables)
                          >> drop(tables))
    assert (unconfirmed.state("back_up"), unconfirmed.state("drop")) == ("success", "failed")
    for table in names:
        assert f"`{table}` is not dropped: the run's confirm does not match database '{database}'" \
            in unconfirmed.output
    assert all(observe.columns_of(FlinkSqlHook(), names).values())  # both tables still there
