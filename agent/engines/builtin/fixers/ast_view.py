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
import tokenize
from dataclasses import dataclass
from functools import cached_property

from agent.code.nodes import children
from agent.engines.builtin.fixers.ast_scopes import Scopes, Unsure

__all__ = ["Arg", "AstView", "Unsure"]

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
    def __init__(self, source: str, tree: ast.Module) -> None:
        self.source = source
        self.tree = tree
        self.lines = source.splitlines(keepends=True)
        self._encoded: dict[int, bytes] = {}
        self.parent: dict[int, ast.AST] = {}
        self.preorder: list[ast.AST] = []
        stack: list[ast.AST] = [tree]
        parent, preorder = self.parent, self.preorder
        pop, visit = stack.pop, preorder.append
        while stack:
            node = pop()
            visit(node)
            found = children(node)
            for child in found:
                parent[id(child)] = node
            found.reverse()
            stack.extend(found)
        self._by_type: dict[type, list[tuple[ast.AST, int, int]]] = {}
        self._classes: dict[type, list[int]] | None = None  # preorder indexes of the nodes of each class
        self._strings: dict[int, int] = {}
        self._args: dict[int, list[Arg]] = {}
        self._names: dict[int, frozenset[str]] = {}
        # `quick_win.quick_win_fixer`'s answers: (fixer names, first, last) -> (fixer or None, stats key)
        self.quick_wins: dict[tuple[tuple[str, ...], int, int], tuple[str | None, str]] = {}

    @cached_property
    def scopes(self) -> Scopes:
        return Scopes(self.tree, self.parent)

    # --- positions and text -----------------------------------------------------------------------------------

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
        parent = self.parent.get(id(node))
        if isinstance(parent, ast.Call) and parent.func is not node:
            return self._next(parent.func.end_lineno, parent.func.end_col_offset)[:2] != (line, col)  # type: ignore
        if isinstance(parent, ast.Tuple) and parent.elts and parent.elts[0] is node:
            return (parent.lineno, parent.col_offset) != (line, col)
        return True

    # --- nodes ------------------------------------------------------------------------------------------------

    def nodes_on_lines(self, node_type: type | tuple[type, ...], first: int, last: int) -> list:
        listed = self._by_type.get(node_type)  # type: ignore[arg-type]
        if listed is None:
            listed = self._by_type[node_type] = [  # type: ignore[index]
                (n, n.lineno, n.end_lineno) for n in self._of_type(node_type)  # type: ignore[attr-defined]
                if hasattr(n, "lineno")]
        return [n for n, start, end in listed if start <= last and end >= first]

    def _of_type(self, node_type: type | tuple[type, ...]) -> list[ast.AST]:
        """The nodes that are instances of `node_type`, in pre-order: gathered from the nodes by class (one pass
        over the tree for all the types the fixers ask about). Classes with their own instance check (the
        deprecated `ast.Num`...) are asked node by node."""
        kinds = node_type if isinstance(node_type, tuple) else (node_type,)
        if any(type(kind) is not type for kind in kinds):
            return [n for n in self.preorder if isinstance(n, node_type)]
        if self._classes is None:
            self._classes = {}
            for index, node in enumerate(self.preorder):
                self._classes.setdefault(node.__class__, []).append(index)
        matched = [found for cls, found in self._classes.items() if issubclass(cls, node_type)]
        indexes = matched[0] if len(matched) == 1 else sorted(i for found in matched for i in found)
        preorder = self.preorder
        return [preorder[i] for i in indexes]

    def ancestors(self, node: ast.AST):
        current = self.parent.get(id(node))
        while current is not None:
            yield current
            current = self.parent.get(id(current))

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
        for node in self.nodes_on_lines((ast.Import, ast.ImportFrom), 1, 10**9):
            if isinstance(node, ast.Import) and any(a.name == module for a in node.names):
                return True
            if isinstance(node, ast.ImportFrom) and node.module == module:
                return True
        return False

    # --- string literals --------------------------------------------------------------------------------------

    def string_tokens(self, node: ast.AST) -> int:
        """How many string literal tokens make up `node` (a str/bytes constant or an f-string)."""
        found = self._strings.get(id(node))
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
