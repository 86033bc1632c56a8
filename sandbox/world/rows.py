"""Realistic source rows for a warehouse SKU catalogue, synthesised from the tables' own DDL.

Nothing here knows the encarta columns by heart: a value is chosen from the column's Flink type
and, where the name says what it is (``brand``, ``gross_weight``, ``uom_code``, ``is_active``,
``created_at``), from a domain vocabulary. ``<x>_id`` columns refer to the key of the source
table named ``<x>s`` (``sku_id`` -> ``skus.id``), so joins and GROUP BYs downstream find matches.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sandbox.flink.catalog import Column, Table

BRANDS = ["Acme", "Borealis", "Cobalt", "Dunmore", "Everfresh", "Fjord", "Granite", "Helix",
          "Ironwood", "Juniper", "Kestrel", "Lumen", "Meridian", "Northstar", "Orchid", "Pinnacle"]
CATEGORIES = ["Beverages", "Snacks", "Dairy", "Frozen", "Household", "Personal Care", "Pet",
              "Bakery", "Produce", "Hardware", "Stationery", "Electronics"]
NOUNS = ["Sparkling Water", "Granola Bar", "Greek Yogurt", "Ice Cream", "Dish Soap", "Shampoo",
         "Dog Food", "Sourdough Loaf", "Baby Spinach", "Wood Screws", "Notebook", "USB-C Cable",
         "Orange Juice", "Trail Mix", "Cheddar", "Frozen Peas", "Laundry Pods", "Toothpaste"]
ADJECTIVES = ["Organic", "Classic", "Extra", "Light", "Premium", "Family", "Value", "Fresh", "Mini"]
UOMS = ["EA", "IP", "CS", "PL", "BX", "PK", "DZ"]
STATUSES = ["ACTIVE", "ACTIVE", "ACTIVE", "INACTIVE", "DISCONTINUED", "PENDING"]
COUNTRIES = ["US", "CA", "MX", "DE", "FR", "GB", "NL", "IT", "ES", "CN", "VN", "IN"]
CURRENCIES = ["USD", "CAD", "EUR", "GBP"]
CLASS_TYPES = ["HAZMAT", "TEMPERATURE", "VELOCITY", "ABC", "STORAGE", "SEASONAL", "FRAGILITY"]
CLASS_VALUES = ["A", "B", "C", "AMBIENT", "CHILLED", "FROZEN", "FAST", "SLOW", "HIGH", "LOW"]
TAGS = ["promo", "new", "bestseller", "clearance", "eco", "imported", "local", "bulk"]

_DECIMAL = re.compile(r"(?:DECIMAL|NUMERIC|DEC)\s*\(\s*(\d+)\s*(?:,\s*(\d+))?\s*\)", re.I)


@dataclass(frozen=True)
class TableSpec:
    """A source table as the engine's catalog knows it: Flink name, columns, primary key."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]

    @classmethod
    def of(cls, table: Table) -> TableSpec:
        return cls(table.name, tuple(table.columns), tuple(table.primary_key))

    @property
    def short_name(self) -> str:
        """``sbx-uat.encarta.public.skus`` -> ``skus``."""
        return self.name.rsplit(".", 1)[-1]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def referenced_table(column: str, tables: dict[str, TableSpec]) -> TableSpec | None:
    """The source table a ``<x>_id`` column refers to (``sku_id`` -> ``skus``), if there is one."""
    if not column.endswith("_id"):
        return None
    stem = column[: -len("_id")]
    for table in tables.values():
        if table.short_name in (f"{stem}s", f"{stem}es", stem) and len(table.primary_key) == 1:
            return table
    return None


def _base_type(flink_type: str) -> str:
    return re.split(r"[\s(<]", flink_type.strip().upper(), maxsplit=1)[0]


class RowSynthesiser:
    """Deterministic (seeded) realistic values for the source tables' columns."""

    def __init__(self, tables: dict[str, TableSpec], seed: int, now: datetime) -> None:
        self.tables = tables
        self.rng = random.Random(seed)
        self.now = now
        self.keys: dict[str, list[Any]] = {name: [] for name in tables}
        self._next_key: dict[str, int] = {name: 1 for name in tables}

    # -- keys ---------------------------------------------------------------------------------
    def new_key(self, table: TableSpec) -> Any:
        """A key not used yet in ``table`` (single-column keys: a growing number)."""
        n = self._next_key[table.name]
        self._next_key[table.name] = n + 1
        (key_column,) = table.primary_key
        kind = _base_type(table.column(key_column).type)
        return f"{table.short_name[:3].upper()}-{n:07d}" if kind in ("STRING", "VARCHAR", "CHAR") else n

    def remember(self, table: TableSpec, row: dict[str, Any]) -> None:
        """Know ``row``'s key (for references and updates); keep new keys beyond it."""
        if len(table.primary_key) != 1:
            return
        key = row[table.primary_key[0]]
        self.keys[table.name].append(key)
        if isinstance(key, int):
            self._next_key[table.name] = max(self._next_key[table.name], key + 1)
        elif isinstance(key, str) and key[-7:].isdigit():
            self._next_key[table.name] = max(self._next_key[table.name], int(key[-7:]) + 1)

    # -- rows ---------------------------------------------------------------------------------
    def new_row(self, table: TableSpec, created_at: datetime | None = None) -> dict[str, Any]:
        """A fresh row for ``table`` with a new key; ``created_at`` <= ``updated_at`` <= now."""
        if created_at is None:
            created_at = self.now - timedelta(seconds=self.rng.uniform(3600, 400 * 86400))
        row = {c.name: self.value(table, c) for c in table.columns}
        if len(table.primary_key) == 1:
            row[table.primary_key[0]] = self.new_key(table)
        self._stamp(table, row, created_at, None)
        return row

    def updated_row(self, table: TableSpec, row: dict[str, Any], updated_at: datetime) -> dict[str, Any]:
        """``row`` with a few non-key attributes changed and ``updated_at`` set to ``updated_at``."""
        fixed = set(table.primary_key) | {"created_at", "updated_at"}
        mutable = [c for c in table.columns if c.name not in fixed and not referenced_table(c.name, self.tables)]
        changed = dict(row)
        for column in self.rng.sample(mutable, k=min(len(mutable), self.rng.randint(1, 3))):
            changed[column.name] = self.value(table, column)
        self._stamp(table, changed, row.get("created_at"), updated_at)
        return changed

    def _stamp(self, table: TableSpec, row: dict[str, Any], created_at: datetime | None,
               updated_at: datetime | None) -> None:
        if table.column("created_at") is not None and created_at is not None:
            row["created_at"] = _millis(created_at)
        if table.column("updated_at") is not None:
            if updated_at is None:
                start = row.get("created_at") or self.now
                updated_at = start + (self.now - start) * self.rng.random()
            row["updated_at"] = _millis(max(updated_at, row.get("created_at") or updated_at))

    # -- values -------------------------------------------------------------------------------
    def value(self, table: TableSpec, column: Column) -> Any:  # noqa: PLR0911, PLR0912
        """A plausible value for ``column`` of ``table``."""
        rng, name, kind = self.rng, column.name.lower(), _base_type(column.type)
        parent = referenced_table(column.name, self.tables)
        if parent is not None and self.keys[parent.name]:
            return rng.choice(self.keys[parent.name])
        if column.nullable and rng.random() < 0.03 and name not in ("created_at", "updated_at"):
            return None
        if kind in ("TIMESTAMP_LTZ", "TIMESTAMP"):
            return _millis(self.now - timedelta(seconds=rng.uniform(0, 400 * 86400)))
        if kind == "DATE":
            return (self.now - timedelta(days=rng.randint(0, 1500))).date()
        if kind == "BOOLEAN":
            return rng.random() < (0.8 if "active" in name else 0.3)
        if kind in ("DECIMAL", "NUMERIC", "DEC"):
            return self._decimal(name, column.type)
        if kind in ("DOUBLE", "FLOAT", "REAL"):
            return round(self._magnitude(name), 3)
        if kind in ("BIGINT", "INT", "INTEGER", "SMALLINT", "TINYINT"):
            limit = {"TINYINT": 100, "SMALLINT": 1000}.get(kind, 100_000)
            if "qty" in name or "quantity" in name or "per" in name or "count" in name:
                return rng.choice([1, 6, 12, 24, 48, 60, 100])
            return rng.randint(0, limit)
        if kind == "ARRAY":
            return rng.sample(TAGS, k=rng.randint(0, 3))
        if kind == "MAP":
            return {"color": rng.choice(["red", "blue", "green", "black"]), "origin": rng.choice(COUNTRIES)}
        return self._text(table, name)

    def _decimal(self, name: str, flink_type: str) -> Decimal:
        match = _DECIMAL.search(flink_type)
        precision, scale = (int(match.group(1)), int(match.group(2) or 0)) if match else (10, 0)
        magnitude = min(self._magnitude(name), 10 ** (precision - scale) - 1)
        return Decimal(f"{magnitude:.{scale}f}") if scale else Decimal(int(magnitude))

    def _magnitude(self, name: str) -> float:
        rng = self.rng
        if "weight" in name:
            return rng.uniform(0.05, 40.0)
        if any(w in name for w in ("length", "width", "height", "depth")):
            return rng.uniform(1.0, 120.0)
        if "volume" in name or "cube" in name:
            return rng.uniform(0.001, 2.0)
        if "price" in name or "cost" in name:
            return rng.uniform(0.5, 250.0)
        return rng.uniform(0, 1000)

    def _text(self, table: TableSpec, name: str) -> str:  # noqa: PLR0911
        rng = self.rng
        if "brand" in name:
            return rng.choice(BRANDS)
        if "category" in name or "department" in name:
            return rng.choice(CATEGORIES)
        if "uom" in name or "unit" in name:
            return rng.choice(UOMS)
        if "status" in name:
            return rng.choice(STATUSES)
        if "country" in name:
            return rng.choice(COUNTRIES)
        if "currency" in name:
            return rng.choice(CURRENCIES)
        if "classification_type" in name or name.endswith("class_type") or name == "type":
            return rng.choice(CLASS_TYPES)
        if "classification" in name or "class" in name:
            return rng.choice(CLASS_VALUES)
        if any(w in name for w in ("gtin", "upc", "ean", "barcode")):
            return "".join(rng.choices(string.digits, k=13 if "ean" in name else 12))
        if "description" in name:
            return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS).lower()} by {rng.choice(BRANDS)}"
        if "name" in name:
            return f"{rng.choice(BRANDS)} {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        if "code" in name or "number" in name:
            return f"{table.short_name[:3].upper()}{rng.randint(0, 999_999):06d}"
        return f"{name}-{rng.randint(0, 9999):04d}"


def _millis(moment: datetime) -> datetime:
    """``moment`` in UTC truncated to milliseconds (TIMESTAMP_LTZ(3)'s precision)."""
    moment = moment.astimezone(timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
