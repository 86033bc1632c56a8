"""The scaled estate (``python -m benchmarks.estate``): N copies of the project's tables that load with
every check of the manifest, each copy reading its own upstream tables and the shared sources."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.estate import main
from confluent_migration.migration.manifest import load_manifest
from sandbox.world.layout import encarta_layout

AGGREGATES = ["skus_uoms_agg", "skus_classifications_agg", "products_classifications_agg"]


def test_three_copies_load_with_every_check_in_dependency_order_with_their_own_names(tmp_path: Path, capsys):
    main(["--copies", "3", "--out", str(tmp_path / "estate")])
    path = tmp_path / "estate" / "migration.yaml"
    assert capsys.readouterr().out == f"{path}: 12 tables reading 5 sources\n"
    manifest = load_manifest(path)  # check_files: DDL, pipelines, reads and stateful agree
    project = load_manifest()
    assert manifest.sources == project.sources
    assert manifest.tables[:4] == project.tables  # copy 1: the project's tables, files and all
    copies = [f"{name}_{tag}" for tag in ("c02", "c03") for name in AGGREGATES + ["skus_master"]]
    assert manifest.names[4:] == copies
    for spec in manifest.tables:  # dependency order: every table after the tables it reads
        assert all(manifest.names.index(name) < manifest.names.index(spec.name)
                   for name in spec.reads if name in manifest.names)
    statements = [v.statement for spec in manifest.tables for v in spec.versions]
    assert len(set(statements)) == 24

    master = manifest.table("skus_master_c03")
    assert master.flink_table == "sbx-uat.encarta.public.skus_master_c03"
    assert set(master.reads) == {"skus", "skus_uoms_agg_c03", "skus_classifications_agg_c03",
                                 "products_classifications_agg_c03"}
    assert master.subjects == ("sbx-uat.encarta.public.skus_master_c03-value",
                               "sbx-uat.encarta.public.skus_master_c03-key")
    assert master.v1.statement == "encarta-skus-master-c03-v1"
    assert master.v2.statement == "encarta-skus-master-c03-v2"
    assert master.v2.dml == Path("c03/sql/v2/insert_skus_master.sql")
    assert "FROM `sbx-uat.encarta.public.skus` s" in manifest.sql(master.v2.dml)
    original_master = project.table("skus_master")
    assert manifest.definition(master, "v2").columns == project.definition(original_master, "v2").columns
    for version in ("v1", "v2"):
        schema = json.loads(manifest.sql(master.version(version).schema))
        original = json.loads(project.sql(original_master.version(version).schema))
        assert schema == {**original, "name": "skus_master_c03_value"}

    layout = encarta_layout(manifest=path)
    assert len(layout.pipelines) == 12 and len({p.statement for p in layout.pipelines}) == 12
    assert [f.table for f in layout.sources] == [s.flink_table for s in project.sources]
    assert [p.table for p in layout.pipelines] == [spec.flink_table for spec in manifest.tables]
