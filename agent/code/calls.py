"""Call edges and statements of one parsed Python module (stdlib `ast`), for reachability and grouping.

Handles any module `ast.parse` accepts. `call_facts(tree, module)` lists

* every function (module-level functions, methods as `Class.method`, nested functions as `outer.inner`) with its
  line span, and
* every call made inside a function, as an edge (caller, callee reference). A callee reference is a dotted name
  as far as the module's own imports and definitions resolve it (`app.db.find_user` for `db.find_user()` after
  `from app import db`, `app.views.helper` for a call of a function defined in the module, `app.views.Repo.find`
  for `self.find()` in a method of `Repo`), else `?.name` — the called name alone (a method of an unknown
  object, a star import), which `CallGraph` matches only when exactly one function in the project has that name.

`statement_at(module, line)` gives the span of the innermost simple statement covering a line and, for an
assignment `name = ...`, the span of the next statement of the same block when a call in it reads `name` (the
"build on one line, execute on the next" pair scanners report twice).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class CallFacts:
    """Functions (first line, last line, qualified name in the module) and edges (caller, callee reference)."""

    functions: list[tuple[int, int, str]] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def function_at(self, line: int) -> str | None:
        """The innermost function whose span covers `line`."""
        inner = [(s, q) for s, e, q in self.functions if s <= line <= e]
        return max(inner)[1] if inner else None


def module_name(path: str) -> str:
    """The dotted module name of a project-relative path (`src/` layouts and `__init__` folded)."""
    parts = path.replace("\\", "/").removesuffix(".pyw").removesuffix(".py").split("/")
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(p for p in parts if p)


def _imports(tree: ast.Module, module: str) -> dict[str, str]:
    """Local name → dotted name, for module-level and function-level imports alike (the common case)."""
    found: dict[str, str] = {}
    package = module.rsplit(".", 1)[0] if "." in module else ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else (
                    alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                if alias.name != "*":
                    found[alias.asname or alias.name] = f"{base}.{alias.name}".lstrip(".")
    return found


def call_facts(tree: ast.Module, module: str) -> CallFacts:
    """The functions and call edges of a module named `module` (see the module docstring)."""
    facts = CallFacts()
    imports = _imports(tree, module)
    top_level = {n.name for n in tree.body if isinstance(n, (*_FUNCTIONS, ast.ClassDef))}

    def resolve(func: ast.expr, klass: str | None) -> str | None:
        if isinstance(func, ast.Name):
            if func.id in imports:
                return imports[func.id]
            return f"{module}.{func.id}" if func.id in top_level else f"?.{func.id}"
        if isinstance(func, ast.Attribute):
            base = func.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls") and klass is not None:
                return f"{module}.{klass}.{func.attr}"
            if isinstance(base, ast.Name) and base.id in imports:
                return f"{imports[base.id]}.{func.attr}"
            if isinstance(base, ast.Name) and base.id in top_level:
                return f"{module}.{base.id}.{func.attr}"
            return f"?.{func.attr}"
        return None

    def visit(body: list[ast.stmt], prefix: str, klass: str | None) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.", node.name)
            elif isinstance(node, _FUNCTIONS):
                qual = f"{prefix}{node.name}"
                facts.functions.append((node.lineno, node.end_lineno or node.lineno, qual))
                seen: set[str] = set()
                nested: list[ast.stmt] = []
                stack: list[ast.AST] = list(node.body)
                while stack:
                    inner = stack.pop()
                    if isinstance(inner, (*_FUNCTIONS, ast.ClassDef)):
                        nested.append(inner)  # visited as its own function, below
                        continue
                    if isinstance(inner, ast.Call):
                        target = resolve(inner.func, klass)
                        if target is not None and target not in seen:
                            seen.add(target)
                            facts.edges.append((qual, target))
                    stack.extend(ast.iter_child_nodes(inner))
                visit(sorted(nested, key=lambda n: n.lineno), f"{qual}.", klass)
    visit(tree.body, "", None)
    return facts


_SIMPLE = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Return, ast.Raise, ast.Assert, ast.Delete)
_BLOCKS = ("body", "orelse", "finalbody", "handlers")


def statement_at(tree: ast.Module, line: int) -> tuple[int, int, int, int] | None:
    """(first, last) of the innermost simple statement covering `line`, plus (first, last) of the next statement
    of its block when the statement assigns one name that a call in that next statement reads ((0, 0) when not).
    None when no simple statement covers the line."""
    best: tuple[ast.stmt, list[ast.stmt], int] | None = None
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for name in _BLOCKS:
            block = getattr(node, name, None)
            if not isinstance(block, list):
                continue
            for index, child in enumerate(block):
                if not isinstance(child, ast.stmt | ast.ExceptHandler):
                    continue
                if not child.lineno <= line <= (child.end_lineno or child.lineno):
                    continue
                if isinstance(child, _SIMPLE):
                    best = (child, block, index)
                else:
                    stack.append(child)
        if isinstance(node, ast.Match):
            stack.extend(node.cases)
    if best is None:
        return None
    statement, block, index = best
    first, last = statement.lineno, statement.end_lineno or statement.lineno
    target = None
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        target = statement.targets[0].id
    elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
        target = statement.target.id
    if target is not None and index + 1 < len(block):
        following = block[index + 1]
        for node in ast.walk(following):
            if isinstance(node, ast.Call) and any(
                    isinstance(n, ast.Name) and n.id == target
                    for a in [*node.args, *(k.value for k in node.keywords)] for n in ast.walk(a)):
                return first, last, following.lineno, following.end_lineno or following.lineno
    return first, last, 0, 0
