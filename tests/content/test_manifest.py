"""The migration manifest: the project's own loads in dependency order; a wrong one fails naming the
file, the table and the field."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from confluent_migration.avro_mapping import value_schema
from confluent_migration.flink_ddl import parse_create_table
from confluent_migration.migration.manifest import (
    DEFAULT_MANIFEST,
    MANIFEST_ENV,
    MANIFEST_VARIABLE,
    ManifestError,
    load_manifest,
    manifest_path,
    pipeline_facts,
)

AGGREGATES = ["skus_uoms_agg", "skus_classifications_agg", "products_classifications_agg"]


def test_the_project_manifest_orders_skus_master_after_the_aggregates_it_reads():
    manifest = load_manifest()
    assert manifest.path == DEFAULT_MANIFEST and DEFAULT_MANIFEST.parent.name == "include"
    assert manifest.names == AGGREGATES + ["skus_master"]
    master = manifest.table("skus_master")
    assert set(master.reads) == {"skus", *AGGREGATES}
    assert manifest.table("sbx-uat.encarta.public.skus_master") is master
    assert master.subjects == ("sbx-uat.encarta.public.skus_master-value", "sbx-uat.encarta.public.skus_master-key")
    assert all(spec.stateful for spec in manifest.tables)
    assert {s.name for s in manifest.sources} >= {"skus", "uoms", "sku_classifications", "product_classifications"}
    statements = [spec.version(v).statement for spec in manifest.tables for v in ("v1", "v2")]
    assert len(set(statements)) == len(statements)


def test_subset_keeps_dependency_order_and_adds_nothing():
    manifest = load_manifest()
    assert [t.name for t in manifest.subset(["skus_master", "skus_uoms_agg"])] == ["skus_uoms_agg", "skus_master"]
    assert [t.name for t in manifest.subset(["skus_master"])] == ["skus_master"]
    assert manifest.subset(None) == list(manifest.tables)
    with pytest.raises(KeyError, match="nope"):
        manifest.subset(["nope"])


@pytest.mark.parametrize(
    "sql, written, read, stateful",
    [
        ("INSERT INTO `a.b.t` SELECT k, COUNT(*) FROM `a.b.s` GROUP BY k", "a.b.t", {"a.b.s"}, True),
        ("INSERT INTO t SELECT s.k FROM s LEFT JOIN u ON u.k = s.k", "t", {"s", "u"}, True),
        ("INSERT INTO t SELECT DISTINCT k FROM s", "t", {"s"}, True),
        ("INSERT INTO t SELECT k, UPPER(v) FROM s WHERE v IS NOT NULL", "t", {"s"}, False),
    ],
)
def test_pipeline_facts_derive_what_a_pipeline_writes_reads_and_whether_it_keeps_state(sql, written, read, stateful):
    assert pipeline_facts(sql) == (written, read, stateful)


# -- a wrong manifest -----------------------------------------------------------------------------

@pytest.fixture
def include(tmp_path: Path) -> Path:
    """A copy of the project's include/ to break."""
    return Path(shutil.copytree(DEFAULT_MANIFEST.parent, tmp_path / "include"))


def rewrite(include: Path, change: Callable[[dict], None]) -> Path:
    path = include / "migration.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def master(doc: dict) -> dict:
    return doc["tables"]["skus_master"]


def _set(field: str, value) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        target = master(doc)
        *parents, last = field.split(".")
        for parent in parents:
            target = target[parent]
        target[last] = value
    return change


def _delete(field: str) -> Callable[[dict], None]:
    return lambda doc: master(doc).pop(field)


@pytest.mark.parametrize(
    "change, field, problem",
    [
        (_set("stateful", False), "stateful", "False but the SQL says True (the pipelines of v1, v2): remove"),
        (_set("stateful", "yes"), "stateful", "must be a bool"),
        (_set("primary_key", ["sku_code"]), "primary_key", "declares PRIMARY KEY ('id',)"),
        (_set("reads", ["skus"]), "reads", "['skus'] but the SQL says ['products_classifications_agg', 'skus',"),
        (_set("override", {"reads": ["skus"]}), "override.reason", "is missing: say why"),
        (_set("override", {"stateful": False, "why": "x"}), "override.why", "is not a field"),
        (_set("reads", "skus"), "reads", "must be a list"),
        (_set("table", "sbx-uat.encarta.public.skus"), "table", "does not end in .skus_master"),
        (_set("subjects.value", "skus_master-value"), "subjects.value", "has the subject"),
        (_delete("subjects"), "subjects", "must be a non-empty mapping"),
        (_set("v2.ddl", "sql/v2/nope.sql"), "v2.ddl", "does not exist"),
        (_set("v2.ddl", "sql/v1/table_skus_uoms_agg.sql"), "v2.ddl", "creates `sbx-uat.encarta.public.skus_uoms_agg`"),
        (_set("v1.dml", "sql/v1/populate_skus_uoms_agg.sql"), "v1.dml", "writes `sbx-uat.encarta.public.skus_uoms_agg`"),
        (_set("v1.dml", "sql/v1/table_skus_master.sql"), "v1.dml", "is not an INSERT INTO ... SELECT"),
        (_set("v2.statement", "Encarta_Skus"), "v2.statement", "is not a valid Confluent statement name"),
        (_set("v2.statement", "a" * 101), "v2.statement", "at most 100 characters"),
        (_set("v2.statement", "encarta-skus-master-v1"), "v2.statement", "is also the statement of skus_master v1"),
        (_set("checks", ["created_at <= modified_at"]), "checks", "names ['modified_at'], not columns of sql/v2/"),
        (_set("checks", ["created_at <="]), "checks", "is not a SQL condition"),
        (_set("checks", "created_at <= updated_at"), "checks", "must be a list of SQL conditions"),
        (_set("freshness", "modified_at"), "freshness", "'modified_at' is not a column of sql/v2/"),
        (_set("freshness", 3), "freshness", "must be a column name or null"),
        (_set("v2.sheme", "x"), "v2.sheme", "is not a field"),
        (_set("stateless", True), "stateless", "is not a field"),
    ],
)
def test_a_wrong_table_entry_names_the_file_the_table_and_the_field(include, change, field, problem):
    path = rewrite(include, change)
    with pytest.raises(ManifestError) as error:
        load_manifest(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and "table skus_master" in message, message
    assert f"field '{field}'" in message and problem in message, message


@pytest.mark.parametrize("edit, problem", [
    (lambda f: f.pop(), "has field None of type null where sql/v2/table_skus_master.sql gives 'updated_at'"),
    (lambda f: f[-1].update(type="string"), "has field 'updated_at' of type \"string\" where"),
    (lambda f: f.append({"name": "source_system", "type": ["null", "string"], "default": None}),
     "has field 'source_system' of type [\"null\", \"string\"] where sql/v2/table_skus_master.sql gives None"),
])
def test_a_v2_schema_that_disagrees_with_its_v2_ddl_fails_when_the_manifest_loads(include, edit, problem):
    schema = include / "schemas" / "v2" / "skus_master-value.avsc"
    doc = json.loads(schema.read_text())
    edit(doc["fields"])
    schema.write_text(json.dumps(doc))
    with pytest.raises(ManifestError) as error:
        load_manifest(include / "migration.yaml")
    assert "table skus_master, field 'v2.schema'" in str(error.value) and problem in str(error.value), error.value


def test_checks_and_freshness_are_the_manifests_unless_a_table_declares_its_own(include):
    manifest = load_manifest()
    assert {(t.checks, t.freshness) for t in manifest.tables} == {(("created_at <= updated_at",), "updated_at")}

    def own(doc: dict) -> None:  # a table whose change adds a nullable column and no timestamp
        master(doc).update(checks=["id IS NOT NULL", "sku_code <> ''"], freshness=None)
        doc["tables"]["skus_uoms_agg"]["checks"] = []

    changed = load_manifest(rewrite(include, own))
    assert changed.table("skus_master").checks == ("id IS NOT NULL", "sku_code <> ''")
    assert changed.table("skus_master").freshness is None
    assert changed.table("skus_uoms_agg").checks == () and changed.table("skus_uoms_agg").freshness == "updated_at"
    assert changed.table("skus_classifications_agg").checks == ("created_at <= updated_at",)


def test_a_declared_check_the_v2_ddl_cannot_meet_fails_when_the_manifest_loads(include):
    path = rewrite(include, lambda doc: doc.update(checks=["created_at <= updated_at", "source_system IS NOT NULL"]))
    with pytest.raises(ManifestError, match=r"table \w+, field 'checks': 'source_system IS NOT NULL' names "
                                            r"\['source_system'\], not columns of sql/v2/"):
        load_manifest(path)
    load_manifest(path, check_files=False)  # a DAG file's parse reads the fields only


def test_the_first_task_of_a_run_loads_the_manifest_its_param_names_and_checks_the_files(include, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from confluent_migration.migration import building

    path = rewrite(include, _set("reads", ["skus"]))
    with pytest.raises(AirflowFailException, match=re.escape("table skus_master, field 'reads': ['skus'] but")):
        # not retried; nothing changed
        building.check_params_and_plan("A", {}, 4, params={"manifest": str(path)}, run_id="manual__r1")
    monkeypatch.setenv("AIRFLOW_CONN_CONFLUENT_FLINK_DEFAULT", '{"conn_type": "http", "host": "localhost"}')
    with pytest.raises(AirflowFailException, match=r"form 2 dependency levels; the migration DAGs have 1 "
                                                   r"\(CONFLUENT_MIGRATION_LEVELS\)"):
        building.check_params_and_plan("A", {}, 1, params={}, run_id="manual__r1")


def test_the_manifest_named_by_the_environment_is_loaded_and_its_folder_holds_the_files(include, monkeypatch):
    path = rewrite(include, _set("v1.statement", "elsewhere-skus-master-v1"))
    monkeypatch.setenv(MANIFEST_ENV, str(path))
    manifest = load_manifest()  # every check, against the copy's files
    assert manifest.path == path
    assert manifest.table("skus_master").v1.statement == "elsewhere-skus-master-v1"
    assert manifest.file(manifest.table("skus_master").v1.dml) == include / "sql" / "v1" / "insert_skus_master.sql"
    monkeypatch.delenv(MANIFEST_ENV)
    assert load_manifest().table("skus_master").v1.statement == "encarta-skus-master-v1"


def test_a_run_param_outranks_the_environment_which_outranks_the_airflow_variable(include, monkeypatch, tmp_path):
    by_variable, by_env = rewrite(include, _set("v1.statement", "by-variable")), tmp_path / "env.yaml"
    assert manifest_path() == DEFAULT_MANIFEST
    # Airflow reads a Variable from its secrets backends, the environment's AIRFLOW_VAR_<NAME> first
    monkeypatch.setenv("AIRFLOW_VAR_" + MANIFEST_VARIABLE.upper(), str(by_variable))
    assert manifest_path() == by_variable and load_manifest().table("skus_master").v1.statement == "by-variable"
    monkeypatch.setenv(MANIFEST_ENV, str(by_env))
    assert manifest_path() == by_env
    assert manifest_path(str(by_variable)) == by_variable
    assert manifest_path("") == by_env  # the form's empty field: the configured one


def test_a_source_with_unknown_ddl_and_a_read_of_an_unknown_table_are_refused(include):
    path = rewrite(include, lambda doc: doc["sources"]["skus"].update(ddl="sql/sources/missing.sql"))
    with pytest.raises(ManifestError, match=re.escape("source skus, field 'ddl': file sql/sources/missing.sql")):
        load_manifest(path)


def test_a_manifest_path_that_does_not_exist_says_how_to_name_one(tmp_path, monkeypatch):
    monkeypatch.setenv(MANIFEST_ENV, str(tmp_path / "nowhere.yaml"))
    with pytest.raises(ManifestError, match=f"nowhere.yaml: the manifest.*cannot be read.*the run's manifest param, env {MANIFEST_ENV}"):
        load_manifest()


def test_a_manifest_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "migration.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ManifestError, match=re.escape(str(path))):
        load_manifest(path)


# -- a stateless pipeline and a cycle, on a small manifest of their own -------------------------

def small_manifest(tmp_path: Path, pipelines: dict[str, tuple[str, bool]], keyed: bool = False) -> Path:
    """Tables a and b (optionally keyed by k), each filled by the given (SELECT, stateful)."""
    (tmp_path / "sql").mkdir(parents=True)
    (tmp_path / "sql" / "source.sql").write_text("CREATE TABLE `p.s` (k STRING NOT NULL, v STRING)")
    key = ", PRIMARY KEY (k) NOT ENFORCED" if keyed else ""
    tables = {}
    for name, (select, stateful) in pipelines.items():
        ddl = f"CREATE TABLE `p.{name}` (k STRING NOT NULL, v STRING{key})"
        (tmp_path / "sql" / f"table_{name}.sql").write_text(ddl)
        (tmp_path / "sql" / f"fill_{name}.sql").write_text(f"INSERT INTO `p.{name}` {select}")
        (tmp_path / "sql" / f"{name}.avsc").write_text(json.dumps(value_schema(parse_create_table(ddl))))
        reads = sorted({_short(t) for t in pipeline_facts(f"INSERT INTO x {select}")[1]})
        version = {"ddl": f"sql/table_{name}.sql", "dml": f"sql/fill_{name}.sql", "schema": f"sql/{name}.avsc"}
        tables[name] = {"table": f"p.{name}", "subjects": {"value": f"p.{name}-value"} | (
            {"key": f"p.{name}-key"} if keyed else {}), "primary_key": ["k"] if keyed else [], "reads": reads,
            "stateful": stateful, "v1": version | {"statement": f"{name}-v1"}, "v2": version | {"statement": f"{name}-v2"}}
    path = tmp_path / "migration.yaml"
    path.write_text(yaml.safe_dump({"sources": {"s": {"table": "p.s", "ddl": "sql/source.sql"}}, "tables": tables}))
    return path


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def test_a_stateless_pipeline_may_say_so_but_not_into_an_upsert_sink(tmp_path):
    select = "SELECT k, UPPER(v) FROM `p.s`"
    manifest = load_manifest(small_manifest(tmp_path / "append", {"a": (select, False)}))
    assert manifest.table("a").key_subject is None and not manifest.table("a").stateful
    with pytest.raises(ManifestError, match="field 'stateful': False but the SQL says True"):
        load_manifest(small_manifest(tmp_path / "upsert", {"a": (select, False)}, keyed=True))
    with pytest.raises(ManifestError, match="field 'stateful': True but the SQL says False"):
        load_manifest(small_manifest(tmp_path / "claims", {"a": (select, True)}))


def test_reads_and_stateful_come_from_the_sql_unless_overridden_with_a_reason(include):
    manifest = load_manifest(include / "migration.yaml")  # the encarta manifest declares neither
    master = manifest.table("skus_master")
    assert set(master.reads) == {"skus", *AGGREGATES} and master.stateful
    reason = "the dashboard's UDF looks skus up itself"
    path = rewrite(include, _set("override", {"reads": ["skus"], "stateful": False, "reason": reason}))
    overridden = load_manifest(path).table("skus_master")
    assert overridden.reads == ("skus",) and overridden.stateful is False
    assert [t.name for t in load_manifest(path).in_dependency_order()][0] == "skus_master"  # it reads no table now


def test_a_pipeline_reading_a_table_the_manifest_lacks_says_to_add_it_to_sources(include):
    path = rewrite(include, lambda doc: doc["sources"].pop("uoms"))
    with pytest.raises(ManifestError, match=r"table skus_uoms_agg, field 'reads': its pipeline reads \['uoms'\], "
                                            "neither sources nor tables of the manifest: add them to sources"):
        load_manifest(path)


def test_tables_that_read_each_other_are_a_cycle(tmp_path):
    path = small_manifest(tmp_path, {"a": ("SELECT k, v FROM `p.b`", False), "b": ("SELECT k, v FROM `p.a`", False)})
    with pytest.raises(ManifestError, match="field 'reads': the tables read each other in a cycle"):
        load_manifest(path)


# -- a chain of versions ------------------------------------------------------------------------

def test_a_table_may_list_any_number_of_consecutive_versions_each_checked_against_the_one_before(tmp_path):
    from tests.support.chain import write_v3_manifest

    manifest = load_manifest(write_v3_manifest(tmp_path / "include"))
    master = manifest.table("skus_master")
    assert master.version_names == ("v1", "v2", "v3") and master.newest is master.version("v3")
    assert master.v1.name == "v1" and master.version("v3").statement == "encarta-skus-master-v3"
    added = {c.name for c in manifest.definition(master, "v3").columns} - {
        c.name for c in manifest.definition(master, "v2").columns}
    assert added == {"source_system"}
    with pytest.raises(ValueError, match=r"unknown pipeline version 'v4' of table skus_master; expected one of"):
        master.version("v4")


@pytest.mark.parametrize("change, field, problem", [
    (lambda t: t.pop("v2"), "v2", "is missing: a table lists consecutive versions v1, v2, ... (at least two; found "
                                  "['v1', 'v3'])"),
    (lambda t: [t.pop("v2"), t.pop("v3")], "v2", "is missing: a table lists consecutive versions v1, v2, ... (at "
                                                  "least two; found ['v1'])"),
    (lambda t: t["v3"].update(statement="encarta-skus-master-v2"), "v3.statement", "is also the statement of"),
    (lambda t: t["v3"].update(schema=t["v2"]["schema"]), "v3.schema",
     "has field None of type null where sql/v3/table_skus_master.sql gives 'source_system'"),
    (lambda t: t.update(checks=["source_system IS NOT NULL"]), "checks",
     "'source_system IS NOT NULL' names ['source_system'], not columns of sql/v2/table_skus_master.sql"),
])
def test_a_broken_chain_of_versions_fails_when_the_manifest_loads(tmp_path, change, field, problem):
    from tests.support.chain import write_v3_manifest

    path = rewrite(write_v3_manifest(tmp_path / "include").parent, lambda doc: change(master(doc)))
    with pytest.raises(ManifestError) as error:
        load_manifest(path)
    assert f"table skus_master, field '{field}'" in str(error.value) and problem in str(error.value), error.value
