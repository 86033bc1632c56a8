"""Parse Confluent Cloud Flink ``CREATE TABLE`` and ``DROP TABLE`` statements.

A small tokenizer and recursive-descent parser, because general SQL parsers (sqlglot) do not know
Flink's DDL (``PRIMARY KEY ... NOT ENFORCED``, ``DISTRIBUTED BY``, ``WITH (...)``). It reads:

    CREATE TABLE [IF NOT EXISTS] name (
        column TYPE [NOT NULL | NULL] [COMMENT '...'], ...
        [, PRIMARY KEY (a, b) NOT ENFORCED] [, WATERMARK FOR col AS expr]
    ) [COMMENT '...'] [DISTRIBUTED BY [HASH] (k, ...) [INTO n BUCKETS]] [WITH ('k' = 'v', ...)]
    [AS SELECT ...]

A name is one backticked identifier (`sbx-uat.encarta.public.skus` is a single table name, as
Debezium names topics) or ``catalog.database.table``; the table's name is its last part. Types
nest (``ARRAY<ROW<a INT, b STRING>>``, ``MAP<STRING, DECIMAL(10, 2)>``). A column keeps its type as
canonical text (``Column.type``, what the sandbox's catalog stores and compares) and as a parsed tree
(``Column.flink_type``, a :class:`FlinkType` whose ``str()`` is that text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|--[^\n]*|/\*.*?\*/)
  | (?P<quoted>`(?:[^`]|``)*`)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<word>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<symbol><>|<=|>=|!=|\|\||[(),.<>=;:+\-*/%\[\]])
    """,
    re.X | re.S,
)


class DdlError(ValueError):
    """A statement that is not the DDL this parser reads; says where and what was expected."""


@dataclass(frozen=True)
class Token:
    kind: str  # quoted | string | number | word | symbol | end
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else self.text


def tokenize(sql: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        if not match:
            raise DdlError(f"unexpected character {sql[pos]!r} at offset {pos}")
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(sql)))
    return tokens


@dataclass(frozen=True)
class FlinkType:
    """A parsed Flink SQL type: ``name`` (upper case), numeric ``params``, element/field types.

    ``nullable`` matters for nested types (an ARRAY's element, a ROW's field); a column's own
    nullability is :attr:`Column.nullable`.
    """

    name: str
    params: tuple[int, ...] = ()
    elements: tuple[FlinkType, ...] = ()  # ARRAY/MULTISET: (element,); MAP: (key, value)
    fields: tuple[tuple[str, FlinkType], ...] = ()  # ROW: (name, type)
    nullable: bool = True

    def __str__(self) -> str:
        if self.name in ("ARRAY", "MULTISET"):
            text = f"{self.name}<{self.elements[0]._nested()}>"
        elif self.name == "MAP":
            text = f"MAP<{self.elements[0]._nested()}, {self.elements[1]._nested()}>"
        elif self.name == "ROW":
            text = "ROW<" + ", ".join(f"`{n}` {t._nested()}" for n, t in self.fields) + ">"
        else:
            text = f"{self.name}({', '.join(map(str, self.params))})" if self.params else self.name
        return text

    def _nested(self) -> str:
        return str(self) if self.nullable else f"{self} NOT NULL"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # canonical Flink type text, without nullability: "DECIMAL(10, 2)", "ARRAY<STRING>"
    nullable: bool = True
    comment: str | None = None

    @cached_property
    def flink_type(self) -> FlinkType:
        """The parsed type, carrying the column's nullability."""
        return replace(parse_type(self.type), nullable=self.nullable)


@dataclass(frozen=True)
class TableDefinition:
    """What a ``CREATE TABLE`` says."""

    name: str  # the table's own name: one backticked identifier, or the last part of cat.db.table
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    distributed_by: tuple[str, ...] = ()
    buckets: int | None = None
    options: dict[str, str] = field(default_factory=dict)
    as_select: str | None = None
    if_not_exists: bool = False
    comment: str | None = None
    watermark: str | None = None

    def __post_init__(self) -> None:  # callers may pass lists; the definition holds tuples
        for name in ("columns", "primary_key", "distributed_by"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def short_name(self) -> str:
        """The last dotted part: ``sbx-uat.encarta.public.skus_master`` -> ``skus_master``."""
        return self.name.rsplit(".", 1)[-1]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table `{self.name}` has no column `{name}`")


class _Parser:
    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.tokens = tokenize(sql)
        self.i = 0

    # -- token helpers ---------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, expected: str) -> DdlError:
        t = self.tok
        line = self.sql.count("\n", 0, t.pos) + 1
        column = t.pos - self.sql.rfind("\n", 0, t.pos)
        found = repr(t.text) if t.kind != "end" else "the end of the statement"
        return DdlError(f"expected {expected} at line {line}, column {column} (offset {t.pos}), found {found}")

    def accept(self, *words: str) -> bool:
        """Consume the keyword sequence if it is next."""
        if all(self.tokens[self.i + k].upper == w for k, w in enumerate(words)):
            self.i += len(words)
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.fail(" ".join(words))

    def identifier(self) -> str:
        t = self.tok
        if t.kind == "quoted":
            self.i += 1
            return t.text[1:-1].replace("``", "`")
        if t.kind == "word":
            self.i += 1
            return t.text
        raise self.fail("an identifier")

    def qualified_name(self) -> str:
        parts = [self.identifier()]
        while self.accept("."):
            parts.append(self.identifier())
        return parts[-1]

    def string(self) -> str:
        t = self.tok
        if t.kind != "string":
            raise self.fail("a quoted string")
        self.i += 1
        return t.text[1:-1].replace("''", "'")

    def integer(self) -> int:
        t = self.tok
        if t.kind != "number" or not t.text.isdigit():
            raise self.fail("a whole number")
        self.i += 1
        return int(t.text)

    def name_list(self) -> list[str]:
        self.expect("(")
        names = [self.identifier()]
        while self.accept(","):
            names.append(self.identifier())
        self.expect(")")
        return names

    def end(self) -> None:
        self.accept(";")
        if self.tok.kind != "end":
            raise self.fail("the end of the statement")

    # -- types -----------------------------------------------------------------------------------
    def type(self) -> FlinkType:
        t = self.tok
        if t.kind != "word":
            raise self.fail("a data type")
        self.i += 1
        name = t.upper
        if name in ("ARRAY", "MULTISET"):
            self.expect("<")
            element = self.nullable_type()
            self.expect(">")
            return FlinkType(name, elements=(element,))
        if name == "MAP":
            self.expect("<")
            key = self.nullable_type()
            self.expect(",")
            value = self.nullable_type()
            self.expect(">")
            return FlinkType(name, elements=(key, value))
        if name == "ROW":
            closing = ">" if self.accept("<") else ")"
            if closing == ")":
                self.expect("(")
            fields = []
            while True:
                field_name = self.identifier()
                fields.append((field_name, self.nullable_type()))
                if not self.accept(","):
                    break
            self.expect(closing)
            return FlinkType(name, fields=tuple(fields))
        if name == "DOUBLE":
            self.accept("PRECISION")
        if name in ("TIMESTAMP", "TIME"):
            params = self.params() if self.tok.text == "(" else ()
            if name == "TIMESTAMP" and self.accept("WITH", "LOCAL", "TIME", "ZONE"):
                return FlinkType("TIMESTAMP_LTZ", params)
            self.accept("WITHOUT", "TIME", "ZONE")
            return FlinkType(name, params)
        if name == "CHARACTER" and self.accept("VARYING"):
            name = "VARCHAR"
        params = self.params() if self.tok.text == "(" else ()
        return FlinkType(_ALIASES.get(name, name), params)

    def params(self) -> tuple[int, ...]:
        self.expect("(")
        values = [self.integer()]
        while self.accept(","):
            values.append(self.integer())
        self.expect(")")
        return tuple(values)

    def nullable_type(self) -> FlinkType:
        flink_type = self.type()
        if self.accept("NOT", "NULL"):
            return replace(flink_type, nullable=False)
        self.accept("NULL")
        return flink_type

    # -- statements ------------------------------------------------------------------------------
    def create_table(self) -> TableDefinition:
        self.expect("CREATE", "TABLE")
        if_not_exists = self.accept("IF", "NOT", "EXISTS")
        name = self.qualified_name()
        columns: list[Column] = []
        primary_key: list[str] = []
        watermark = None
        if self.accept("("):
            while True:
                if self.accept("PRIMARY", "KEY"):
                    primary_key = self.name_list()
                    self.expect("NOT", "ENFORCED")
                elif self.accept("WATERMARK", "FOR"):
                    watermark = self.clause_text()
                elif self.accept("CONSTRAINT"):
                    self.identifier()
                    continue
                else:
                    columns.append(self.column())
                if not self.accept(","):
                    break
            self.expect(")")
        comment = self.string() if self.accept("COMMENT") else None
        distributed_by: list[str] = []
        buckets = None
        if self.accept("DISTRIBUTED", "BY"):
            self.accept("HASH")
            distributed_by = self.name_list()
            if self.accept("INTO"):
                buckets = self.integer()
                self.expect("BUCKETS")
        elif self.accept("DISTRIBUTED", "INTO"):
            buckets = self.integer()
            self.expect("BUCKETS")
        options: dict[str, str] = {}
        if self.accept("WITH"):
            self.expect("(")
            while True:
                key = self.string()
                self.expect("=")
                options[key] = self.string()
                if not self.accept(","):
                    break
            self.expect(")")
        as_select = None
        if self.accept("AS"):
            as_select = self.sql[self.tok.pos:].strip().rstrip(";").strip()
            if not as_select:
                raise self.fail("a query after AS")
            self.i = len(self.tokens) - 1
        self.end()
        if not columns and as_select is None:
            raise DdlError(f"CREATE TABLE `{name}` has neither columns nor AS SELECT")
        known = {c.name for c in columns}
        if len(known) < len(columns):
            twice = sorted({c.name for c in columns if [d.name for d in columns].count(c.name) > 1})
            raise DdlError(f"CREATE TABLE `{name}`: column {', '.join(f'`{n}`' for n in twice)} declared twice")
        for key in primary_key + distributed_by:
            if columns and key not in known:
                raise DdlError(f"CREATE TABLE `{name}`: key column `{key}` is not a column of the table")
        if primary_key:  # primary key columns are implicitly NOT NULL
            columns = [Column(c.name, c.type, False, c.comment) if c.name in primary_key else c for c in columns]
        return TableDefinition(name, columns, primary_key, distributed_by, buckets, options, as_select,
                               if_not_exists, comment, watermark)

    def column(self) -> Column:
        name = self.identifier()
        if self.tok.text == "(" or self.tok.upper == "AS":
            raise self.fail(f"a physical column type for `{name}` (computed columns are not supported)")
        flink_type = self.nullable_type()
        comment = self.string() if self.accept("COMMENT") else None
        return Column(name, str(flink_type), flink_type.nullable, comment)

    def clause_text(self) -> str:
        """The raw text up to the next top-level comma or closing parenthesis."""
        start, depth = self.tok.pos, 0
        while self.tok.kind != "end":
            if self.tok.text == "(":
                depth += 1
            elif self.tok.text == ")":
                if depth == 0:
                    break
                depth -= 1
            elif self.tok.text == "," and depth == 0:
                break
            self.i += 1
        return self.sql[start:self.tok.pos].strip()

    def drop_table(self) -> tuple[str, bool]:
        self.expect("DROP", "TABLE")
        if_exists = self.accept("IF", "EXISTS")
        name = self.qualified_name()
        self.end()
        return name, if_exists


_ALIASES = {"INTEGER": "INT", "NUMERIC": "DECIMAL", "DEC": "DECIMAL", "REAL": "FLOAT"}


def parse_create_table(sql: str) -> TableDefinition:
    """Parse one ``CREATE TABLE`` statement; raises :class:`DdlError` naming where it went wrong."""
    return _Parser(sql).create_table()


def parse_drop_table(sql: str) -> tuple[str, bool]:
    """Parse ``DROP TABLE [IF EXISTS] name``: returns (table name, if_exists)."""
    return _Parser(sql).drop_table()


def parse_type(text: str) -> FlinkType:
    """Parse a type's text (``"MAP<STRING, DECIMAL(10, 2)>"``) into a :class:`FlinkType`."""
    parser = _Parser(text)
    flink_type = parser.type()
    parser.end()
    return flink_type
