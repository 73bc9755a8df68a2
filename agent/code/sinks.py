"""Static facts at a line range of one parsed Python module (stdlib `ast`): dead branches and the sink's input.

Handles any module `ast.parse` accepts; every answer is derived from the tree and the source text only.

* `dead_code(line)` — the detail of the first enclosing `if` / `while` (nearest first) whose condition constant
  folding decides so that the line never runs: `if False:` / `if 0:` / `if TYPE_CHECKING:` / `while False:`
  bodies and the `else:` of `if True:`. Statements that share their header's line (`if x: y`) are judged by
  the compound statement they sit in.
* `sink(first, last)` — what flows into the sink on the lines. The calls judged are the known sinks that start
  on the lines (`agent.code.safety.sink_kind`: commands, SQL, code; nested ones too), else the outermost calls
  that start there (else the first call with arguments inside them); a call whose first argument is `*a` /
  `**k` is skipped. A call's input is its first argument; for a
  command, every argument that reaches the process (`safety.command_inputs`). With no such call: the value of
  the statement at `first`. Answered: whether every input is a constant, formats without fields, interpolates
  non-constant values, why a non-constant input is still safe (`safety.Safety.safe_reason`), the shell or
  interpreter a non-constant argument vector runs (`safety.shell_program`), the callee and constant-valued
  keywords. Several calls are constant only when all are. `agent.engines.builtin.evidence` defines what those
  words mean; this module computes them.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from agent.code.calls import SIMPLE_STATEMENTS, statement_span
from agent.code.line_index import LineIndex
from agent.code.nodes import BLOCK_FIELDS, children, statement_facts, subtree
from agent.code.safety import MUTATORS, Safety, command_inputs, shell_program, sink_kind
from agent.code.scopes import ScopeMap

_TYPE_CHECKING = {"TYPE_CHECKING", "typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING"}
_COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While,
             ast.With, ast.AsyncWith, ast.Try, ast.TryStar, ast.Match)
_STATEMENTS = frozenset(c for c in vars(ast).values() if isinstance(c, type) and issubclass(c, ast.stmt))
_INDEXES = frozenset({"parent", "statements", "suite", "calls", "mutated"})
_TEXT_INDEXES = frozenset({"lines", "_offsets", "_ascii"})


@dataclass(frozen=True, slots=True)
class SinkFacts:
    """The input flowing into the sink on a finding's lines. `where`: "`func`" or "the statement"."""

    where: str
    code: str
    constant: bool
    no_fields: bool
    interpolated: bool
    callee: str = ""  # the call's function as written ("" for a statement)
    shell: str = ""  # the shell / interpreter a non-constant argument vector runs ("" if none)
    safe: str = ""  # why the non-constant input cannot carry an injection ("" if not proven)
    keywords: tuple[str, ...] = ()  # `name=value` of keywords with constant values or known dotted names

    def __post_init__(self) -> None:
        object.__setattr__(self, "keywords", tuple(self.keywords))


class ModuleFacts:
    """One parsed module with the indexes the line queries need (built once, queried per finding)."""

    def __init__(self, source: str, tree: ast.Module) -> None:
        self.source = source
        self.tree = tree
        self.at_lines = LineIndex(tree, self._prefix)  # statements, calls and parents where queries look
        self._statements_read: tuple[list[ast.Import | ast.ImportFrom], bool] | None = None
        self._scopes: ScopeMap | None = None
        self._safety: Safety | None = None
        self._code: dict[tuple[int, int], str] = {}  # `code`'s answers by (node, outer call) ids

    # --- indexes ----------------------------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        """Whole-module indexes (`_INDEXES`, for callers that want them; the line queries here use `at_lines`,
        which walks only where they look), built by one walk on first use."""
        if name in _TEXT_INDEXES and "lines" not in self.__dict__:
            self._text_index()
            return self.__dict__[name]
        if name not in _INDEXES or "_indexed" in self.__dict__:
            raise AttributeError(name)
        self._index(self.tree)
        return self.__dict__[name]

    def _text_index(self) -> None:
        """The source's lines, where each starts, and which are ASCII (byte column == character column): built
        when a query first reads the text (a module read only for its calls never does)."""
        lines = self.lines = self.source.splitlines(keepends=True)
        self._offsets = [0, *accumulate(map(len, lines))]
        self._ascii = [True] * len(lines) if self.source.isascii() else [text.isascii() for text in lines]

    def _index(self, tree: ast.Module) -> None:
        """One pre-order walk (`agent.code.nodes`) for every index: parents, statements, calls, one-line suites,
        names changed in place."""
        self._indexed = True
        self.parent: dict[int, ast.AST] = {}
        self.statements: list[ast.stmt] = []  # every statement, in source (pre-)order
        self.suite: set[int] = set()  # ids of statements that share their block header's line
        self.calls: list[ast.Call] = []
        self.mutated: set[str] = set()  # see `agent.code.safety.Safety.mutated_names`
        parent, statements, calls, mutated = self.parent, self.statements, self.calls, self.mutated
        blocks = BLOCK_FIELDS
        call_t, name_t, attribute_t, subscript_t = ast.Call, ast.Name, ast.Attribute, ast.Subscript
        stack: list[ast.AST] = [tree]
        pop = stack.pop
        while stack:
            node = pop()
            cls = node.__class__
            if cls is call_t:
                calls.append(node)  # type: ignore[arg-type]
                func = node.func  # type: ignore[attr-defined]
                if func.__class__ is attribute_t and func.attr in MUTATORS and func.value.__class__ is name_t:
                    mutated.add(func.value.id)
            elif cls in _STATEMENTS:
                statements.append(node)  # type: ignore[arg-type]
            elif cls is subscript_t and node.ctx.__class__ is not ast.Load and (  # type: ignore[attr-defined]
                    node.value.__class__ is name_t):  # type: ignore[attr-defined]
                mutated.add(node.value.id)  # type: ignore[attr-defined]
            for name in blocks.get(cls, ()):  # (handlers and match cases are not statements: never a suite)
                block = getattr(node, name)
                if block and isinstance(block[0], ast.stmt) and self._prefix(block[0]):
                    self.suite.update(id(s) for s in block)
            kids = children(node)
            for child in kids:
                parent[id(child)] = node
            kids.reverse()
            stack.extend(kids)

    def imports(self) -> list[ast.Import | ast.ImportFrom]:
        """The import statements in `ast.walk` order (`agent.code.nodes.statement_facts`)."""
        return self._statement_facts()[0]

    def _statement_facts(self) -> tuple[list[ast.Import | ast.ImportFrom], bool]:
        if self._statements_read is None:
            self._statements_read = statement_facts(self.tree)
        return self._statements_read

    def _prefix(self, node: ast.stmt) -> bool:
        """True when code precedes the statement on its first line (it follows a `:` or `;`)."""
        if node.lineno > len(self.lines):
            return False
        line = self.lines[node.lineno - 1]
        if self._ascii[node.lineno - 1]:
            return bool(line[: node.col_offset].strip())
        return bool(line.encode("utf-8")[: node.col_offset].decode("utf-8", "replace").strip())

    @property
    def scopes(self) -> ScopeMap:
        if self._scopes is None:
            self._scopes = ScopeMap(self.tree, self._statement_facts()[1])
        return self._scopes

    @property
    def safety(self) -> Safety:
        if self._safety is None:
            scopes = self.scopes
            self._safety = Safety(self.tree, self.at_lines.parent_of, scopes.qualified_names,
                                  scopes.constant_binding, scopes.binding_count)
        return self._safety

    def _pos(self, line: int, col_bytes: int) -> int:
        if line > len(self.lines):
            return self._offsets[line - 1]
        if self._ascii[line - 1]:
            return self._offsets[line - 1] + min(col_bytes, len(self.lines[line - 1]))
        text = self.lines[line - 1]
        return self._offsets[line - 1] + len(text.encode("utf-8")[:col_bytes].decode("utf-8", "replace"))

    def code(self, node: ast.expr, outer_call: ast.Call | None = None) -> str:
        """The source of an expression with the parentheses that wrap it (but not a call's own); memoized (the
        line queries ask for a callee's text several times)."""
        key = (id(node), id(outer_call))
        found = self._code.get(key)
        if found is None:
            found = self._code[key] = self._code_of(node, outer_call)
        return found

    def _code_of(self, node: ast.expr, outer_call: ast.Call | None) -> str:
        start = self._pos(node.lineno, node.col_offset)
        end = self._pos(node.end_lineno or node.lineno, node.end_col_offset or 0)
        stop = -1
        if outer_call is not None:
            after = self._pos(outer_call.func.end_lineno or 1, outer_call.func.end_col_offset or 0)
            stop = self.source.find("(", after)
        text = self.source
        while True:
            before, after_end = start - 1, end
            while before >= 0 and text[before] in " \t\r\n\\":
                before -= 1
            while after_end < len(text) and text[after_end] in " \t\r\n\\":
                after_end += 1
            if before < 0 or before == stop or text[before] != "(" or after_end >= len(text) or (
                    text[after_end] != ")"):
                return self._dedent(node, text[start:end])
            start, end = before, after_end + 1

    def _dedent(self, node: ast.AST, text: str) -> str:
        """Continuation lines without the indentation of the enclosing blocks (outside multi-line strings), as
        code read relative to its block shows them."""
        if "\n" not in text:
            return text
        statement = next((a for a in self._ancestors(node) if isinstance(a, ast.stmt)), None)
        line = self.lines[statement.lineno - 1] if statement is not None else ""
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if not indent:
            return text
        inside: set[int] = set()  # rows (1-based, in `text`) that start inside a string token
        try:
            for tok in tokenize.generate_tokens(io.StringIO("(" + text + ")").readline):
                if tok.type == tokenize.STRING:
                    inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
        except (tokenize.TokenError, SyntaxError):
            return text
        rows = text.split("\n")
        return "\n".join(row[len(indent):] if number > 1 and number not in inside and row.startswith(indent)
                         else row for number, row in enumerate(rows, 1))

    def _ancestors(self, node: ast.AST):
        current = self.at_lines.parent_of(node)
        parents = self.at_lines.parents  # walking to `node` recorded every ancestor of it
        while current is not None:
            yield current
            current = parents.get(id(current))

    def _on_line(self, line: int) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """(simple statements not in a one-line suite, compound statements) overlapping the line, source order."""
        simple: list[ast.stmt] = []
        compound: list[ast.stmt] = []
        suite = self.at_lines.suite
        for node in self.at_lines.statements_on(line):
            if isinstance(node, _COMPOUND):
                compound.append(node)
            elif id(node) not in suite:
                simple.append(node)
        return simple, compound

    # --- facts ------------------------------------------------------------------------------------------------

    def statement_at(self, line: int) -> tuple[int, int, int, int] | None:
        """`agent.code.calls.statement_at(self.tree, line)`, off the statements the line index walks (shared with
        the other questions about the line). The simple statements covering a line are siblings (only `;` puts
        two on one line; a compound statement never shares its last line with the next), so the innermost,
        last one is the last simple statement in pre-order; its block is the one of its parent that holds it."""
        found = None
        for node in self.at_lines.statements_on(line):
            if isinstance(node, SIMPLE_STATEMENTS):
                found = node
        if found is None:
            return None
        parent = self.at_lines.parent_of(found)
        for name in BLOCK_FIELDS.get(parent.__class__, ()) if parent is not None else ():
            block = getattr(parent, name)
            if found in block:  # (nodes compare by identity)
                return statement_span(found, block, block.index(found))
        return None  # (never: a statement sits in a block of its parent)

    def fold(self, node: ast.expr) -> bool | None:
        """The truth value of a condition when constant folding decides it, else None."""
        if isinstance(node, ast.Constant):
            value = node.value
            if value is None or isinstance(value, bool | int | float):
                return bool(value)
            if isinstance(value, str | bytes) and not self._concatenated(node):
                return bool(value)
            return None
        if isinstance(node, ast.Name | ast.Attribute) and self.scopes.qualified_names(node) & _TYPE_CHECKING:
            return False  # true only for type checkers, never at run time
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.fold(node.operand)
            return None if inner is None else not inner
        if isinstance(node, ast.BoolOp):
            values = [self.fold(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return False if False in values else (True if all(v is True for v in values) else None)
            return True if True in values else (False if all(v is False for v in values) else None)
        return None

    def dead_code(self, line: int) -> str | None:
        simple, compound = self._on_line(line)
        for node in simple[:1] + compound:
            for ancestor in self._ancestors(node):
                if not isinstance(ancestor, ast.If | ast.While):
                    continue
                truth = self.fold(ancestor.test)
                body = ancestor.body
                in_body = body[0].lineno <= line <= (body[-1].end_lineno or body[-1].lineno)
                if truth is False and in_body:
                    return (f"line {line} only runs when `{self.code(ancestor.test).strip()}` is true, which it "
                            "never is at run time")
                if truth is True and isinstance(ancestor, ast.If) and not in_body and ancestor.orelse:
                    return (f"line {line} is in the else branch of `if {self.code(ancestor.test).strip()}:`, "
                            "which never runs")
        return None

    def sink(self, first: int, last: int) -> SinkFacts | None:
        calls = self.at_lines.calls_between(first, last)
        if len(calls) > 1:
            ids = {id(c) for c in calls}
            outer = sorted((c for c in calls if not self._inside(c, ids)), key=lambda c: (c.lineno, c.col_offset))
        else:
            outer = calls
        known = [c for c in calls if self._first_input(c) is not None and sink_kind(self.code(c.func).strip())]
        usable = [c for c in outer if self._first_input(c) is not None]
        if not known and not usable:  # `hashlib.md5(x, ...).hexdigest()`: the call with inputs is inside
            usable = sorted((c for c in calls if self._first_input(c) is not None),
                            key=lambda c: (c.lineno, c.col_offset))[:1]
        chosen = [self._call_facts(c) for c in known or usable]
        if len(chosen) == 1:
            return chosen[0]  # (what combining one call's facts gives)
        if chosen:
            lead = next((f for f in chosen if not f.constant), chosen[0])
            constant = all(f.constant for f in chosen)
            safe = "" if constant or any(not f.constant and not f.safe for f in chosen) else "; ".join(
                dict.fromkeys(f.safe for f in chosen if f.safe))
            return SinkFacts(lead.where, lead.code, constant, all(f.no_fields for f in chosen),
                             any(f.interpolated for f in chosen), lead.callee,
                             next((f.shell for f in chosen if f.shell), ""), safe, lead.keywords)
        simple, _ = self._on_line(first)
        for statement in simple:
            value = getattr(statement, "value", None)
            if isinstance(statement, ast.Expr | ast.Assign | ast.AnnAssign | ast.AugAssign | ast.Return) and (
                    isinstance(value, ast.expr)):
                where, code, constant, no_fields, interpolated, safe = self._facts("the statement", value, None,
                                                                                  [value])
                return SinkFacts(where, code, constant, no_fields, interpolated, safe=safe)
        return None

    def _inside(self, call: ast.Call, ids: set[int]) -> bool:
        """Whether an ancestor of the call is one of the calls `ids` (a call is only ever inside the expressions
        of its statement, so the search stops at the first statement above it)."""
        parents = self.at_lines.parents
        node = self.at_lines.parent_of(call)
        while node is not None and not isinstance(node, ast.stmt):
            if id(node) in ids:
                return True
            node = parents.get(id(node))
        return False

    @staticmethod
    def _first_input(call: ast.Call) -> ast.expr | None:
        """The call's first argument in source order (positional or keyword: `f(x=1, *a)` puts a keyword
        first), None when there is none or it is `*a` / `**k`."""
        args, keywords = call.args, call.keywords
        if not keywords:
            if not args:
                return None
            head: ast.expr | ast.keyword = args[0]
        elif not args:
            head = keywords[0]
        else:
            positional, keyword = args[0], keywords[0]
            head = positional if (positional.lineno, positional.col_offset) < (keyword.lineno, keyword.col_offset) \
                else keyword
        if isinstance(head, ast.keyword):
            return None if head.arg is None else head.value
        return None if isinstance(head, ast.Starred) else head

    def _call_facts(self, call: ast.Call) -> SinkFacts:
        callee = self.code(call.func).strip()
        value = self._first_input(call)
        assert value is not None
        kind = sink_kind(callee)
        inputs = command_inputs(call) if kind == "command" else [value]
        where, code, constant_input, no_fields, interpolated, safe = self._facts(f"`{callee}`", value, call, inputs)
        shell = ""
        if kind == "command":
            vector = value.elts if isinstance(value, ast.List | ast.Tuple) else None
            if isinstance(value, ast.Name):
                bound = self.scopes.constant_binding(value)
                vector = bound.elts if isinstance(bound, ast.List | ast.Tuple) else None
            constant = self.is_constant
            shell = shell_program(vector, constant) if vector is not None else ""
            shell = shell or shell_program([a for a in call.args if not isinstance(a, ast.Starred)], constant)
        keywords = []
        for kw in call.keywords:
            if kw.arg is None:
                continue
            if self.is_constant(kw.value):
                keywords.append(f"{kw.arg}={self.code(kw.value).strip()}")
            keywords.extend(f"{kw.arg}={q}" for q in sorted(self.scopes.qualified_names(kw.value)))
        return SinkFacts(where, code, constant_input, no_fields, interpolated, callee, shell, safe, tuple(keywords))

    def _facts(self, where: str, value: ast.expr, call: ast.Call | None, inputs: list[ast.expr]
               ) -> tuple[str, str, bool, bool, bool, str]:
        """`SinkFacts`' first fields and `safe` for an input `value` (in `call`) and the `inputs` judged."""
        constant = all(self.is_constant(v) for v in inputs)
        concatenated = isinstance(value, ast.JoinedStr) and self._concatenated(value)
        interpolated = not constant and not concatenated and isinstance(value, ast.JoinedStr | ast.BinOp | ast.Call) \
            and any(isinstance(n, ast.Constant) and isinstance(n.value, str | bytes) for n in subtree(value))
        safe = ""
        if not constant:
            reasons = [self.safety.safe_reason(v, self.is_constant) for v in inputs]
            if all(r is not None for r in reasons):
                safe = "; ".join(dict.fromkeys(r for r in reasons if r is not None and r != "constant")) or "constant"
        return where, self.code(value, call).strip(), constant, not concatenated and _has_no_fields(value), \
            interpolated, safe

    def is_constant(self, node: ast.expr, seen: frozenset[str] = frozenset()) -> bool:
        if isinstance(node, ast.Constant):
            return not isinstance(node.value, complex) and node.value is not Ellipsis
        if isinstance(node, ast.Name):
            if node.id in seen:
                return False
            bound = self.scopes.constant_binding(node)
            if isinstance(bound, ast.List | ast.Dict | ast.Set) and node.id in self.safety.mutated_names():
                return False  # a list bound once to constants but changed in place (`cmd.append(x)`)
            return bound is not None and self.is_constant(bound, seen | {node.id})
        if isinstance(node, ast.JoinedStr):
            # A JoinedStr's parts are Constant or FormattedValue (the ast grammar).
            return all(isinstance(p, ast.Constant) or (isinstance(p, ast.FormattedValue)
                                                       and self.is_constant(p.value, seen)) for p in node.values)
        if isinstance(node, ast.BinOp):
            return self.is_constant(node.left, seen) and self.is_constant(node.right, seen)
        if isinstance(node, ast.Tuple | ast.List):
            return all(self.is_constant(e.value if isinstance(e, ast.Starred) else e, seen) for e in node.elts)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            values = [a.value if isinstance(a, ast.Starred) else a for a in node.args]
            return self.is_constant(node.func.value, seen) and all(
                self.is_constant(v, seen) for v in [*values, *(k.value for k in node.keywords)])
        return False

    def _concatenated(self, node: ast.expr) -> bool:
        """True for implicitly concatenated literals (`"a" "b"`, `"a" f"{b}"`): two or more string tokens."""
        start = self._pos(node.lineno, node.col_offset)
        end = self._pos(node.end_lineno or node.lineno, node.end_col_offset or 0)
        try:
            tokens = tokenize.generate_tokens(io.StringIO(self.source[start:end]).readline)
            return sum(t.type == tokenize.STRING for t in tokens) > 1
        except (tokenize.TokenError, SyntaxError):
            return False


def _has_no_fields(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(p, ast.Constant) for p in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        right = node.right
        return (isinstance(right, ast.Tuple) and not right.elts) or (isinstance(right, ast.Dict) and not right.keys)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return not node.args and not node.keywords
    return False
