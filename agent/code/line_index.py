"""The statements and calls at given lines of one parsed module, without walking the rest of it (stdlib `ast`).

Handles any module `ast.parse` accepts. A question about lines `first`..`last` walks, in pre-order, only the
statements whose lines (a definition's decorators included) overlap them, with every expression, argument,
handler and pattern of those; the answers come in the order a walk of the whole tree meets them. Every node
walked so far keeps its parent (`parent_of`), so its ancestors up to the module are known; asking for the parent
of a node not walked yet walks the lines it is on first. A long block is bisected to the statements on the lines
(in a block, statements' last lines never decrease), and an expression with no child (a name, a constant) gets
its parent recorded without being visited (the answers are statements and calls). A large module with a few findings is thus read where
the findings are, not everywhere (statements hold no statement outside their own lines, decorators aside).
"""

from __future__ import annotations

import ast
from bisect import bisect_left
from collections.abc import Callable

from agent.code.nodes import BLOCK_FIELDS, CHILD_SPEC

_DECORATED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _extent(node: ast.AST) -> tuple[int, int]:
    """First and last line of a statement, except handler or match case, decorators included."""
    if isinstance(node, ast.match_case):
        return node.pattern.lineno, node.body[-1].end_lineno or node.body[-1].lineno
    start = node.lineno  # type: ignore[attr-defined]
    if isinstance(node, _DECORATED) and node.decorator_list:
        start = min(start, *(d.lineno for d in node.decorator_list))
    return start, node.end_lineno or node.lineno  # type: ignore[attr-defined]


class LineIndex:
    """Line questions on one module's tree (see the module docstring). `prefixed(stmt)` says whether code precedes
    a statement on its first line (it follows a `:` or `;`); `suite` collects the ids of the statements walked
    that share their block header's line (every statement of a block whose first statement is prefixed)."""

    def __init__(self, tree: ast.Module, prefixed: Callable[[ast.stmt], bool]) -> None:
        self.tree = tree
        self.prefixed = prefixed
        self.parents: dict[int, ast.AST] = {}
        self.suite: set[int] = set()
        self._blocks: set[int] = set()  # ids of the first statements of blocks already checked for a suite
        self._walked: dict[tuple[int, int], list[ast.AST]] = {}  # `_walk`'s answers by lines (sink and dead-code
        # questions about one finding walk the same lines up to three times)

    def statements_on(self, line: int) -> list[ast.stmt]:
        """The statements whose lines include `line` (decorators not counted), in pre-order."""
        found: list[ast.stmt] = []
        for node in self._walk(line, line):
            if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno):
                found.append(node)
        return found

    def calls_between(self, first: int, last: int) -> list[ast.Call]:
        """The calls that start on lines `first`..`last`, in pre-order."""
        return [n for n in self._walk(first, last) if n.__class__ is ast.Call and first <= n.lineno <= last]

    def parent_of(self, node: ast.AST) -> ast.AST | None:
        """The node's parent (None for the module, or a node of another tree)."""
        found = self.parents.get(id(node))
        if found is None and hasattr(node, "lineno"):
            for _ in self._walk(node.lineno, getattr(node, "end_lineno", None) or node.lineno):
                pass
            found = self.parents.get(id(node))
        return found

    def _walk(self, first: int, last: int) -> list[ast.AST]:
        """Pre-order: the module, the statements (handlers, cases) overlapping the lines, everything else they
        hold; parents and suites recorded on the way (once per lines: walking them again records the same)."""
        found = self._walked.get((first, last))
        if found is None:
            found = self._walked[(first, last)] = self._walk_lines(first, last)
        return found

    def _walk_lines(self, first: int, last: int) -> list[ast.AST]:
        parents, blocks_seen, spec, leaves = self.parents, self._blocks, _WALK_SPEC, _LEAVES
        order: list[ast.AST] = []
        stack: list[ast.AST] = [self.tree]
        pop, push, visit = stack.pop, stack.append, order.append
        while stack:
            node = pop()
            visit(node)
            for name, block, holes in spec.get(node.__class__, ()):  # last field first: popped in field order
                value = getattr(node, name, None)
                if value is None:
                    continue
                if value.__class__ is not list:
                    parents[id(value)] = node
                    if value.__class__ not in leaves:
                        push(value)
                    continue
                if block:
                    if value and id(value[0]) not in blocks_seen and isinstance(value[0], ast.stmt):
                        blocks_seen.add(id(value[0]))
                        if self.prefixed(value[0]):
                            self.suite.update(id(s) for s in value)
                    value = _overlapping(value, first, last)
                for child in reversed(value):
                    if holes and child is None:
                        continue
                    parents[id(child)] = node
                    if child.__class__ not in leaves:
                        push(child)
        return order


def _overlapping(block: list[ast.AST], first: int, last: int) -> list[ast.AST]:
    """The statements (handlers, cases) of a block whose lines, decorators included, overlap `first`..`last`: in
    source order, their last lines never decrease, so those that end before `first` are a prefix (skipped by
    bisection in a long block) and the first that starts after `last` ends the search."""
    start_at = 0
    if len(block) > _BISECT_FROM and hasattr(block[0], "end_lineno"):
        start_at = bisect_left(block, first, key=_end_line)
    found: list[ast.AST] = []
    for index in range(start_at, len(block)):
        child = block[index]
        end = getattr(child, "end_lineno", None)
        if end is not None and end < first:
            continue
        start, end = _extent(child)
        if start > last:
            break
        if end >= first:
            found.append(child)
    return found


def _end_line(node: ast.AST) -> int:
    return node.end_lineno  # type: ignore[attr-defined]


# expressions without children (names, constants...): their parent is recorded, they are not visited (the walk's
# answers are statements and calls)
_LEAVES = frozenset(cls for cls, fields in CHILD_SPEC.items() if not fields and not issubclass(cls, ast.stmt)
                    and cls is not ast.Call)
_BISECT_FROM = 8  # blocks longer than this are bisected rather than scanned from their start
# per node class, its child fields last first: (name, whether it is a statement block (`nodes.BLOCK_FIELDS`),
# whether a list there may hold None)
_WALK_SPEC: dict[type[ast.AST], tuple[tuple[str, bool, bool], ...]] = {
    cls: tuple((name, name in BLOCK_FIELDS.get(cls, ()), holes) for name, holes in reversed(fields))
    for cls, fields in CHILD_SPEC.items()}
