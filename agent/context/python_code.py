"""Python source context via `ast`: the function (or method, or module-level code) a finding sits in, its
class header and attributes, the imports and module-level names it uses, its callers and related tests.

Handles any Python 3 file `ast` can parse: nested functions, decorators, async defs, methods, class bodies
and module-level statements. A file that does not parse (Python 2, templates, syntax errors) falls back to a
window of lines, with a note saying why.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from agent.code import pyparse
from agent.context.languages import Excerpt, Focus, LineWindowSupport, RelatedTests, Scope, line_window
from agent.context.python_refs import FUNCTION_NODES, Target, find_callers, related_tests
from agent.context.repo_files import RepoFiles, split_lines

_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_CONTAINER_NODES: tuple[type[ast.stmt], ...] = (ast.If, ast.Try, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor,
                                                 ast.While)
_ASSIGN_NODES = (ast.Assign, ast.AnnAssign, ast.AugAssign)
if hasattr(ast, "TryStar"):
    _CONTAINER_NODES = (*_CONTAINER_NODES, ast.TryStar)


@lru_cache(maxsize=64)
def parse_python(source: str) -> ast.Module:
    """Parse (cached by source text). Raises SyntaxError or ValueError for text that is not Python 3."""
    return pyparse.parse_python(source)


def _start(node: ast.AST) -> int:
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])  # type: ignore[attr-defined]


def _header_end(node: ast.AST) -> int:
    body = getattr(node, "body", [])
    first = body[0].lineno if body else node.lineno  # type: ignore[attr-defined]
    return max(node.lineno, first - 1)  # type: ignore[attr-defined]


def _kind(node: ast.AST) -> str:
    if isinstance(node, ast.ClassDef):
        return "class"
    return "async function" if isinstance(node, ast.AsyncFunctionDef) else "function"


def scope_chain(tree: ast.Module, line: int) -> list[tuple[Scope, ast.AST]]:
    """(Scope, node) for each class/function around `line`, outermost first."""
    chain: list[tuple[Scope, ast.AST]] = []
    names: list[str] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            end = getattr(child, "end_lineno", None)
            if end is None or not _start(child) <= line <= end:
                continue
            if isinstance(child, _SCOPE_NODES):
                names.append(child.name)
                scope = Scope(
                    _kind(child), child.name, ".".join(names), _start(child), end, _header_end(child)
                )
                chain.append((scope, child))
            stack.append(child)
            break
    return chain


def _lines(node: ast.AST, cap: int | None = None) -> frozenset[int]:
    start, end = _start(node), node.end_lineno or node.lineno  # type: ignore[attr-defined]
    if cap is not None:
        end = min(end, start + cap - 1)
    return frozenset(range(start, end + 1))


def _header(node: ast.AST) -> frozenset[int]:
    return frozenset(range(_start(node), _header_end(node) + 1))


def _class_context(cls: ast.ClassDef, qualname: str, path: str, focused: ast.AST | None) -> Excerpt:
    """Class decorators and header, class-level assignments, and `self.x = …` in `__init__`."""
    lines = set(_header(cls))
    for stmt in cls.body:
        if isinstance(stmt, _ASSIGN_NODES):
            lines |= _lines(stmt, cap=8)
        elif isinstance(stmt, FUNCTION_NODES) and stmt.name == "__init__" and stmt is not focused:
            attrs = [
                n
                for n in ast.walk(stmt)
                if isinstance(n, _ASSIGN_NODES)
                and any(
                    isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                )
            ]
            if attrs:
                lines |= _header(stmt)
                for a in attrs:
                    lines |= _lines(a, cap=4)
    return Excerpt(f"class `{qualname}` header and attributes", path, frozenset(lines))


class PythonSupport:
    """Python (.py/.pyi) through the standard library `ast` module."""

    name = "python"

    def __init__(self, max_function_lines: int = 150, wide_radius: int = 20, narrow_radius: int = 6) -> None:
        self.max_function_lines = max_function_lines
        self.wide_radius = wide_radius
        self.narrow_radius = narrow_radius

    def handles(self, path: str) -> bool:
        return path.endswith((".py", ".pyi"))

    def enclosing_scopes(self, source: str, line: int) -> list[Scope]:
        try:
            tree = parse_python(source)
        except (SyntaxError, ValueError):
            return []
        return [scope for scope, _ in scope_chain(tree, line)]

    def focus(self, source: str, path: str, start_line: int, end_line: int) -> Focus:
        try:
            tree = parse_python(source)
        except (SyntaxError, ValueError) as exc:
            focus = LineWindowSupport(self.wide_radius).focus(source, path, start_line, end_line)
            focus.notes.append(f"{path} does not parse as Python 3 ({exc.__class__.__name__}); showing lines")
            return focus
        total = max(1, len(split_lines(source)))
        start_line, end_line = min(start_line, total), min(max(end_line, start_line), total)
        chain = scope_chain(tree, start_line)
        scopes = [s for s, _ in chain]
        finding = frozenset(range(start_line, end_line + 1))
        funcs = [i for i, (_, node) in enumerate(chain) if isinstance(node, FUNCTION_NODES)]
        if funcs:
            outer_scope, outer = chain[funcs[0]]
            variants = self._function_variants(chain, funcs, finding, path, total)
            cls_scope, cls = chain[funcs[0] - 1] if funcs[0] > 0 else (None, None)
            class_context = None
            if isinstance(cls, ast.ClassDef) and cls_scope is not None:
                class_context = _class_context(cls, cls_scope.qualname, path, outer)
            return Focus(path, scopes, variants, class_context, function=outer_scope)
        if chain:  # in a class body, outside any method
            cls_scope, cls = chain[-1]
            inside = _lines(cls)
            label = f"class body of `{cls_scope.qualname}` around line {start_line}"
            variants = [
                Excerpt(label, path, (line_window(start_line, end_line, r, total) & inside) | finding)
                for r in (self.wide_radius // 2, self.narrow_radius)
            ]
            context = _class_context(cls, cls_scope.qualname, path, None)  # type: ignore[arg-type]
            return Focus(path, scopes, _unique(variants), context)
        return Focus(path, [], self._module_variants(tree, finding, path, total))

    def _function_variants(
        self,
        chain: list[tuple[Scope, ast.AST]],
        funcs: list[int],
        finding: frozenset[int],
        path: str,
        total: int,
    ) -> list[Excerpt]:
        outer_scope, outer = chain[funcs[0]]
        inner_scope, inner = chain[funcs[-1]]
        whole, head = _lines(outer), _header(outer)
        label = f"enclosing {outer_scope.kind} `{outer_scope.qualname}`"
        around = f"{label} (excerpt around line {min(finding)})"
        variants = []
        if len(whole) <= self.max_function_lines:
            variants.append(Excerpt(label, path, whole))
        if inner is not outer and len(_lines(inner)) <= self.max_function_lines:
            variants.append(Excerpt(f"{label} (nested `{inner_scope.qualname}`)", path, head | _lines(inner)))
        lo, hi = min(finding), max(finding)
        for radius in (self.wide_radius, self.narrow_radius):
            variants.append(
                Excerpt(around, path, head | ((line_window(lo, hi, radius, total) | finding) & whole))
            )
        return _unique(variants)

    def _module_variants(
        self, tree: ast.Module, finding: frozenset[int], path: str, total: int
    ) -> list[Excerpt]:
        lo, hi = min(finding), max(finding)
        statements: set[int] = set()
        for stmt in tree.body:
            if _start(stmt) <= hi and (stmt.end_lineno or stmt.lineno) >= lo:
                statements |= _lines(stmt)
        label = f"module-level code around line {lo}"
        variants = []
        if statements and len(statements) <= self.max_function_lines:
            variants.append(Excerpt(label, path, frozenset(statements) | line_window(lo, hi, 3, total)))
        for radius in (self.wide_radius // 2, self.narrow_radius):
            variants.append(Excerpt(label, path, line_window(lo, hi, radius, total)))
        return _unique(variants)

    def imports_used(self, source: str, path: str, focus: Focus) -> Excerpt | None:
        try:
            tree = parse_python(source)
        except (SyntaxError, ValueError):
            return None
        nodes, local = self._focused_nodes(tree, focus)
        used = _loaded_names(nodes) - local
        shown = {n for node in nodes for n in ast.walk(node)}
        bindings = [b for b in _module_bindings(tree) if b.stmt not in shown]
        picked = [b for b in bindings if b.name in used]
        # one step further: what the picked assignments use (`log = logging.getLogger()` needs `import logging`)
        extra = _loaded_names([b.stmt for b in picked if isinstance(b.stmt, _ASSIGN_NODES)]) - used
        picked += [
            b for b in bindings if b.name in extra and isinstance(b.stmt, (ast.Import, ast.ImportFrom))
        ]
        exact = {b.name for b in picked if b.exact}
        picked = [b for b in picked if b.exact or b.name not in exact]  # `import a` makes `import a.b` noise
        lines: set[int] = set()
        names: list[str] = []
        for binding in picked:
            lines |= binding.lines
            if binding.name not in names:
                names.append(binding.name)
        if not lines:
            return None
        listed = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
        return Excerpt(f"imports and module-level names used ({listed})", path, frozenset(lines))

    def _focused_nodes(self, tree: ast.Module, focus: Focus) -> tuple[list[ast.AST], set[str]]:
        """The AST nodes the focused code consists of, and the names local to it."""
        if focus.function is not None:
            chain = scope_chain(tree, focus.function.start_line)
            node = next(n for s, n in chain if s == focus.function)
            local = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}  # type: ignore[attr-defined]
            local |= {
                n.id
                for n in ast.walk(node)
                if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))
            }
            nodes: list[ast.AST] = [node]
            enclosing = [
                n for s, n in chain if isinstance(n, ast.ClassDef) and s.end_line >= focus.function.end_line
            ]
            for cls in enclosing:  # class decorators, bases and keywords refer to module names too
                nodes.extend([*cls.decorator_list, *cls.bases, *cls.keywords])
            return nodes, local
        focused = focus.variants[0].lines if focus.variants else frozenset()
        nodes = [
            stmt
            for stmt in tree.body
            if focused & frozenset(range(_start(stmt), (stmt.end_lineno or stmt.lineno) + 1))
        ]
        return nodes, set()

    def find_callers(self, repo: RepoFiles, path: str, focus: Focus, limit: int) -> list[Excerpt]:
        if focus.function is None:
            return []
        index = focus.scopes.index(focus.function)
        owner = focus.scopes[index - 1] if index > 0 and focus.scopes[index - 1].kind == "class" else None
        return find_callers(repo, Target(path, focus.function, owner.name if owner else None), limit)

    def related_tests(self, repo: RepoFiles, path: str, focus: Focus, limit: int) -> RelatedTests:
        return related_tests(repo, path, focus.function, limit)


class Binding(NamedTuple):
    name: str
    stmt: ast.stmt
    lines: frozenset[int]  # what to show for it
    exact: bool = True  # False for `import a.b`, which binds `a` only as a side effect


def _import_lines(stmt: ast.Import | ast.ImportFrom, alias: ast.alias) -> frozenset[int]:
    """A short import whole; from a long parenthesised one, its first and last line and the alias's line."""
    whole = _lines(stmt)
    if len(whole) <= 3:
        return whole
    return frozenset({stmt.lineno, max(whole), *range(alias.lineno, (alias.end_lineno or alias.lineno) + 1)})


def _module_bindings(tree: ast.Module) -> Iterator[Binding]:
    """Every module-level binding, including those under if/try/with, with the lines that show it."""
    stack: list[ast.stmt] = list(reversed(tree.body))
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                dotted = isinstance(stmt, ast.Import) and not alias.asname and "." in alias.name
                bound = alias.asname or (
                    alias.name.split(".")[0] if isinstance(stmt, ast.Import) else alias.name
                )
                yield Binding(bound, stmt, _import_lines(stmt, alias), exact=not dotted)
        elif isinstance(stmt, _ASSIGN_NODES):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        yield Binding(n.id, stmt, _lines(stmt, cap=10))
        elif isinstance(stmt, _SCOPE_NODES):
            yield Binding(stmt.name, stmt, _header(stmt))
        elif isinstance(stmt, _CONTAINER_NODES):
            children: list[ast.stmt] = []
            for attr in ("body", "orelse", "finalbody"):
                children.extend(getattr(stmt, attr, []))
            for handler in getattr(stmt, "handlers", []):
                children.extend(handler.body)
            stack.extend(reversed(children))


def _loaded_names(nodes: list[ast.AST]) -> set[str]:
    return {
        n.id
        for node in nodes
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _unique(variants: list[Excerpt]) -> list[Excerpt]:
    seen: set[frozenset[int]] = set()
    out = []
    for v in variants:
        if v.lines and v.lines not in seen:
            seen.add(v.lines)
            out.append(v)
    return out
