"""Fast signal first: which test files exercise the changed Python modules, found by reading imports (ast).

Handles any Python project layout: flat packages, `src/` layouts, namespace packages and tests that import
modules by a bare name (a test folder on sys.path). A changed file maps to every dotted name it can be imported
by; test files that import one of them — directly, or through other project modules that do (transitively) —
are selected. The map is an approximation that errs towards "no target": a changed conftest.py, a non-Python
file or an unparsable project yields None, and the caller runs the full suite instead.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence
from pathlib import Path

from agent.code.path_kind import is_test_module
from agent.code.pyparse import parse_python
from agent.validate.runner import is_pytest_command

_SKIP_DIRS = {".git", ".suture", "__pycache__", "node_modules", "site-packages", ".venv", "venv", "env", ".tox",
              ".nox", "build", "dist", ".eggs"}
MAX_FILES = 5000  # beyond this the project is too large to map cheaply: run the full suite


def is_test_file(rel_path: str) -> bool:
    """A Python file pytest collects as tests (agent.code.path_kind.is_test_module)."""
    return rel_path.endswith(".py") and is_test_module(rel_path)


def module_names(project_dir: Path, rel_path: str) -> set[str]:
    """Dotted names `rel_path` (a .py file relative to `project_dir`) can be imported by."""
    parts = rel_path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    names = set()
    for start in range(len(parts)):
        root = project_dir.joinpath(*rel_path.split("/")[:start])
        # an import root is the project folder or any folder that is not itself a regular package
        if (start == 0 or not (root / "__init__.py").is_file()) and parts[start:]:
            names.add(".".join(parts[start:]))
    return names


def imported_names(source: str, rel_path: str) -> set[str]:
    """Every dotted module name a file's imports can refer to (relative imports resolved from its path)."""
    tree = parse_python(source)
    package = rel_path.split("/")[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.update(_prefixes(alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] if node.level <= len(package) + 1 else []
                stem = ".".join([*base, *([node.module] if node.module else [])])
            else:
                stem = node.module or ""
            if stem:
                names.update(_prefixes(stem))
            for alias in node.names:
                if alias.name != "*":
                    names.add(f"{stem}.{alias.name}" if stem else alias.name)
    return names


def _prefixes(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def select_tests(project_dir: Path, changed: Sequence[str]) -> list[str] | None:
    """Test files (relative POSIX paths, sorted) that import a changed module.

    None when no safe target exists or when every test file is selected (the full suite is the target then).
    """
    if not changed or any(not p.endswith(".py") or p.rsplit("/", 1)[-1] == "conftest.py" for p in changed):
        return None
    files = _python_files(project_dir)
    if files is None:
        return None
    importers: dict[str, set[str]] = {}  # module name -> files importing it
    for rel in files:
        try:
            text = (project_dir / rel).read_text(encoding="utf-8", errors="replace")
            for name in imported_names(text, rel):
                importers.setdefault(name, set()).add(rel)
        except (SyntaxError, ValueError, OSError):
            continue
    all_tests = {rel for rel in files if is_test_file(rel)}
    selected = {p for p in changed if is_test_file(p)}
    seen_files = set(changed)
    queue = list(changed)
    while queue:
        rel = queue.pop()
        for name in module_names(project_dir, rel):
            for user in importers.get(name, ()):
                if user in seen_files:
                    continue
                seen_files.add(user)
                if is_test_file(user):
                    selected.add(user)
                elif user.rsplit("/", 1)[-1] != "conftest.py":
                    queue.append(user)
    if all_tests and selected >= all_tests:
        return None  # every test file is affected: the targeted run would be the full suite
    return sorted(selected)


def _python_files(project_dir: Path) -> list[str] | None:
    found: list[str] = []
    for dirpath, dirs, names in os.walk(project_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        rel_dir = Path(dirpath).relative_to(project_dir).as_posix()
        for name in names:
            if name.endswith(".py"):
                found.append(name if rel_dir == "." else f"{rel_dir}/{name}")
        if len(found) > MAX_FILES:
            return None
    return found


def targeted_command(command: Sequence[str], project_dir: Path, tests: Sequence[str]) -> list[str] | None:
    """`command` narrowed to `tests` (pytest only): path arguments are replaced by the selected files inside them.

    None when the command is not pytest or none of the selected files lies inside the command's own paths.
    """
    if not tests or not is_pytest_command(command):
        return None
    command = list(command)
    marker = next(i for i, a in enumerate(command)
                  if os.path.basename(a) in ("pytest", "py.test") or (a == "-m" and command[i + 1:i + 2] == ["pytest"]))
    start = marker + (2 if command[marker] == "-m" else 1)
    head, rest = command[:start], command[start:]
    scopes = [a for a in rest if not a.startswith("-") and (project_dir / a).exists()]
    options = [a for a in rest if a not in scopes]
    chosen = [t for t in tests if not scopes or any(_inside(t, s) for s in scopes)]
    return [*head, *options, *chosen] if chosen else None


def _inside(rel: str, scope: str) -> bool:
    scope = scope.rstrip("/").removeprefix("./")
    return scope in ("", ".") or rel == scope or rel.startswith(scope + "/")
