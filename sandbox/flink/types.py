"""Flink SQL data types as the sandbox stores and computes them: their DuckDB twins, the ``DataType``
documents of the statements API (``status.traits.schema``), and Flink's string form of values in
``/results`` rows.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

_SIMPLE = {
    "STRING": "VARCHAR",
    "VARCHAR": "VARCHAR",
    "CHAR": "VARCHAR",
    "BOOLEAN": "BOOLEAN",
    "TINYINT": "TINYINT",
    "SMALLINT": "SMALLINT",
    "INT": "INTEGER",
    "INTEGER": "INTEGER",
    "BIGINT": "BIGINT",
    "FLOAT": "FLOAT",
    "REAL": "FLOAT",
    "DOUBLE": "DOUBLE",
    "DATE": "DATE",
    "TIME": "TIME",
    "BYTES": "BLOB",
    "BINARY": "BLOB",
    "VARBINARY": "BLOB",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP_LTZ": "TIMESTAMPTZ",
    "DECIMAL": "DECIMAL",
    "NUMERIC": "DECIMAL",
}
_DUCK_TO_FLINK = {
    "VARCHAR": "STRING",
    "BOOLEAN": "BOOLEAN",
    "TINYINT": "TINYINT",
    "SMALLINT": "SMALLINT",
    "INTEGER": "INT",
    "BIGINT": "BIGINT",
    "HUGEINT": "BIGINT",
    "UTINYINT": "SMALLINT",
    "USMALLINT": "INT",
    "UINTEGER": "BIGINT",
    "UBIGINT": "BIGINT",
    "FLOAT": "FLOAT",
    "DOUBLE": "DOUBLE",
    "DATE": "DATE",
    "TIME": "TIME(0)",
    "BLOB": "BYTES",
    "TIMESTAMP": "TIMESTAMP(6)",
    "TIMESTAMP_MS": "TIMESTAMP(3)",
    "TIMESTAMP_S": "TIMESTAMP(0)",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP_LTZ(6)",
    "INTERVAL": "INTERVAL DAY TO SECOND(3)",
    '"NULL"': "NULL",
    "NULL": "NULL",
}
_TYPE = re.compile(r"^\s*([A-Za-z_]+(?:\s+WITH(?:OUT)?\s+(?:LOCAL\s+)?TIME\s+ZONE)?)\s*(?:\(([^)]*)\))?(.*)$", re.S)


class UnsupportedType(ValueError):
    """A Flink type the sandbox does not model."""


def split_type(flink_type: str) -> tuple[str, list[str], bool]:
    """``"DECIMAL(10, 2) NOT NULL"`` -> ``("DECIMAL", ["10", "2"], False)``."""
    text = flink_type.strip()
    upper = text.upper()
    nullable = not upper.endswith("NOT NULL")
    if not nullable:
        text = text[: -len("NOT NULL")].rstrip()
    elif upper.endswith(" NULL"):
        text = text[: -len(" NULL")].rstrip()
    match = _TYPE.match(text)
    if not match:
        raise UnsupportedType(f"unparseable type {flink_type!r}")
    name = " ".join(match.group(1).upper().split())
    if name == "TIMESTAMP WITH LOCAL TIME ZONE":
        name = "TIMESTAMP_LTZ"
    elif name in ("TIMESTAMP WITHOUT TIME ZONE",):
        name = "TIMESTAMP"
    params = [p.strip() for p in (match.group(2) or "").split(",") if p.strip()]
    return name, params, nullable


def _map_parts(flink_type: str) -> tuple[str, str]:
    """``"MAP<STRING, ARRAY<INT>>"`` -> ``("STRING", " ARRAY<INT>")``."""
    inner = flink_type[flink_type.index("<") + 1: flink_type.rindex(">")]
    depth = 0
    for i, ch in enumerate(inner):
        depth += ch in "<("
        depth -= ch in ">)"
        if ch == "," and depth == 0:
            return inner[:i], inner[i + 1:]
    raise UnsupportedType(f"unparseable type {flink_type!r}")


def to_duckdb(flink_type: str) -> str:
    """The DuckDB column type that holds values of a Flink type."""
    text = flink_type.strip()
    upper = text.upper()
    for wrapper in ("ARRAY<", "MULTISET<"):
        if upper.startswith(wrapper) and ">" in text:
            inner = text[len(wrapper): text.rindex(">")]
            return f"{to_duckdb(inner)}[]"
    if upper.startswith("MAP<") and ">" in text:
        key, value = _map_parts(text)
        return f"MAP({to_duckdb(key)}, {to_duckdb(value)})"
    if upper.startswith(("ROW<", "ROW(")):
        fields = ", ".join(f'"{n}" {to_duckdb(t)}' for n, t in row_fields(text))
        return f"STRUCT({fields})"
    if upper.startswith("INTERVAL"):
        return "INTERVAL"
    name, params, _ = split_type(text)
    if name not in _SIMPLE:
        raise UnsupportedType(f"the sandbox does not model Flink type {flink_type!r}")
    duck = _SIMPLE[name]
    if duck == "DECIMAL":
        precision = int(params[0]) if params else 10
        scale = int(params[1]) if len(params) > 1 else 0
        return f"DECIMAL({min(precision, 38)}, {scale})"
    return duck


def row_fields(flink_type: str) -> list[tuple[str, str]]:
    """``"ROW<name STRING, `b` INT NOT NULL>"`` -> ``[("name", "STRING"), ("b", "INT NOT NULL")]``."""
    text = flink_type.strip()
    inner = text[text.index(text[3]) + 1: -1] if text[3] in "<(" else ""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += ch in "<("
        depth -= ch in ">)"
        if ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    fields = []
    for part in filter(str.strip, parts):
        part = part.strip()
        if part.startswith("`"):
            end = part.index("`", 1)
            name, rest = part[1:end], part[end + 1:]
        else:
            name, _, rest = part.partition(" ")
        fields.append((name, rest.strip()))
    return fields


def from_duckdb(duck_type: str) -> str:
    """The Flink type of a DuckDB result column (for CREATE TABLE AS SELECT and result schemas)."""
    upper = duck_type.upper().strip()
    if upper.startswith("STRUCT(") and upper.endswith(")"):
        inner = duck_type.strip()[7:-1]
        parts, depth, start = [], 0, 0
        for i, ch in enumerate(inner):
            depth += ch == "("
            depth -= ch == ")"
            if ch == "," and depth == 0:
                parts.append(inner[start:i])
                start = i + 1
        parts.append(inner[start:])
        fields = []
        for part in parts:
            part = part.strip()
            if part.startswith('"'):
                end = part.index('"', 1)
                name, rest = part[1:end], part[end + 1:]
            else:
                name, _, rest = part.partition(" ")
            fields.append(f"`{name}` {from_duckdb(rest.strip())}")
        return "ROW<" + ", ".join(fields) + ">"
    if upper.endswith("[]"):
        return f"ARRAY<{from_duckdb(duck_type.strip()[:-2])}>"
    if upper.startswith("DECIMAL"):
        return upper
    if upper.startswith("MAP("):
        inner = duck_type.strip()[4:-1]
        key, _, value = inner.partition(", ")
        return f"MAP<{from_duckdb(key)}, {from_duckdb(value)}>"
    return _DUCK_TO_FLINK.get(upper, "STRING")


def sql_type_name(flink_type: str) -> str:
    """Flink's full SQL name of a type, as INFORMATION_SCHEMA shows it: ``STRING`` is
    ``VARCHAR(2147483647)``, ``BYTES`` is ``VARBINARY(2147483647)``, ``INTEGER`` is ``INT``."""
    text = flink_type.strip()
    upper = text.upper()
    if upper == "STRING":
        return "VARCHAR(2147483647)"
    if upper == "BYTES":
        return "VARBINARY(2147483647)"
    if upper == "INTEGER":
        return "INT"
    return text


def data_type(flink_type: str, nullable: bool = True) -> dict[str, Any]:
    """The statements API's ``DataType`` document for a Flink type."""
    text = flink_type.strip()
    upper = text.upper()
    if upper.startswith(("ARRAY<", "MULTISET<")):
        inner = text[text.index("<") + 1: text.rindex(">")]
        return {"type": upper.split("<")[0], "nullable": nullable, "element_type": data_type(inner)}
    if upper.startswith("MAP<"):
        key, value = _map_parts(text)
        return {"type": "MAP", "nullable": nullable, "key_type": data_type(key),
                "value_type": data_type(value)}
    if upper.startswith(("ROW<", "ROW(")):
        return {"type": "ROW", "nullable": nullable,
                "fields": [{"name": n, "field_type": data_type(*_type_and_nullable(t))} for n, t in row_fields(text)]}
    if upper.startswith("INTERVAL"):
        if "YEAR" in upper or upper.endswith("MONTH"):
            return {"type": "INTERVAL_YEAR_MONTH", "nullable": nullable, "precision": 2, "resolution": "YEAR_TO_MONTH"}
        return {"type": "INTERVAL_DAY_TIME", "nullable": nullable, "precision": 2, "fractional_precision": 3,
                "resolution": "DAY_TO_SECOND"}
    name, params, declared_nullable = split_type(text)
    doc: dict[str, Any] = {"type": {"STRING": "VARCHAR", "INT": "INTEGER", "BYTES": "VARBINARY"}.get(name, name),
                           "nullable": nullable and declared_nullable}
    if name in ("STRING", "BYTES") or (name in ("VARCHAR", "VARBINARY") and not params):
        doc["length"] = 2147483647
    elif name in ("CHAR", "BINARY") and not params:
        doc["length"] = 1
    elif name in ("VARCHAR", "CHAR", "BINARY", "VARBINARY") and params:
        doc["length"] = int(params[0])
    elif name in ("DECIMAL", "NUMERIC"):
        doc["precision"] = int(params[0]) if params else 10
        doc["scale"] = int(params[1]) if len(params) > 1 else 0
    elif name in ("TIMESTAMP", "TIMESTAMP_LTZ", "TIME"):
        doc["precision"] = int(params[0]) if params else (0 if name == "TIME" else 6)
        if name == "TIMESTAMP_LTZ":
            doc["type"] = "TIMESTAMP_WITH_LOCAL_TIME_ZONE"
        elif name == "TIMESTAMP":
            doc["type"] = "TIMESTAMP_WITHOUT_TIME_ZONE"
        elif name == "TIME":
            doc["type"] = "TIME_WITHOUT_TIME_ZONE"
    return doc


def _type_and_nullable(flink_type: str) -> tuple[str, bool]:
    text = flink_type.strip()
    if text.upper().endswith("NOT NULL"):
        return text[: -len("NOT NULL")].strip(), False
    return text, True


ROW_TYPES, COLLECTION_TYPES = ("ROW<", "ROW("), ("ARRAY<", "MULTISET<")  # the types stored_value changes


def is_nested(flink_type: str) -> bool:
    """A type whose values :func:`stored_value` changes (a ROW, or an ARRAY or MULTISET of anything)."""
    return flink_type.strip().upper().startswith(ROW_TYPES + COLLECTION_TYPES)


def stored_value(value: Any, flink_type: str) -> Any:
    """A value as a record stores it: a ROW as an object of its field names (DuckDB gives an
    unnamed ROW(...) as a tuple), inside arrays too."""
    upper = flink_type.strip().upper()
    if value is None:
        return None
    if upper.startswith(ROW_TYPES) and isinstance(value, (tuple, list, dict)):
        fields = row_fields(flink_type)
        values = list(value.values()) if isinstance(value, dict) else list(value)
        return {name: stored_value(v, t) for (name, t), v in zip(fields, values)}
    if upper.startswith(COLLECTION_TYPES) and isinstance(value, (list, tuple)):
        element = flink_type.strip()[flink_type.index("<") + 1: -1]
        return [stored_value(v, element) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot store a {type(value).__name__} in a table record")


def dumps(value: Any) -> str:
    """A record's JSON text (timestamps as ISO 8601 in UTC, decimals as strings)."""
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def result_value(value: Any, flink_type: str | None = None) -> Any:
    """A value as Flink's results API renders it: strings for scalars, lists for arrays, rows and
    maps (``[key, value]`` pairs), multisets as ``[element, count]`` pairs, intervals as
    ``+D HH:MM:SS.mmm`` / ``+Y-MM``, timestamps to their precision (milliseconds when unknown)."""
    if value is None:
        return None
    upper = (flink_type or "").strip().upper()
    if upper.startswith("MULTISET<") and isinstance(value, (list, tuple)):
        element = flink_type.strip()[9:-1]
        counts: dict = {}
        for item in value:
            if item is not None:
                key = json.dumps(result_value(item, element))
                counts[key] = counts.get(key, 0) + 1
        return [[json.loads(k), str(n)] for k, n in counts.items()]
    if upper.startswith("ARRAY<") and isinstance(value, (list, tuple)):
        element = flink_type.strip()[6:-1]
        return [result_value(v, element) for v in value]
    if upper.startswith(("ROW<", "ROW(")) and isinstance(value, dict):
        types = [t for _, t in row_fields(flink_type)]
        return [result_value(v, types[i] if i < len(types) else None) for i, v in enumerate(value.values())]
    if upper.startswith("INTERVAL") and isinstance(value, timedelta):
        if "YEAR" in upper or upper.endswith("MONTH"):  # DuckDB reads a month interval as 30 days
            months = round(value.total_seconds() / 86400 / 30)
            return f"{'-' if months < 0 else '+'}{abs(months) // 12}-{abs(months) % 12:02d}"
        millis = round(value.total_seconds() * 1000)
        sign = "-" if millis < 0 else "+"
        millis = abs(millis)
        days, rest = divmod(millis, 86_400_000)
        hours, rest = divmod(rest, 3_600_000)
        minutes, rest = divmod(rest, 60_000)
        seconds, millis = divmod(rest, 1000)
        return f"{sign}{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        precision = _precision(upper) or 3  # sub-millisecond digits only where the type and the value have them
        micros = precision > 3 and value.microsecond % 1000 != 0
        return value.isoformat(sep=" ", timespec="microseconds" if micros else "milliseconds")
    if isinstance(value, time):
        return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    if isinstance(value, (list, tuple)):
        return [result_value(v) for v in value]
    if isinstance(value, dict):
        return [[result_value(k), result_value(v)] for k, v in value.items()]
    if isinstance(value, (bytes, bytearray)):
        return "x'" + bytes(value).hex() + "'"
    return str(value)


def _precision(upper_type: str) -> int | None:
    match = re.search(r"\((\d+)\)", upper_type)
    return int(match.group(1)) if match else None
