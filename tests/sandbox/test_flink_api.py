"""The sandbox's Flink SQL statements API over real HTTP: lifecycle, validation, listing, results,
exceptions, DDL/SHOW/DESCRIBE, snapshot queries and dry runs. Every exchange is contract-checked."""

from __future__ import annotations

import uuid

import requests

from tests.support.flink_http import Flink, unique


def test_create_returns_the_statement_and_get_lists_and_deletes_it(flink: Flink) -> None:
    name = unique("life")
    response = flink.post(name, "SHOW TABLES")
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/statements/{name}")
    created = response.json()
    assert created["name"] == name and created["spec"]["statement"] == "SHOW TABLES"
    assert created["spec"]["compute_pool_id"] == flink.sandbox.config.compute_pool_id
    statement = flink.phase(name, "COMPLETED")
    assert statement["status"]["traits"]["sql_kind"] == "SHOW_TABLES"
    assert statement["status"]["traits"]["is_bounded"] is True

    assert flink.http.delete(f"{flink.base}/{name}", timeout=30).status_code == 202
    assert flink.http.get(f"{flink.base}/{name}", timeout=30).status_code == 404


def test_names_are_unique_and_validated(flink: Flink) -> None:
    name = unique("dup")
    flink.create(name, "SHOW TABLES")
    again = flink.post(name, "SHOW TABLES")
    assert again.status_code == 409
    assert name in again.json()["errors"][0]["detail"]
    for bad in ("Upper-Case", "ends-with-dash-", "under_score"):  # (too long: refused by the contract itself)
        response = flink.post(bad, "SHOW TABLES")
        assert response.status_code == 400, bad
        assert "Invalid statement name" in response.json()["errors"][0]["detail"]


def test_list_pages_follow_metadata_next(flink: Flink) -> None:
    names = {unique("page") for _ in range(5)}
    for name in names:
        flink.create(name, "SHOW TABLES")
    seen: list[str] = []
    url, params = flink.base, {"page_size": 2}
    while url:
        response = flink.http.get(url, params=params, timeout=30)
        assert response.status_code == 200
        page = response.json()
        assert page["kind"] == "StatementList" and len(page["data"]) <= 2
        seen += [s["name"] for s in page["data"]]
        url, params = page["metadata"].get("next"), None
    assert names <= set(seen)
    assert len(seen) == len(set(seen))


def test_labels_are_kept_and_select_statements_in_the_list(flink: Flink) -> None:
    """``metadata.labels`` given on create are kept; the list filters by ``label_selector`` and (as
    Confluent's driver sends it, beside ``time_ordered=true``) by a case-sensitive name substring."""
    token = uuid.uuid4().hex[:10]
    labelled = f"lbl-{token}-one"
    body = {"name": labelled, "metadata": {"labels": {f"user.confluent.io/t-{token}": "true",
                                                      "user.confluent.io/hidden": "true"}},
            "spec": {"statement": "SELECT 1", "properties": {"sql.snapshot.mode": "now"}}}
    created = flink.http.post(flink.base, json=body, timeout=30)
    assert created.status_code == 201, created.text
    assert created.json()["metadata"]["labels"] == body["metadata"]["labels"]
    other = unique(f"lbl-{token}-two")
    flink.create(other, "SELECT 2", {"sql.snapshot.mode": "now"})
    assert flink.get(labelled)["metadata"]["labels"] == body["metadata"]["labels"]

    def names(**params: str) -> list[str]:
        response = flink.http.get(flink.base, params={"page_size": 100, **params}, timeout=30)
        assert response.status_code == 200, response.text
        return [s["name"] for s in response.json()["data"]]

    assert names(label_selector=f"user.confluent.io/t-{token}=true") == [labelled]
    assert names(label_selector=f"user.confluent.io/t-{token}=true,user.confluent.io/hidden") == [labelled]
    assert labelled not in names(label_selector=f"user.confluent.io/t-{token}!=true")
    assert other in names(label_selector=f"user.confluent.io/t-{token}!=true")
    assert names(statement_name_search_query=f"lbl-{token}", time_ordered="true") == [labelled, other]
    assert names(statement_name_search_query=f"LBL-{token}", time_ordered="true") == []


def test_information_schema_lists_its_own_views_schemata_and_ids(flink: Flink) -> None:
    """INFORMATION_SCHEMA is never empty (it lists its own views as SYSTEM TABLEs), SCHEMATA lists
    the database with INFORMATION_SCHEMA, and every row names the catalog and database by name and id;
    types read as Flink's SQL names (STRING is VARCHAR(2147483647))."""
    c = flink.sandbox.config
    system = flink.snapshot("SELECT TABLE_NAME, TABLE_TYPE FROM `INFORMATION_SCHEMA`.`TABLES` "
                            "WHERE TABLE_SCHEMA = 'INFORMATION_SCHEMA' ORDER BY TABLE_NAME")
    assert ["COLUMNS", "SYSTEM TABLE"] in system and ["TABLES", "SYSTEM TABLE"] in system
    assert flink.snapshot("SELECT * FROM `INFORMATION_SCHEMA`.`SCHEMATA` ORDER BY SCHEMA_NAME") == [
        [c.environment_id, c.catalog, "INFORMATION_SCHEMA", "INFORMATION_SCHEMA"],
        [c.environment_id, c.catalog, c.database_id, c.database]]
    assert flink.snapshot("SHOW CATALOGS") == [[c.catalog, c.environment_id]]
    table = flink.table(unique("ids"), "`id` BIGINT NOT NULL, `label` STRING", key="id", buckets=3)
    assert flink.snapshot(
        "SELECT TABLE_CATALOG_ID, TABLE_SCHEMA_ID, TABLE_TYPE, DISTRIBUTION_BUCKETS FROM INFORMATION_SCHEMA.TABLES "
        f"WHERE TABLE_NAME = '{table}'") == [[c.environment_id, c.database_id, "BASE TABLE", "3"]]
    assert flink.snapshot(
        "SELECT COLUMN_NAME, DATA_TYPE, FULL_DATA_TYPE, DISTRIBUTION_ORDINAL_POSITION FROM INFORMATION_SCHEMA.COLUMNS "
        f"WHERE TABLE_NAME = '{table}' AND TABLE_SCHEMA = '{c.database}' ORDER BY ORDINAL_POSITION") == [
        ["id", "BIGINT", "BIGINT NOT NULL", "1"], ["label", "VARCHAR", "VARCHAR(2147483647)", None]]


def test_ddl_show_describe_information_schema_and_show_create(flink: Flink) -> None:
    table = flink.table(unique("sbx-uat.encarta.public.things"),
                        "`id` BIGINT NOT NULL, `label` STRING, `price` DECIMAL(10, 2), "
                        "`updated_at` TIMESTAMP_LTZ(3)", key="id", buckets=3)
    assert [table] in flink.snapshot("SHOW TABLES")

    describe = flink.run(unique("desc"), f"DESCRIBE `{table}`")
    rows = [r["row"] for r in flink.results(describe["name"])]
    assert [r[:3] for r in rows] == [["id", "BIGINT", "FALSE"], ["label", "STRING", "TRUE"],
                                     ["price", "DECIMAL(10, 2)", "TRUE"], ["updated_at", "TIMESTAMP_LTZ(3)", "TRUE"]]

    columns = flink.snapshot(
        "SELECT COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS "
        f"WHERE TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION")
    assert columns == [["id", "1", "BIGINT", "NO"], ["label", "2", "VARCHAR", "YES"],
                       ["price", "3", "DECIMAL", "YES"], ["updated_at", "4", "TIMESTAMP_LTZ", "YES"]]

    create = flink.run(unique("showc"), f"SHOW CREATE TABLE `{table}`")
    text = flink.results(create["name"])[0]["row"][0]
    assert f"CREATE TABLE `{table}`" in text and "INTO 3 BUCKETS" in text and "PRIMARY KEY (`id`)" in text

    subjects = requests.get(f"{flink.sandbox.url}/subjects", auth=flink.sandbox.auth, timeout=30).json()
    assert {f"{table}-value", f"{table}-key"} <= set(subjects)

    again = flink.create(unique("dupt"), f"CREATE TABLE `{table}` (`id` BIGINT)")
    failed = flink.phase(again["name"], "FAILED")
    assert "already exists" in failed["status"]["detail"]
    flink.run(unique("ine"), f"CREATE TABLE IF NOT EXISTS `{table}` (`id` BIGINT)")

    flink.run(unique("drop"), f"DROP TABLE `{table}`")
    assert [table] not in flink.snapshot("SHOW TABLES")
    subjects = requests.get(f"{flink.sandbox.url}/subjects", auth=flink.sandbox.auth, timeout=30).json()
    assert f"{table}-value" not in subjects
    flink.run(unique("dropx"), f"DROP TABLE IF EXISTS `{table}`")
    missing = flink.create(unique("dropm"), f"DROP TABLE `{table}`")
    assert flink.phase(missing["name"], "FAILED")["status"]["detail"]


def test_snapshot_query_completes_with_results(flink: Flink) -> None:
    table = flink.table(unique("snap-src"), "`id` INT NOT NULL, `grp` STRING, `qty` INT", key="id")
    flink.insert(table, "(1, 'a', 10), (2, 'a', 5), (3, 'b', 7)")
    flink.insert(table, "(2, 'b', 1)")  # an upsert of key 2
    rows = flink.snapshot(f"SELECT grp, SUM(qty) AS total, COUNT(*) AS n FROM `{table}` GROUP BY grp ORDER BY grp")
    assert rows == [["a", "10", "1"], ["b", "8", "2"]]
    qualified = flink.snapshot(
        f"SELECT id FROM `{flink.sandbox.config.catalog}`.`{flink.sandbox.config.database}`.`{table}` ORDER BY id")
    assert qualified == [["1"], ["2"], ["3"]]


def test_results_are_paged_through_metadata_next(flink: Flink) -> None:
    table = flink.table(unique("many"), "`id` INT NOT NULL", key="id")
    flink.insert(table, ", ".join(f"({i})" for i in range(250)))
    rows = flink.snapshot(f"SELECT id FROM `{table}`")
    assert sorted(int(r[0]) for r in rows) == list(range(250))


def test_unsupported_sql_fails_with_detail_and_exceptions(flink: Flink) -> None:
    cases = {
        "SELECT nope FROM `no-such-table`": "not found",
        "SELECT FROM WHERE": "parse",
        "ALTER TABLE x SET ('a' = 'b')": "cannot run",
        "SELECT MYSTERY_FUNCTION(1)": "SQL validation failed",
    }
    for sql, expected in cases.items():
        name = unique("bad")
        flink.create(name, sql)
        statement = flink.phase(name, "FAILED")
        assert expected.lower() in statement["status"]["detail"].lower(), (sql, statement["status"])
        response = flink.http.get(f"{flink.base}/{name}/exceptions", timeout=30)
        assert response.status_code == 200
        exceptions = response.json()["data"]
        assert exceptions and exceptions[0]["message"] == statement["status"]["detail"]


def test_dry_run_validates_without_storing(flink: Flink) -> None:
    table = unique("dry")
    ok = flink.post(unique("dry-ok"), f"CREATE TABLE `{table}` (`id` INT)", {"sql.dry-run": "true"})
    assert ok.status_code == 201
    assert ok.json()["status"]["phase"] == "COMPLETED"
    assert flink.http.get(f"{flink.base}/{ok.json()['name']}", timeout=30).status_code == 404
    assert [table] not in flink.snapshot("SHOW TABLES")
    bad = flink.post(unique("dry-bad"), "SELECT * FROM `no-such-table`", {"sql.dry-run": "true"})
    assert bad.status_code == 201
    assert bad.json()["status"]["phase"] == "FAILED"
    assert "not found" in bad.json()["status"]["detail"]


def test_catalog_and_database_properties(flink: Flink) -> None:
    config = flink.sandbox.config
    for catalog in (config.catalog, config.environment_id):
        flink.run(unique("cat"), "SHOW TABLES",
                  {"sql.current-catalog": catalog, "sql.current-database": config.database})
    response = flink.post(unique("cat-bad"), "SHOW TABLES", {"sql.current-catalog": "elsewhere"})
    assert response.status_code == 400


def test_set_completes_with_its_key_and_value(flink: Flink) -> None:
    name = unique("set")
    flink.run(name, "SET 'sql.local-time-zone' = 'UTC'")
    assert flink.results(name)[0]["row"] == ["sql.local-time-zone", "UTC"]
