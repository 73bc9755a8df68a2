"""Cross-file references in Python projects: who calls a function, and which tests exercise it.

Works on any Python project layout (flat, package, src/): a file's module name comes from its path, imports
are resolved to dotted names (absolute and relative), and two dotted names match when one is a dotted
suffix of the other, so `from app.utils import f`, `from .utils import f`, `import utils` (flat layout) and
`from pkg import utils; utils.f()` all count as references to `f` in `src/app/utils.py`. Bounded: files come
from a `RepoFiles` walk (capped), and a cheap text check skips files that never mention the name.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from agent.code.pyparse import parse_python
from agent.context.languages import Excerpt, RelatedTests, Scope, line_window
from agent.context.repo_files import RepoFiles, is_test_path, split_lines

FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)
CALLER_MAX_LINES = 40
TEST_MAX_LINES = 80


def module_name(rel_path: str) -> str:
    """`src/app/utils.py` -> `app.utils`; `app/__init__.py` -> `app`."""
    parts = list(PurePosixPath(rel_path).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if len(parts) > 1 and parts[0] in ("src", "lib"):
        parts.pop(0)
    return ".".join(parts)


def module_matches(imported: str, target: str) -> bool:
    """Same module, allowing either name to carry extra leading package components."""
    if not imported or not target:
        return False
    return imported == target or target.endswith("." + imported) or imported.endswith("." + target)


def import_bindings(tree: ast.AST, rel_path: str) -> dict[str, str]:
    """Local name -> dotted name it refers to, for every import in the file (any nesting)."""
    package = module_name(rel_path).split(".")
    if not rel_path.endswith("__init__.py"):
        package = package[:-1]
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    bound[root] = root
                    bound[f"import {alias.name}"] = alias.name  # not an identifier: only for module checks
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                kept = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join([*kept, base] if base else kept)
            for alias in node.names:
                if alias.name != "*":
                    bound[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
    return bound


def dotted(expr: ast.expr, bindings: dict[str, str]) -> str | None:
    """`a.b.c` with its root resolved through the imports, or None for calls on expressions."""
    attrs: list[str] = []
    while isinstance(expr, ast.Attribute):
        attrs.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    return ".".join([bindings.get(expr.id, expr.id), *reversed(attrs)])


def refers_to_module(bindings: dict[str, str], target_module: str) -> bool:
    """True if some import names the module itself or something defined in it."""
    for name in bindings.values():
        owner = name.rsplit(".", 1)[0] if "." in name else ""
        if module_matches(name, target_module) or module_matches(owner, target_module):
            return True
    return False


def function_at(tree: ast.AST, line: int) -> tuple[ast.AST | None, str]:
    """The outermost function containing `line` and its qualified name (None, "" at module level)."""
    names: list[str] = []
    node: ast.AST = tree
    while True:
        for child in ast.iter_child_nodes(node):
            end = getattr(child, "end_lineno", None)
            if end is not None and _start(child) <= line <= end:
                if isinstance(child, ast.ClassDef):
                    names.append(child.name)
                if isinstance(child, FUNCTION_NODES):
                    return child, ".".join([*names, child.name])
                node = child
                break
        else:
            return None, ""


def _start(node: ast.AST) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])  # type: ignore[attr-defined]


def _body_excerpt(label: str, path: str, func: ast.AST | None, line: int, total: int, cap: int) -> Excerpt:
    if func is None:
        return Excerpt(label, path, line_window(line, line, 3, total))
    start, end = _start(func), func.end_lineno  # type: ignore[attr-defined]
    if end - start + 1 <= cap:
        return Excerpt(label, path, frozenset(range(start, end + 1)))
    head = frozenset(range(start, func.body[0].lineno))  # type: ignore[attr-defined]
    return Excerpt(label, path, head | (line_window(line, line, 4, total) & frozenset(range(start, end + 1))))


@dataclass(frozen=True)
class Target:
    """The function whose callers and tests we look for."""

    path: str
    scope: Scope
    class_name: str | None  # set when the function is a method


def _parse(text: str) -> ast.Module | None:
    try:
        return parse_python(text)
    except (SyntaxError, ValueError):
        return None


def _is_call_of(
    call: ast.Call, target: Target, bindings: dict[str, str], same_file: bool, imports: bool
) -> bool:
    name = target.scope.name
    func = call.func
    if target.class_name:
        return isinstance(func, ast.Attribute) and func.attr == name and (same_file or imports)
    if same_file and isinstance(func, ast.Name) and func.id == name and name not in bindings:
        return True
    ref = dotted(func, bindings)
    if ref is None or not ref.endswith("." + name):
        return False
    return module_matches(ref[: -len(name) - 1], module_name(target.path))


def find_callers(repo: RepoFiles, target: Target, limit: int) -> list[Excerpt]:
    """Up to `limit` functions (or module-level spots) outside tests that call the target, same file first."""
    others = [p for p in repo.paths() if p != target.path and not is_test_path(p)]
    found: list[Excerpt] = []
    seen: set[tuple[str, int]] = set()
    for path in [target.path, *others]:
        text = repo.text(path)
        tree = _parse(text) if text and target.scope.name in text else None
        if tree is None or text is None:  # (text is set whenever tree is)
            continue
        bindings = import_bindings(tree, path)
        imports = path == target.path or refers_to_module(bindings, module_name(target.path))
        for call in _calls(tree):
            if path == target.path and target.scope.start_line <= call.lineno <= target.scope.end_line:
                continue  # recursion or a nested helper, already shown
            if not _is_call_of(call, target, bindings, path == target.path, imports):
                continue
            func, qualname = function_at(tree, call.lineno)
            key = (path, _start(func) if func else call.lineno)
            if key in seen:
                continue
            seen.add(key)
            where = f"`{qualname}`" if qualname else "module-level code"
            label = f"caller: {where} calls `{target.scope.name}` ({path}:{call.lineno})"
            total = len(split_lines(text))
            found.append(_body_excerpt(label, path, func, call.lineno, total, CALLER_MAX_LINES))
            if len(found) >= limit:
                return found
    return found


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    return iter(sorted(calls, key=lambda c: (c.lineno, c.col_offset)))


def _test_functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in tree.body:
        if isinstance(node, FUNCTION_NODES) and node.name.startswith("test"):
            yield node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, FUNCTION_NODES) and item.name.startswith("test"):
                    yield item


def related_tests(repo: RepoFiles, path: str, function: Scope | None, limit: int) -> RelatedTests:
    """Test files that import the module or mention the function, best first, and the most relevant test.

    A test function scores for naming the function (4), calling it (3), mentioning it (1), calling anything
    from the module (2), plus its file's score: importing the module (2), mentioning the function (1).
    Only tests with some evidence of their own are candidates for the "most relevant test".
    """
    target_module = module_name(path)
    stem = target_module.rsplit(".", 1)[-1]
    name = function.name if function else None
    word = re.compile(rf"\b{re.escape(name)}\b") if name else None
    file_scores: list[tuple[int, str]] = []
    best: tuple[int, str, int, Excerpt] | None = None
    for test_path in repo.paths():
        if test_path == path or not is_test_path(test_path):
            continue
        text = repo.text(test_path)
        if not text or not (stem in text or (name and name in text)):
            continue
        tree = _parse(text)
        if tree is None:
            continue
        bindings = import_bindings(tree, test_path)
        imports = refers_to_module(bindings, target_module)
        mentions = bool(word and word.search(text))
        if not (imports or mentions):
            continue
        file_score = 2 * imports + mentions
        file_scores.append((file_score, test_path))
        lines = split_lines(text)
        for test in _test_functions(tree):
            refs = [dotted(c.func, bindings) or "" for c in ast.walk(test) if isinstance(c, ast.Call)]
            body = "\n".join(lines[test.lineno - 1 : test.end_lineno])
            own = 4 * bool(name and name.lower() in test.name.lower())
            own += 3 * bool(name and any(ref.rsplit(".", 1)[-1] == name for ref in refs))
            own += bool(word and word.search(body))
            own += 2 * any(module_matches(ref.rpartition(".")[0], target_module) for ref in refs)
            if own == 0:
                continue  # the file is related, but nothing in this test points at the code
            score = own + file_score
            if best is None or score > best[0]:
                end = min(test.end_lineno or test.lineno, _start(test) + TEST_MAX_LINES - 1)
                label = f"related test `{test.name}` ({test_path})"
                best = (
                    score,
                    test_path,
                    test.lineno,
                    Excerpt(label, test_path, frozenset(range(_start(test), end + 1))),
                )
    file_scores.sort(key=lambda fs: (-fs[0], fs[1]))
    return RelatedTests([p for _, p in file_scores[:limit]], best[3] if best else None)
