"""A scaled estate: a manifest folder with N copies of a manifest's tables (issue 13, item 6).

    python -m benchmarks.estate --copies 10 --out /tmp/estate   # 40 tables in /tmp/estate/migration.yaml

Copy 1 is the manifest's own tables, as they are. Copy k (2..N) renames each table ``<name>`` to
``<name>_c<kk>``: its topic and subjects, its statements (``<statement>-c<kk>-v1``), its DDL and
pipelines of both versions (every backticked name of a table of the manifest, so each copy's
pipelines read the copy's own upstream tables), written under ``c<kk>/``, and its value schemas'
record names (``<name>_c<kk>_value``). The source tables stay shared by every copy. The folder is
the source manifest's folder with the copies added, so it loads with every check.
"""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path

import yaml

from confluent_migration.migration.manifest import Manifest, TableSpec, load_manifest

BACKTICKED = re.compile(r"`([^`]+)`")


def tag(copy: int) -> str:
    return f"c{copy:02d}"


def rename_tables(sql: str, renamed: dict[str, str]) -> str:
    """``sql`` with each backticked name of ``renamed``'s keys replaced by its new name."""
    return BACKTICKED.sub(lambda m: f"`{renamed.get(m.group(1), m.group(1))}`", sql)


def _write(manifest: Manifest, relative: Path, copy: int, out: Path, rewrite: Callable[[str], str]) -> str:
    """``relative`` rewritten into the copy's folder; its path relative to ``out``."""
    target = Path(tag(copy)) / relative
    (out / target).parent.mkdir(parents=True, exist_ok=True)
    (out / target).write_text(rewrite(manifest.sql(relative)))
    return target.as_posix()


def table_copy(manifest: Manifest, spec: TableSpec, copy: int, out: Path) -> dict:
    """The manifest entry of ``spec``'s copy ``copy``, its files written under ``out``."""
    suffix = f"_{tag(copy)}"
    renamed = {t.flink_table: t.flink_table + suffix for t in manifest.tables}
    table = renamed[spec.flink_table]
    record = f'"{spec.name}_value'  # the value record, and nested records named after it
    entry = {
        "table": table,
        "subjects": {"value": f"{table}-value", **({"key": f"{table}-key"} if spec.key_subject else {})},
        "primary_key": list(spec.primary_key),
    }  # what it reads and whether it is stateful: from its SQL, as the original's
    sql = partial(rename_tables, renamed=renamed)
    for files in spec.versions:
        version = files.name
        entry[version] = {
            "ddl": _write(manifest, files.ddl, copy, out, sql),
            "dml": _write(manifest, files.dml, copy, out, sql),
            "schema": _write(manifest, files.schema, copy, out,
                             lambda text: text.replace(record, f'"{spec.name}{suffix}_value')),
            "statement": f"{files.statement.removesuffix(f'-{version}')}-{tag(copy)}-{version}",
        }
    return entry


def write_estate(copies: int, out: Path, source: Path | None = None) -> Path:
    """Write ``copies`` copies of ``source``'s tables (default: the configured manifest) into the
    folder ``out``; the path of the estate's manifest."""
    manifest = load_manifest(source)
    shutil.copytree(manifest.root, out, dirs_exist_ok=True)
    doc = yaml.safe_load(manifest.path.read_text())
    for copy in range(2, copies + 1):
        doc["tables"].update({f"{spec.name}_{tag(copy)}": table_copy(manifest, spec, copy, out)
                              for spec in manifest.tables})
    path = out / manifest.path.name
    header = f"# {copies} copies of the tables of {manifest.path}, written by python -m benchmarks.estate\n"
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, required=True,
                        help="copies of the tables (1: the manifest's own)")
    parser.add_argument("--out", type=Path, required=True, help="the folder to write")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="the manifest to copy (default: the configured one)")
    args = parser.parse_args(argv)
    if args.copies < 1:
        parser.error("--copies must be at least 1")
    manifest = load_manifest(write_estate(args.copies, args.out, args.manifest))
    print(f"{manifest.path}: {len(manifest.tables)} tables reading {len(manifest.sources)} sources")


if __name__ == "__main__":
    main()
