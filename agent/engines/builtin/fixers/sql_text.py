"""Turn a SQL query built by string interpolation into placeholder text plus parameters, or refuse with a reason.

Input: the query's *pieces* (static text and interpolated values, as `shell_split.command_pieces` reads an
f-string, `%`, `.format` or `+` build) and the driver's paramstyle (`qmark` -> `?`, `format` -> `%s`). The static
SQL is scanned like a SQL tokenizer would: single-quoted literals (`''` escapes a quote), double-quoted
identifiers, `--` and `/* */` comments.

* A value inside a single-quoted literal: the whole literal becomes one placeholder and its content one parameter
  (`'{name}'` -> `?` with `str(name)`; `'%{q}%'` -> `?` with `f"%{q}%"`), so the parameter is the same text the
  literal held.
* A value outside literals is a parameter only where SQL expects a *value*: after a comparison operator
  (`=`, `<>`, `<=`, ...), after LIKE / ILIKE / LIMIT / OFFSET / BETWEEN (and its AND), or as an item of an
  `IN (...)` or `VALUES (...)` list, standing as a whole token. It is passed as it is (an int stays an int).

Refused, with the reason: a value anywhere else (a table or column name, an ORDER BY target, a keyword, a SQL
fragment such as a whole WHERE clause: parameters can only carry values, so a person must check such a value
against an allow-list), a value in a double-quoted identifier or a comment, a literal after FROM/JOIN/INTO/TABLE/
UPDATE (SQLite reads those as names), a backslash inside a literal (MySQL reads it as an escape), a `?` already in
the text, an unbalanced quote, and a query with no interpolated value at all.
With paramstyle `format` every `%` of the static text is doubled, as the drivers require once parameters are
passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.engines.builtin.fixers.shell_split import Piece, UnsupportedCommand, Value, word_code

PLACEHOLDERS = {"qmark": "?", "format": "%s"}
_COMPARISON = ("<>", "!=", "<=", ">=", "=", "<", ">")
_VALUE_KEYWORDS = frozenset({"LIKE", "ILIKE", "LIMIT", "OFFSET", "BETWEEN"})
_LIST_KEYWORDS = frozenset({"IN", "VALUES"})
_NAME_KEYWORDS = frozenset({"FROM", "JOIN", "INTO", "TABLE", "UPDATE"})
_TOKEN_END = set(" \t\r\n),;=<>!+-*/|")


class UnsupportedQuery(UnsupportedCommand):
    """The query cannot be parameterized safely; the message says why, for a reviewer."""


@dataclass(frozen=True)
class Parameterized:
    """The query text with placeholders, and the Python source of each parameter in order."""

    sql: str
    params: tuple[str, ...]


def _tail(text: str, width: int = 30) -> str:
    tail = " ".join(text.split())[-width:]
    return f"`...{tail}`" if tail else "the start of the query"


def _innermost_open_paren(code: str) -> int | None:
    depth, index = 0, len(code) - 1
    while index >= 0:
        ch = code[index]
        if ch == ")":
            depth += 1
        elif ch == "(":
            if depth == 0:
                return index
            depth -= 1
        index -= 1
    return None


def _last_word(text: str) -> str:
    match = re.search(r"([A-Za-z_]+)\s*$", text)
    return match.group(1).upper() if match else ""


def is_value_position(code_before: str) -> bool:
    """True when SQL expects a value right after `code_before` (the query text so far, literals resolved)."""
    text = code_before.rstrip()
    if text.endswith(_COMPARISON) and not text.endswith("->"):  # `->` is PostgreSQL's JSON key operator
        return True
    word = _last_word(text)
    if word in _VALUE_KEYWORDS:
        return True
    if word == "AND" and re.search(r"\bBETWEEN\s+\S+\s+AND\s*$", text, re.IGNORECASE):
        return True
    if text.endswith("("):
        return _last_word(text[:-1]) in _LIST_KEYWORDS
    if text.endswith(","):
        open_paren = _innermost_open_paren(text)
        return open_paren is not None and _last_word(text[:open_paren]) in _LIST_KEYWORDS
    return False


class _Builder:
    def __init__(self, paramstyle: str, quote: str) -> None:
        self.placeholder = PLACEHOLDERS[paramstyle]
        self.escape_percent = paramstyle == "format"
        self.quote = quote
        self.out: list[str] = []  # the new query, literals already resolved
        self.params: list[str] = []
        self.ends: list[int] = []  # where each unquoted placeholder ends in the output
        self.state = "code"
        self.literal: list[Piece] = []
        self.literal_raw = ""
        self.literal_start = ""

    def code_so_far(self) -> str:
        return "".join(self.out)

    def value(self, value: Value) -> None:
        if self.state == "literal":
            self.literal.append(value)
            return
        where = {"ident": "a double-quoted SQL identifier", "line": "a SQL comment", "block": "a SQL comment"}
        if self.state in where:
            raise UnsupportedQuery(f"`{value.code}` is interpolated into {where[self.state]}; parameters can only "
                                   "carry values")
        before = self.code_so_far()
        if not is_value_position(before):
            raise UnsupportedQuery(
                f"`{value.code}` is placed after {_tail(before)}, where SQL needs a name or a piece of SQL rather "
                "than a value; a query parameter cannot carry it, so check it against an allow-list instead"
            )
        self.out.append(self.placeholder)
        self.ends.append(len(self.code_so_far()))
        self.params.append(word_code([value], self.quote) if value.conversion or value.spec else value.code)

    def text(self, text: str) -> None:
        index = 0
        while index < len(text):
            ch, nxt = text[index], text[index + 1: index + 2]
            index += 1
            if self.state == "literal":
                if ch == "'" and nxt == "'":
                    index += 1
                    self.literal.append("'")
                    self.literal_raw += "''"
                elif ch == "'":
                    self._close_literal()
                elif ch == "\\":
                    raise UnsupportedQuery("a SQL string literal contains a backslash, which MySQL reads as an "
                                           "escape character; the literal's value is ambiguous")
                else:
                    self.literal.append(ch)
                    self.literal_raw += self._static(ch)
                continue
            self.out.append(self._static(ch))
            if (self.state, ch) in {("ident", '"'), ("line", "\n")}:
                self.state = "code"
            elif self.state == "block" and ch == "*" and nxt == "/":
                self.out.append("/")
                index += 1
                self.state = "code"
            elif self.state == "code":
                if ch == "'":
                    self.out.pop()
                    self.state, self.literal, self.literal_raw = "literal", [], ""
                    self.literal_start = self.code_so_far()
                elif ch == '"':
                    self.state = "ident"
                elif ch == "-" and nxt == "-":
                    self.state = "line"
                elif ch == "/" and nxt == "*":
                    self.state = "block"
                elif ch == "?" and self.placeholder == "?":
                    raise UnsupportedQuery("the query already contains a `?` placeholder")

    def _static(self, ch: str) -> str:
        return "%%" if ch == "%" and self.escape_percent else ch

    def _close_literal(self) -> None:
        self.state = "code"
        if not any(isinstance(p, Value) for p in self.literal):
            self.out.append(f"'{self.literal_raw}'")
            return
        before = self.literal_start
        if _last_word(before) in _NAME_KEYWORDS:
            raise UnsupportedQuery(f"a quoted value follows {_tail(before)}, where SQLite reads a quoted string "
                                   "as a table name")
        self.out.append(self.placeholder)
        self.params.append(word_code(self.literal, self.quote))

    def finish(self) -> Parameterized:
        if self.state == "literal":
            raise UnsupportedQuery("the query has an unbalanced single quote")
        if not self.params:
            raise UnsupportedQuery("the query has no interpolated values")
        sql = self.code_so_far()
        for end in self.ends:
            if end < len(sql) and sql[end] not in _TOKEN_END:
                raise UnsupportedQuery(f"an interpolated value is followed by `{sql[end:end + 10]}`, so it is "
                                       "part of a longer SQL token, not a whole value")
        return Parameterized(sql, tuple(self.params))


def parameterize(pieces: list[Piece], paramstyle: str, quote: str = '"') -> Parameterized:
    """The placeholder query and parameters for `pieces` (see the module docstring), or UnsupportedQuery."""
    builder = _Builder(paramstyle, quote)
    for piece in pieces:
        if isinstance(piece, Value):
            builder.value(piece)
        else:
            builder.text(piece)
    return builder.finish()
