"""The migration history: each table's version and writer from the ledger, the moves a run plans from
it, pre-flight's refusals, and the Flyway-info-style table."""

from __future__ import annotations

import pytest

from confluent_migration.migration import history
from confluent_migration.migration.ledger import DONE, Ledger
from confluent_migration.migration.manifest import load_manifest
from confluent_migration.migration.params import ParamError
from confluent_migration.migration.plans import Move
from confluent_migration.migration.rollback import STATEMENT_STOPPED, TABLE_DROPPED
from tests.support.chain import write_v3_manifest
from tests.support.plans import plan_of


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return load_manifest(write_v3_manifest(tmp_path_factory.mktemp("chain") / "include"))


def migrated(base, run_id: str, moves: dict[str, tuple[str, str, str, str]], outcome: str = "success",
             dry_run: bool = False, rolled_back_by: str | None = None) -> Ledger:
    """A migration run's ledger as check_params_and_plan and the summary write it."""
    ledger = Ledger(base, run_id)
    ledger.start(dag_id="migrate_schema_registry_evolution", option="A", tables=list(moves),
                 params={"dry_run": dry_run}, moves={t: dict(zip(("from", "to", "replaces", "statement"), m),
                                                            flink_table=f"sbx-uat.encarta.public.{t}")
                                                     for t, m in moves.items()})
    extra = {"rolled_back_by": rolled_back_by} if rolled_back_by else {}
    ledger.finish(outcome, **extra)
    return ledger


def test_with_no_history_each_table_is_at_v1_written_by_its_v1_statement(manifest, base):
    where = history.positions(manifest, base)
    assert {t: (p.version, p.statement, p.run_id) for t, p in where.items()} == {
        s.name: ("v1", s.v1.statement, None) for s in manifest.tables}
    assert history.moves(manifest, ["skus_master"], None, where) == {
        "skus_master": Move("v1", "v3", "encarta-skus-master-v1")}


def test_each_completed_run_moves_its_tables_and_a_rolled_back_failed_or_dry_run_does_not(manifest, base):
    migrated(base, "r1", {"skus_master": ("v1", "v2", "encarta-skus-master-v1", "skus-master-v2-aaaa"),
                          "skus_uoms_agg": ("v1", "v2", "encarta-skus-uoms-agg-v1", "skus-uoms-agg-v2-aaaa")})
    migrated(base, "r2", {"skus_master": ("v2", "v3", "skus-master-v2-aaaa", "skus-master-v3-bbbb")})
    migrated(base, "r3", {"skus_uoms_agg": ("v2", "v3", "skus-uoms-agg-v2-aaaa", "x-v3")}, outcome="failed")
    migrated(base, "r4", {"skus_uoms_agg": ("v2", "v3", "skus-uoms-agg-v2-aaaa", "y-v3")}, rolled_back_by="rb1")
    migrated(base, "r5", {"skus_uoms_agg": ("v2", "v3", "skus-uoms-agg-v2-aaaa", "z-v3")}, dry_run=True)
    where = history.positions(manifest, base)
    assert (where["skus_master"].version, where["skus_master"].statement, where["skus_master"].run_id) == (
        "v3", "skus-master-v3-bbbb", "r2")
    assert (where["skus_uoms_agg"].version, where["skus_uoms_agg"].statement, where["skus_uoms_agg"].run_id) == (
        "v2", "skus-uoms-agg-v2-aaaa", "r1")
    assert where["skus_master"].outcome == "success" and where["skus_master"].at
    assert where["skus_classifications_agg"].version == "v1"

    assert history.moves(manifest, ["skus_uoms_agg", "skus_classifications_agg"], "v3", where) == {
        "skus_uoms_agg": Move("v2", "v3", "skus-uoms-agg-v2-aaaa"),
        "skus_classifications_agg": Move("v1", "v3", "encarta-skus-classifications-agg-v1")}
    with pytest.raises(ParamError, match=r"param 'target_version': table skus_master is already at v3 \(run r2, "
                                         r".*\): nothing to move to v3; leave the table out, or add a later version"):
        history.moves(manifest, ["skus_master"], None, where)
    with pytest.raises(ParamError, match=r"table skus_uoms_agg is already at v2 \(run r1, .*\): nothing to move to v2; .* "
                                         r"choose a later version \(v3\)$"):
        history.moves(manifest, ["skus_uoms_agg"], "v2", where)

    rows = {(r["table"], r["version"]): r for r in history.info(manifest, base)}
    assert rows[("skus_master", "v1")]["state"] == "baseline"
    assert (rows[("skus_master", "v2")]["state"], rows[("skus_master", "v2")]["run"]) == ("success", "r1")
    assert (rows[("skus_master", "v3")]["state"], rows[("skus_master", "v3")]["run"]) == ("current", "r2")
    assert rows[("skus_master", "v3")]["statement"] == "skus-master-v3-bbbb"
    assert (rows[("skus_uoms_agg", "v2")]["state"], rows[("skus_uoms_agg", "v3")]["state"]) == (
        "current", "pending (rolled back by rb1)")
    assert rows[("skus_classifications_agg", "v1")]["state"] == "current (baseline)"
    assert rows[("skus_classifications_agg", "v2")]["state"] == "pending" and not rows[
        ("skus_classifications_agg", "v2")]["run"]
    migrated(base, "r6", {"skus_classifications_agg": ("v1", "v3", "encarta-skus-classifications-agg-v1", "s-v3")})
    rows = {(r["table"], r["version"]): r["state"] for r in history.info(manifest, base)}
    assert [rows[("skus_classifications_agg", v)] for v in ("v1", "v2", "v3")] == ["baseline", "skipped", "current"]
    text = history.render(history.info(manifest, base))
    assert "| table " in text and "skus-master-v3-bbbb" in text and len(text.splitlines()) == 3 + 12 + 1


def test_a_writer_a_rollback_started_again_under_a_new_name_is_the_writer_after_it(manifest, base):
    spec = manifest.table("skus_uoms_agg")
    target = migrated(base, "r1", {spec.name: ("v1", "v2", spec.v1.statement, "new-v2")}, outcome="failed",
                      rolled_back_by="rb1")
    target.record("preflight_state", DONE, task_id="record_current_state", result={"statements": [
        {"name": spec.v1.statement, "sql": f"INSERT INTO `{spec.flink_table}` SELECT 1", "phase": "RUNNING"}]})
    target.record(TABLE_DROPPED, DONE, task_id="drop_tables", data={"table": spec.flink_table})
    target.record(STATEMENT_STOPPED, DONE, task_id="stop_v1", data={"statement_name": spec.v1.statement})
    where = history.positions(manifest, base)
    assert where[spec.name].version == "v1" and where[spec.name].statement.startswith("skus-uoms-agg-v1-rollback-")


def test_pre_flight_refuses_a_table_whose_writer_is_not_running_saying_what_to_do(manifest, base):
    where = history.positions(manifest, base)
    phases = {s.v1.statement: "RUNNING" for s in manifest.tables} | {"encarta-skus-master-v1": "STOPPED"}
    history.check_writers(where, ["skus_uoms_agg"], phases)
    with pytest.raises(ParamError, match=r"table skus_master is at v1 by no migration run yet \(the manifest's v1\), "
                                         r"but its writer 'encarta-skus-master-v1' is STOPPED.*roll back the run"):
        history.check_writers(where, ["skus_uoms_agg", "skus_master"], phases)
    with pytest.raises(ParamError, match=r"writer 'encarta-skus-master-v1' is not found"):
        history.check_writers(where, ["skus_master"], {})


def test_a_plan_moves_each_table_from_its_writer_to_the_target_version(manifest):
    moves = {"skus_master": Move("v2", "v3", "skus-master-v2-aaaa"),
             "skus_uoms_agg": Move("v2", "v3", "skus-uoms-agg-v2-aaaa")}
    a = plan_of("A", manifest, ["skus_master", "skus_uoms_agg"], "manual__2", moves=moves)
    assert [s.statement_name for s in a.stops()] == ["skus-uoms-agg-v2-aaaa", "skus-master-v2-aaaa"]
    assert a.old_statements == ("skus-uoms-agg-v2-aaaa", "skus-master-v2-aaaa")
    starts = a.starts()
    assert [s.statement_name.rsplit("-", 1)[0] for s in starts] == ["skus-uoms-agg-v3", "skus-master-v3"]
    assert a.new_statements == tuple(s.statement_name for s in starts)
    assert all("AS source_system" in s.sql for s in starts)
    assert all('"source_system"' in s.schema for s in a.register_schemas)
    master = {f.table: f for f in a.facts}["skus_master"]
    assert (master.from_version, master.to_version, master.added_columns) == ("v2", "v3", ("source_system",))
    assert (master.from_columns, master.to_columns, master.old_statement) == (118, 119, "skus-master-v2-aaaa")

    c = plan_of("C", manifest, ["skus_uoms_agg"], "manual__2", moves=moves)
    assert "created_at" in c.backups[0].ddl and "source_system" not in c.backups[0].ddl  # the v2 table backed up
    assert "source_system" in c.recreates[0].sql
    assert c.backups[0].create_statement.startswith("skus-uoms-agg-v2-backup-")
    assert c.drops[0].statement_name.startswith("skus-uoms-agg-v2-drop-")
    assert c.recreates[0].statement_name.startswith("skus-uoms-agg-v3-ddl-")
    b = plan_of("B", manifest, ["skus_uoms_agg"], "manual__2", moves=moves)
    assert b.stop_v1[0].statement_name == "skus-uoms-agg-v2-aaaa"
    assert [s.statement_name.rsplit("-", 1)[0] for s in b.starts()] == ["skus-uoms-agg-v3", "skus-uoms-agg-v3-final"]
    assert plan_of("A", manifest, ["skus_uoms_agg"], "manual__2", target_version="v2").facts[0].to_version == "v2"


def test_a_target_version_a_chosen_table_lacks_is_refused(manifest):
    with pytest.raises(ParamError, match=r"param 'target_version': 'v4' is not a version of \['skus_master'\]"):
        plan_of("A", manifest, ["skus_master"], target_version="v4")


def test_the_history_command_prints_each_table_and_version(manifest, base, monkeypatch, capsys):
    monkeypatch.setenv("CONFLUENT_MIGRATION_LEDGER", str(base))
    migrated(base, "r1", {"skus_master": ("v1", "v2", "encarta-skus-master-v1", "skus-master-v2-aaaa")})
    history.main(["--manifest", str(manifest.path)])
    out = capsys.readouterr().out
    assert f"Manifest {manifest.path}" in out
    line = next(line for line in out.splitlines() if "skus_master " in line and " v2 " in line)
    assert "current" in line and "r1" in line and "success" in line and "skus-master-v2-aaaa" in line


def test_the_health_check_expects_each_table_at_the_version_the_history_says(manifest, base, monkeypatch):
    from confluent_migration.migration.health import expected_versions

    monkeypatch.setenv("CONFLUENT_MIGRATION_LEDGER", str(base))
    migrated(base, "r1", {"skus_master": ("v1", "v2", "encarta-skus-master-v1", "skus-master-v2-aaaa")})
    assert expected_versions(manifest, None) == {s.name: "v2" if s.name == "skus_master" else "v1"
                                                 for s in manifest.tables}
    assert set(expected_versions(manifest, "v3").values()) == {"v3"}
    with pytest.raises(ParamError, match=r"param 'version': 'v4' is not a version of \['skus_uoms_agg'"):
        expected_versions(manifest, "v4")


def test_a_table_left_under_another_name_is_refused_naming_where_it_is(manifest, base):
    ledger = Ledger(base, "rb2")
    ledger.start(dag_id="migrate_zero_downtime_dual_write", option="B", tables=["skus_uoms_agg"],
                 params={"dry_run": False}, moves={"skus_uoms_agg": {
                     "from": "v1", "to": "v2", "replaces": "encarta-skus-uoms-agg-v1", "statement": "skus-uoms-agg-v2-x",
                     "flink_table": "sbx-uat.encarta.public.skus_uoms_agg_v2"}})
    ledger.finish("success")
    with pytest.raises(ParamError, match=r"param 'tables': table skus_uoms_agg is at `sbx-uat.encarta.public.skus_uoms_"
                                         r"agg_v2` since run rb2, not `sbx-uat.encarta.public.skus_uoms_agg` as"):
        history.moves(manifest, ["skus_uoms_agg"], "v3", history.positions(manifest, base))
