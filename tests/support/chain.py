"""A third version of the project's tables, for tests of successive migrations: a copy of
``include/`` whose manifest adds ``v3`` to every table (a nullable ``source_system STRING``, filled
with a constant by each pipeline). The project's own manifest stays v1 -> v2."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml

from confluent_migration.migration.manifest import DEFAULT_MANIFEST, load_manifest

ADDED = "source_system"
VALUE = "encarta-pim"


def write_v3_manifest(folder: Path) -> Path:
    """``folder`` holds a copy of ``include/`` with ``v3`` files and manifest entries; its manifest's path."""
    include = Path(shutil.copytree(DEFAULT_MANIFEST.parent, folder, dirs_exist_ok=True))
    manifest = load_manifest(include / DEFAULT_MANIFEST.name)
    doc = yaml.safe_load(manifest.path.read_text())
    for spec in manifest.tables:
        v2 = spec.v2
        files = {"ddl": Path("sql/v3") / v2.ddl.name, "dml": Path("sql/v3") / v2.dml.name,
                 "schema": Path("schemas/v3") / v2.schema.name}
        for path in files.values():
            (include / path).parent.mkdir(parents=True, exist_ok=True)
        ddl, n = re.subn(r"(\n\s*PRIMARY KEY)", f"\n    `{ADDED}` STRING COMMENT 'the system the row came from',\\1",
                         manifest.sql(v2.ddl), count=1)
        dml, m = re.subn(r"\n(FROM `)", f",\n    '{VALUE}' AS {ADDED}\n\\1", manifest.sql(v2.dml), count=1)
        assert n == m == 1, f"{spec.name}: no PRIMARY KEY line or no FROM line to extend"
        schema = json.loads(manifest.sql(v2.schema))
        schema["fields"].append({"name": ADDED, "type": ["null", "string"], "default": None})
        (include / files["ddl"]).write_text(ddl)
        (include / files["dml"]).write_text(dml)
        (include / files["schema"]).write_text(json.dumps(schema, indent=2))
        doc["tables"][spec.name]["v3"] = {**{k: str(v) for k, v in files.items()},
                                          "statement": v2.statement.removesuffix("-v2") + "-v3"}
    manifest.path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return manifest.path
