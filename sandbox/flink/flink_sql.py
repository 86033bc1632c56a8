"""Flink SQL syntax that sqlglot's ``hive`` dialect does not read, rewritten before parsing, and the
Flink types of query outputs that DuckDB cannot tell.

Before parsing, outside string literals, identifiers and comments:

- ``CAST(expr AS type)`` becomes ``__flink_cast(expr, 'type')``, keeping Flink's type text (``CHAR(5)``,
  ``ROW<a INT>``, ``MULTISET<STRING>``, ``INTERVAL DAY TO SECOND``...) that sqlglot would lose or refuse;
- ``x'0102'`` (a binary string literal) becomes ``__flink_binary('0102')``.

After parsing, :func:`rewrite` turns those and Flink's ``INTERVAL`` literals and ``COLLECT`` into
DuckDB, and :func:`output_hint` tells a select item's Flink type and nullability where DuckDB's
types are not Flink's (CHAR(n), VARCHAR(n), VARBINARY, intervals, MULTISET, ROW, TIME precision).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import sqlglot
from sqlglot import exp

from sandbox.flink.types import UnsupportedType, to_duckdb

CAST_FUNCTION = "__FLINK_CAST"
BINARY_FUNCTION = "__FLINK_BINARY"
YEAR_MONTH = "INTERVAL YEAR TO MONTH"
DAY_TIME = "INTERVAL DAY TO SECOND(3)"
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9$]*")


def preprocess(sql: str) -> str:
    """Rewrite CAST and binary literals (see the module doc) outside strings and comments."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'`\"":
            end = _quoted_end(sql, i)
            out.append(sql[i:end])
            i = end
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end])
            i = end
        elif ch in "xX" and i + 1 < n and sql[i + 1] == "'" and not _word_before(sql, i):
            end = _quoted_end(sql, i + 1)
            out.append(f"{BINARY_FUNCTION}({sql[i + 1:end]})")
            i = end
        elif ch.isalpha() or ch == "_":
            match = _WORD.match(sql, i)
            word = match.group(0)
            rest = match.end()
            while rest < n and sql[rest].isspace():
                rest += 1
            if word.upper() == "TIME" and rest < n and sql[rest] == "'" and not _word_before(sql, i):
                end = _quoted_end(sql, rest)  # TIME '12:34:56' (hive has no TIME type)
                out.append(f"{CAST_FUNCTION}({sql[rest:end]}, 'TIME')")
                i = end
                continue
            if word.upper() == "CAST" and rest < n and sql[rest] == "(" and not _word_before(sql, i):
                close = _matching_paren(sql, rest)
                inner = sql[rest + 1:close]
                split = _top_level_as(inner)
                if split is not None:
                    expr, type_text = inner[:split[0]], inner[split[1]:].strip()
                    out.append(f"{CAST_FUNCTION}({preprocess(expr)}, '{type_text.replace(chr(39), chr(39) * 2)}')")
                    i = close + 1
                    continue
            out.append(word)
            i = match.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _word_before(sql: str, i: int) -> bool:
    return i > 0 and (sql[i - 1].isalnum() or sql[i - 1] in "_$.")


def _quoted_end(sql: str, start: int) -> int:
    quote = sql[start]
    i = start + 1
    while i < len(sql):
        if sql[i] == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)


def _matching_paren(sql: str, start: int) -> int:
    depth = 0
    i = start
    while i < len(sql):
        ch = sql[i]
        if ch in "'`\"":
            i = _quoted_end(sql, i)
            continue
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return i
        i += 1
    return len(sql) - 1


def _top_level_as(text: str) -> tuple[int, int] | None:
    """Span of the last `` AS `` at nesting level 0 of a CAST's parentheses."""
    depth, i, found = 0, 0, None
    while i < len(text):
        ch = text[i]
        if ch in "'`\"":
            i = _quoted_end(text, i)
            continue
        depth += ch in "(<"
        depth -= ch in ")>"
        if depth == 0 and text[i:i + 2].upper() == "AS" and (i == 0 or text[i - 1].isspace()) \
                and i + 2 < len(text) and text[i + 2].isspace():
            found = (i, i + 2)
        i += 1
    return found


# -- after parsing --------------------------------------------------------------------------------

def rewrite(query: exp.Expression) -> None:
    """Turn the placeholders, INTERVAL literals and COLLECT into DuckDB expressions."""
    for node in list(query.find_all(exp.Anonymous)):
        name = node.name.upper()
        if name == CAST_FUNCTION:
            value, type_text = node.expressions[0], node.expressions[1].name
            node.replace(exp.Cast(this=value, to=exp.DataType.build(duck_type(type_text), dialect="duckdb")))
        elif name == BINARY_FUNCTION:
            node.replace(sqlglot.parse_one(f"from_hex('{node.expressions[0].name}')", read="duckdb"))
        elif name == "COLLECT" and len(node.expressions) == 1:
            arg = node.expressions[0].sql("duckdb")
            node.replace(sqlglot.parse_one(
                f"coalesce(list({arg}) FILTER (WHERE {arg} IS NOT NULL), [])", read="duckdb"))
    for node in list(query.find_all(exp.Interval)):
        parsed = interval(node)
        if parsed is not None:
            kind, amount = parsed
            text = f"to_months({amount})" if kind == YEAR_MONTH else f"to_milliseconds({amount})"
            node.replace(sqlglot.parse_one(text, read="duckdb"))


def duck_type(flink_type: str) -> str:
    """The DuckDB type for a Flink type written in a CAST."""
    try:
        return to_duckdb(flink_type)
    except UnsupportedType:
        data_type = sqlglot.parse_one(f"CAST(NULL AS {flink_type})", read="hive").to
        return data_type.sql("duckdb")


_UNITS = ["YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"]
_MILLIS = {"DAY": 86_400_000, "HOUR": 3_600_000, "MINUTE": 60_000, "SECOND": 1000}


def interval(node: exp.Interval) -> tuple[str, int] | None:
    """(kind, months or milliseconds) of a Flink INTERVAL literal."""
    unit = node.args.get("unit")
    if not isinstance(node.this, exp.Literal) or unit is None:
        return None
    if isinstance(unit, exp.IntervalSpan):
        last_unit = unit.expression
        last = last_unit.name.upper() if isinstance(last_unit, exp.Var) else type(last_unit).__name__.upper()
        first = unit.this.name.upper()
    else:
        first = last = unit.name.upper()
    first, last = first.rstrip("S"), re.sub(r"\(.*", "", last).rstrip("S")
    if first not in _UNITS or last not in _UNITS:
        return None
    text = node.this.name.strip()
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-").strip()
    units = _UNITS[_UNITS.index(first): _UNITS.index(last) + 1]
    fields = re.split(r"[-\s:]+", body) if first in ("YEAR", "MONTH") else re.split(r"[\s:]+", body)
    if len(fields) != len(units):
        return None
    if first in ("YEAR", "MONTH"):
        months = sum(int(v) * (12 if u == "YEAR" else 1) for u, v in zip(units, fields))
        return YEAR_MONTH, sign * months
    millis = sum(int(Decimal(v) * _MILLIS[u]) for u, v in zip(units, fields))  # Flink keeps milliseconds
    return DAY_TIME, sign * millis


@dataclass(frozen=True)
class Hint:
    """What an output's expression says of its Flink type (None: DuckDB's type decides)."""

    type: str | None = None
    not_null: bool = False
    multiset: bool = False  # DuckDB's ARRAY<T> is Flink's MULTISET<T> (COLLECT)


def output_hint(expression: exp.Expression, not_null_columns: set[str],
                declared: dict[str, str] | None = None) -> Hint:
    """``declared``: the Flink types of source columns (by name, where unambiguous)."""
    declared = declared or {}
    if isinstance(expression, exp.Alias):
        return output_hint(expression.this, not_null_columns, declared)
    if isinstance(expression, exp.Paren):
        return output_hint(expression.this, not_null_columns, declared)
    if isinstance(expression, exp.Null):
        return Hint()
    if isinstance(expression, (exp.Literal, exp.Boolean)):
        return Hint(not_null=True)
    if isinstance(expression, exp.Anonymous):
        name = expression.name.upper()
        if name == CAST_FUNCTION:
            value = output_hint(expression.expressions[0], not_null_columns)
            return Hint(_flink_type_name(expression.expressions[1].name), value.not_null)
        if name == BINARY_FUNCTION:
            return Hint(f"VARBINARY({len(expression.expressions[0].name) // 2})", True)
        if name == "COLLECT":
            return Hint(None, True, multiset=True)
        return Hint()
    if isinstance(expression, exp.Interval):
        parsed = interval(expression)
        return Hint(parsed[0], True) if parsed else Hint()
    if isinstance(expression, exp.Count):
        return Hint(None, True)
    if isinstance(expression, exp.Column):
        if expression.table and expression.table in declared:  # a ROW field (`row.field`), not a column
            return Hint()
        return Hint(declared.get(expression.name), expression.name in not_null_columns)
    if isinstance(expression, exp.Binary) and not isinstance(expression, (exp.Div, exp.Mod)):
        left = output_hint(expression.left, not_null_columns)
        right = output_hint(expression.right, not_null_columns)
        return Hint(None, left.not_null and right.not_null)
    return Hint()


def _flink_type_name(type_text: str) -> str:
    text = " ".join(type_text.split())
    upper = text.upper()
    if upper in ("CHAR", "BINARY"):
        return f"{upper}(1)"
    if upper == "VARBINARY":
        return "VARBINARY(2147483647)"
    if upper in ("VARCHAR",):
        return "STRING"
    if upper.startswith("INTERVAL"):
        return YEAR_MONTH if "YEAR" in upper or upper.endswith("MONTH") else DAY_TIME
    if upper == "DECIMAL":
        return "DECIMAL(10, 0)"
    if upper in ("TIMESTAMP", "TIMESTAMP_LTZ"):
        return f"{upper}(6)"
    return text
