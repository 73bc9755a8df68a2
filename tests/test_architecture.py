"""The shape of agent/ (issue 11): the import graph has no cycle, the command line never reaches the store itself,
and the application layer does not depend on its front ends.

Imports are read from the source (every `import` and `from … import`, also inside functions, and
`importlib.import_module("literal")` string imports), so a lazy or a string import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

AGENT = REPO_ROOT / "agent"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(AGENT.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The agent module an imported name lives in: the longest prefix that is a module of ours."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def _relative_base(module: str, level: int, is_package: bool) -> str:
    parts = module.split(".")
    keep = len(parts) - level + (1 if is_package else 0)
    return ".".join(parts[:keep])


def imports_of(module: str) -> set[str]:
    """Every agent module `module` imports, wherever in the file and however (plain, from, string)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = _relative_base(module, node.level, path.name == "__init__.py")
                base = f"{prefix}.{base}" if base else prefix
            names = [f"{base}.{alias.name}" for alias in node.names]  # a submodule, else the module itself
            names = [n if n in MODULES else base for n in names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names = [node.args[0].value]
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                found.add(target)
    return found


Graph = dict[str, set[str]]


@pytest.fixture(scope="module")
def graph() -> Graph:
    return {module: imports_of(module) for module in MODULES}


def _reached(graph: Graph, start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_the_reader_sees_every_kind_of_import(graph: Graph) -> None:
    """The graph is not vacuous: explicit registration, lazy (in-function) imports and the package's lazy
    re-exports are all edges, and a cycle is found when there is one."""
    assert "agent.cli.review" in graph["agent.cli"]
    assert "agent.app.review" in graph["agent.cli.review"]
    assert "agent.app.session" in graph["agent.app"]
    assert frozenset({"agent.models", "agent.cli", "agent.cli.review", "agent.cli.render"}) <= max(
        cycles({**graph, "agent.models": graph["agent.models"] | {"agent.cli"}}), key=len)


def cycles(graph: Graph) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (each holds at least one import cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle(graph: Graph) -> None:
    """No import cycle anywhere in agent/ (issue 11; the five that existed were broken by moving what both sides
    needed into a lower module). Break a new one the same way, never with an in-function import (counted here)."""
    assert sorted(sorted(c) for c in cycles(graph)) == []


def test_the_app_and_cli_packages_have_no_cycle(graph: Graph) -> None:
    ours = [c for c in cycles(graph) if any(m.split(".")[:2] in (["agent", "app"], ["agent", "cli"]) for m in c)]
    assert ours == []


def test_no_cli_module_imports_the_store() -> None:
    """The command line parses, calls agent.app and renders: it never reads or writes the store itself."""
    offenders = {m: sorted(t for t in imports_of(m) if t == "agent.store" or t.startswith(("agent.store.",
                                                                                            "agent.store_")))
                 for m in MODULES if m == "agent.cli" or m.startswith("agent.cli.")}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_no_cli_module_reaches_into_a_session_store() -> None:
    """Nor through a session: no `<something>.store` attribute is used anywhere under agent/cli."""
    uses = []
    for module, path in MODULES.items():
        if module == "agent.cli" or module.startswith("agent.cli."):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            uses += [f"{module}:{n.lineno}" for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "store"]
    assert uses == []


def test_the_application_layer_does_not_depend_on_its_front_ends(graph: Graph) -> None:
    app_modules = [m for m in MODULES if m == "agent.app" or m.startswith("agent.app.")]
    reached = {t for m in app_modules for t in _reached(graph, m)}
    assert sorted(t for t in reached if t.split(".")[:2] in (["agent", "cli"], ["agent", "web"])) == []
