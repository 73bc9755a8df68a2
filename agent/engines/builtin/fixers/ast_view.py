"""A read-only view of one module's stdlib `ast` tree, shaped like the fixers' libcst `ParsedSource`.

For the fixers' `would_rewrite` predicates (triage's quick-win check, which must not pay for libcst): nodes by
type on a range of lines (libcst's positions leave out a node's own parentheses, as `ast` does), parents, a call's
arguments in source order, the source text of a node, which string literals libcst would see as one
`SimpleString` / `FormattedString` and which as a `ConcatenatedString` (implicit concatenation), and qualified
names as libcst computes them (`ast_scopes`). Built from the tree the facts layer already parsed.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from agent.code.nodes import BLOCK_FIELDS, CHILD_FIELDS, children
from agent.engines.builtin.fixers.ast_scopes import Scopes, Unsure
from agent.engines.builtin.fixers.ast_statement_scopes import StatementScopes, statement_bindings_suffice

__all__ = ["Arg", "AstView", "Unsure"]

_EVERY_LINE = 10**9
_DECORATED = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
# statements whose fields without lines of their own (parameters, `with` items) lie between their first line and
# their body's
_HEADED = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.With, ast.AsyncWith})


def _extent(node: ast.AST) -> tuple[int, int]:
    """First and last line of a statement, except handler or match case, decorators included: every node it
    holds lies on them."""
    cls = node.__class__
    if cls is ast.match_case:
        return node.pattern.lineno, node.body[-1].end_lineno or node.body[-1].lineno  # type: ignore[attr-defined]
    start = node.lineno  # type: ignore[attr-defined]
    if cls in _DECORATED and node.decorator_list:  # type: ignore[attr-defined]
        start = min(start, *(d.lineno for d in node.decorator_list))  # type: ignore[attr-defined]
    return start, node.end_lineno or start  # type: ignore[attr-defined]


# exactly one string literal (prefix, quotes, and a body that no unescaped closing quote ends early): the
# tokenizer reads such text as one token
_ONE_LITERAL = re.compile(r"""[rRbBuUfF]{0,2}(?:"{3}(?:[^"\\]|\\.|"(?!""))*"{3}|'{3}(?:[^'\\]|\\.|'(?!''))*'{3}"""
                          r"""|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""", re.DOTALL)
# before Python 3.12 an f-string is one STRING token (later its fields are tokens of their own)
_FSTRINGS_ARE_ONE_TOKEN = sys.version_info < (3, 12)

# a literal's first token: STRING, or FSTRING_START for an f-string on Python >= 3.12 (one STRING token before)
_STRING_STARTS = frozenset({tokenize.STRING, getattr(tokenize, "FSTRING_START", tokenize.STRING)})


@dataclass(frozen=True)
class Arg:
    """One argument as libcst sees it: `keyword` (None when positional), `star` ("", "*" or "**"), the value."""

    keyword: str | None
    star: str
    value: ast.expr
    node: ast.AST


class AstView:
    """The view of one module. Its nodes are walked where questions look: a question about lines first..last walks
    the statements whose lines (decorators included) overlap them, with everything they hold but the statements
    of their blocks that lie elsewhere, and every node walked keeps its parent; the parent of a node not walked
    yet walks its lines first (statements hold no node outside their own lines, decorators aside). A module asked
    about a few lines is thus read there, and answers are those of a walk of the whole tree, in its pre-order."""

    def __init__(self, source: str, tree: ast.Module) -> None:
        self.source = source
        self.tree = tree
        self._encoded: dict[int, bytes] = {}
        self._parent: dict[int, ast.AST] = {}
        self._parts: dict[int, list] = {}  # `_parts_of`'s answers by container id
        self._subtrees: dict[int, list[ast.AST]] = {}  # `_subtree`'s answers by node id
        self._between: dict[tuple[int, int], list[ast.AST]] = {}  # `_nodes_between`'s answers
        self._on_lines: dict[tuple, list[ast.AST]] = {}  # `nodes_on_lines`' answers by (type, first, last)
        self._statements: dict[tuple[int, int], list[ast.AST]] = {}  # `_statements_between`'s answers
        self._blocks: dict[int, list[tuple[int, int, ast.AST]]] = {}  # `_block_items`' answers by container id
        self._strings: dict[int, int] = {}
        self._args: dict[int, list[Arg]] = {}
        self._names: dict[int, frozenset[str]] = {}
        # `quick_win.quick_win`'s answers: (fixers, first, last) -> (fixer or None, stats key)
        self.quick_wins: dict[tuple[tuple, int, int], tuple[str | None, str]] = {}
        # and what they are made of: each fixer's `would_rewrite` by (fixer, first, last); the fixers of a list
        # worth asking here, and those passed over (`quick_win._worth_asking`)
        self.answers: dict[tuple[object, int, int], bool | None] = {}
        self.worth_asking: dict[tuple, tuple[tuple, tuple]] = {}
        self._mentions: dict[tuple[str, ...], bool] = {}

    @cached_property
    def lines(self) -> list[str]:
        return self.source.splitlines(keepends=True)

    @cached_property
    def scopes(self) -> Scopes:
        """The module's scopes: read off its statements when they hold every binding (`ast_statement_scopes`),
        else walked whole (function and class bodies as lookups need them, unless a `global` or `nonlocal`
        statement may bind a name of another scope: then all up front)."""
        source = self.source
        if statement_bindings_suffice(source):
            return StatementScopes(self.tree, self.parent_of)
        return Scopes(self.tree, self.parent_of, lazy="global" not in source and "nonlocal" not in source)

    def parent_of(self, node: ast.AST | None) -> ast.AST | None:
        """The node's parent (None for the module, for None, or for a node of another tree)."""
        if node is None:
            return None
        found = self._parent.get(id(node))
        if found is None and node is not self.tree:
            line = getattr(node, "lineno", None)
            if line is not None:
                self._nodes_between(line, getattr(node, "end_lineno", None) or line)
                found = self._parent.get(id(node))
            if found is None:  # a node without lines (a function's `arguments`...): walk the whole tree
                self._nodes_between(1, _EVERY_LINE)
                found = self._parent.get(id(node))
        return found

    # --- positions and text -----------------------------------------------------------------------------------

    def mentions(self, words: tuple[str, ...]) -> bool:
        """The module's text holds one of `words`, as written or as `ast` reads it (identifiers NFKC-normalised:
        `ｏｓ` is the name `os`). A word that makes up an identifier of the module is found, in strings and
        comments too (memoised per `words`)."""
        found = self._mentions.get(words)
        if found is None:
            text = self.source
            found = any(word in text for word in words)
            if not found and not text.isascii():
                normal = unicodedata.normalize("NFKC", text)
                found = any(word in normal for word in words)
            self._mentions[words] = found
        return found

    def _line(self, number: int) -> bytes:
        found = self._encoded.get(number)
        if found is None:
            found = self._encoded[number] = self.lines[number - 1].encode("utf-8") if number <= len(self.lines) \
                else b""
        return found

    def segment(self, node: ast.AST) -> str:
        """The source text of `node` (without parentheses around it), like libcst's `code_for_node(...).strip()`
        of an unparenthesised node."""
        start, end = node.lineno, node.end_lineno  # type: ignore[attr-defined]
        col, end_col = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        if start == end:
            return self._line(start)[col:end_col].decode("utf-8")
        parts = [self._line(start)[col:]] + [self._line(n) for n in range(start + 1, end)] + \
                [self._line(end)[:end_col]]
        return b"".join(parts).decode("utf-8")

    def text_before(self, node: ast.AST) -> str:
        """The text of `node`'s first line before it."""
        return self._line(node.lineno)[:node.col_offset].decode("utf-8")  # type: ignore[attr-defined]

    def _previous(self, line: int, col: int) -> tuple[int, int, bytes]:
        """The last non-blank byte before (line, col), with its position ((0, 0, b"") at the start)."""
        text = self._line(line)[:col]
        while True:
            stripped = text.rstrip(b" \t\r\n\\")
            if stripped:
                return line, len(stripped) - 1, stripped[-1:]
            line -= 1
            if line < 1:
                return 0, 0, b""
            text = self._line(line)

    def _next(self, line: int, col: int) -> tuple[int, int, bytes]:
        """The first non-blank byte at or after (line, col), with its position."""
        text = self._line(line)[col:]
        while True:
            stripped = text.lstrip(b" \t\r\n\\")
            if stripped:
                return line, len(self._line(line)) - len(stripped), stripped[:1]
            line += 1
            if line > len(self.lines):
                return 0, 0, b""
            text, col = self._line(line), 0

    def grouped(self, node: ast.AST) -> bool:
        """True when `node` has parentheses of its own, which libcst counts as part of the node's code (a call's
        or a tuple's own parentheses are not the node's)."""
        line, col, char = self._previous(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        if char != b"(":
            return False
        if self._next(node.end_lineno, node.end_col_offset)[2] != b")":  # type: ignore[attr-defined]
            return False
        parent = self.parent_of(node)
        if isinstance(parent, ast.Call) and parent.func is not node:
            return self._next(parent.func.end_lineno, parent.func.end_col_offset)[:2] != (line, col)  # type: ignore
        if isinstance(parent, ast.Tuple) and parent.elts and parent.elts[0] is node:
            return (parent.lineno, parent.col_offset) != (line, col)
        return True

    # --- nodes ------------------------------------------------------------------------------------------------

    def nodes_on_lines(self, node_type: type | tuple[type, ...], first: int, last: int) -> list:
        """The nodes of `node_type` whose lines overlap first..last, in pre-order (memoised: the fixers ask the same
        few questions about each finding's lines; the list is shared, callers must not change it)."""
        key = (node_type, first, last)
        found = self._on_lines.get(key)
        if found is None:
            kinds = node_type if isinstance(node_type, tuple) else (node_type,)
            if (first, last) not in self._between and all(
                    isinstance(kind, type) and issubclass(kind, ast.stmt) for kind in kinds):
                walked = self._statements_between(first, last)  # statements only: no expression is walked
            else:
                walked = self._nodes_between(first, last)
            found = self._on_lines[key] = [
                n for n in walked if isinstance(n, node_type) and hasattr(n, "lineno")
                and n.lineno <= last and n.end_lineno >= first]  # type: ignore[attr-defined]
        return found

    def ancestors(self, node: ast.AST):
        current = self.parent_of(node)
        while current is not None:
            yield current
            current = self.parent_of(current)

    def _nodes_between(self, first: int, last: int) -> list[ast.AST]:
        """Every node of the statements whose lines overlap first..last (see the class docstring), in pre-order."""
        found = self._between.get((first, last))
        if found is None:
            found = self._between[(first, last)] = []
            self._walk_block(self.tree, first, last, found)
        return found

    def _walk_block(self, container: ast.AST, first: int, last: int, found: list[ast.AST]) -> None:
        """Pre-order from a module, compound statement, except handler or match case: the parts of its fields that
        overlap first..last, a block's items that hold blocks of their own recursively, the rest whole (nodes
        beyond the lines are no harm: `nodes_on_lines` filters)."""
        for is_block, entries in self._parts_of(container):
            for start, end, item in entries:
                if start > last:
                    break  # a field's items come in line order
                if end >= first:
                    if is_block and item.__class__ in BLOCK_FIELDS:
                        found.append(item)
                        self._walk_block(item, first, last, found)
                    else:  # a simple statement, an expression: whole
                        found += self._subtree(item)

    def _parts_of(self, container: ast.AST) -> list[tuple[bool, list[tuple[int, int, ast.AST]]]]:
        """A container's fields in `children` order: (whether it is a block, (first line, last line, item) of each
        of its items: `_extent` for a block's, the lines of an expression, those from the statement's first line
        to its body's for a function's parameters or a `with`'s items (which have no lines of their own; they come
        before the body), every line for another node without lines); the items' parents recorded."""
        parts = self._parts.get(id(container))
        if parts is None:
            parts = self._parts[id(container)] = []
            parent = self._parent
            cls = container.__class__
            blocks = BLOCK_FIELDS.get(cls, ())
            for name in CHILD_FIELDS.get(cls, ()):
                value = getattr(container, name, None)
                if value is None:
                    continue
                items = [x for x in value if x is not None] if value.__class__ is list else [value]
                if not items:
                    continue
                for item in items:
                    parent[id(item)] = container
                if name in blocks:
                    parts.append((True, [(*_extent(item), item) for item in items]))
                    continue
                entries = []
                for item in items:
                    line = getattr(item, "lineno", None)
                    if line is not None:
                        entries.append((line, getattr(item, "end_lineno", None) or line, item))
                    elif cls in _HEADED:  # a function's `arguments`, a `with`'s items
                        entries.append((container.lineno, container.body[0].lineno, item))  # type: ignore
                    else:
                        entries.append((0, _EVERY_LINE, item))
                parts.append((False, entries))
        return parts

    def _subtree(self, top: ast.AST) -> list[ast.AST]:
        """`top` and every node below it, in pre-order (parents recorded; walked once)."""
        walked = self._subtrees.get(id(top))
        if walked is None:
            walked = self._subtrees[id(top)] = []
            parent = self._parent
            stack = [top]
            pop, visit = stack.pop, walked.append
            while stack:
                node = pop()
                visit(node)
                below = children(node)
                for child in below:
                    parent[id(child)] = node
                below.reverse()
                stack += below
        return walked

    def _statements_between(self, first: int, last: int) -> list[ast.AST]:
        """The statements, except handlers and match cases that overlap first..last (decorators included), in
        pre-order, without walking any expression (statements hold statements in their blocks only)."""
        found = self._statements.get((first, last))
        if found is None:
            found = self._statements[(first, last)] = []
            self._statements_in(self.tree, first, last, found)
        return found

    def _statements_in(self, container: ast.AST, first: int, last: int, found: list[ast.AST]) -> None:
        for start, end, item in self._block_items(container):
            if start > last:
                break
            if end >= first:
                found.append(item)
                self._statements_in(item, first, last, found)

    def _block_items(self, container: ast.AST) -> list[tuple[int, int, ast.AST]]:
        """(first line, last line, item) of the items of a container's blocks, in pre-order (`BLOCK_FIELDS` come in
        `children` order: a `try`'s handlers before its `else` and `finally`; parents recorded)."""
        items = self._blocks.get(id(container))
        if items is None:
            items = self._blocks[id(container)] = []
            parent = self._parent
            for name in BLOCK_FIELDS.get(container.__class__, ()):
                for item in getattr(container, name):
                    parent[id(item)] = container
                    items.append((*_extent(item), item))
        return items

    def args(self, call: ast.Call) -> list[Arg]:
        """The call's arguments in source order (ast keeps positional and keyword arguments apart)."""
        found = self._args.get(id(call))
        if found is None:
            found = [Arg(None, "*", a.value, a) if isinstance(a, ast.Starred) else Arg(None, "", a, a)
                     for a in call.args]
            found += [Arg(k.arg, "" if k.arg else "**", k.value, k) for k in call.keywords]
            found.sort(key=lambda a: (a.value.lineno, a.value.col_offset))
            self._args[id(call)] = found
        return found

    def positional(self, call: ast.Call) -> list[Arg]:
        return [a for a in self.args(call) if a.keyword is None and not a.star]

    def keyword(self, call: ast.Call, name: str) -> Arg | None:
        return next((a for a in self.args(call) if a.keyword == name), None)

    def has_star(self, call: ast.Call) -> bool:
        return any(a.star for a in self.args(call))

    def call_names(self, call: ast.Call) -> set[str]:
        return self.qualified_names(call.func)

    def qualified_names(self, node: ast.AST) -> set[str]:
        """libcst's qualified names of `node` (memoised: every fixer asks about the same calls)."""
        found = self._names.get(id(node))
        if found is None:
            found = self._names[id(node)] = frozenset(self.scopes.qualified_names(node))
        return found  # type: ignore[return-value]

    def call_targets(self, is_target, first: int, last: int) -> list[ast.Call]:
        """`CallFixer.targets`: the target calls on the lines, minus those inside another target call there."""
        calls = [c for c in self.nodes_on_lines(ast.Call, first, last) if is_target(c)]
        ids = {id(c) for c in calls}
        return [c for c in calls if not any(id(a) in ids for a in self.ancestors(c))]

    def imports_module(self, module: str) -> bool:
        for node in self.nodes_on_lines((ast.Import, ast.ImportFrom), 1, _EVERY_LINE):
            if isinstance(node, ast.Import) and any(a.name == module for a in node.names):
                return True
            if isinstance(node, ast.ImportFrom) and node.module == module:
                return True
        return False

    # --- string literals --------------------------------------------------------------------------------------

    def string_tokens(self, node: ast.AST) -> int:
        """How many string literal tokens make up `node` (a str/bytes constant or an f-string)."""
        found = self._strings.get(id(node))
        if found is None and (_FSTRINGS_ARE_ONE_TOKEN or not isinstance(node, ast.JoinedStr)) and \
                _ONE_LITERAL.fullmatch(self.segment(node)):
            found = self._strings[id(node)] = 1  # one literal, read without the tokenizer
        if found is None:
            try:
                tokens = tokenize.generate_tokens(io.StringIO("(" + self.segment(node) + ")").readline)
                found = sum(1 for t in tokens if t.type in _STRING_STARTS)
            except (tokenize.TokenError, SyntaxError) as exc:
                raise Unsure("a string literal the tokenizer cannot read") from exc
            self._strings[id(node)] = found
        return found

    def is_simple_string(self, node: ast.AST | None) -> bool:
        """libcst `SimpleString`: one str/bytes literal (no f-string, no implicit concatenation)."""
        return isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and \
            self.string_tokens(node) == 1

    def is_formatted_string(self, node: ast.AST | None) -> bool:
        """libcst `FormattedString`: one f-string literal."""
        return isinstance(node, ast.JoinedStr) and self.string_tokens(node) == 1

    def is_concatenated_string(self, node: ast.AST | None) -> bool:
        """libcst `ConcatenatedString`: implicitly concatenated literals."""
        return isinstance(node, (ast.Constant, ast.JoinedStr)) and (
            isinstance(node, ast.JoinedStr) or isinstance(node.value, (str, bytes))) and self.string_tokens(node) > 1

    def has_string(self, node: ast.AST) -> bool:
        """A string literal anywhere in `node` (libcst SimpleString or FormattedString)."""
        return any(isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant) and isinstance(n.value, (str, bytes)))
                   for n in ast.walk(node))

    def is_name(self, node: ast.AST | None, value: str) -> bool:
        """libcst `is_name(node, value)` (True, False and None are names to libcst)."""
        if value in {"True", "False", "None"}:
            return isinstance(node, ast.Constant) and node.value is {"True": True, "False": False,
                                                                        "None": None}[value] \
                and self.segment(node) == value
        return isinstance(node, ast.Name) and node.id == value
