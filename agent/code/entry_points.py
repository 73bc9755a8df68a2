"""Entry points of a Python module, found by structure rather than names (stdlib `ast`).

Handles any module `ast.parse` accepts: functions decorated as web routes or handlers (`@app.route`,
`@router.get`, `@api_view`, `@view_config`, `@app.websocket`...), CLI commands (`@click.command`, `@app.command`,
`@cli.group`...), task handlers (`@task`, `@shared_task`); methods of class-based views (bases ending in View,
ViewSet, Resource, Handler, Endpoint, Controller); serverless handlers (`def f(event, context)`); modules that run
as scripts (`if __name__ == "__main__":`) or build a CLI (argparse / click / typer / fire / docopt).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

ROUTE_DECORATORS = frozenset({"route", "get", "post", "put", "patch", "delete", "head", "options", "api_route",
                              "websocket", "api_view", "view_config", "expose", "endpoint", "view"})
CLI_DECORATORS = frozenset({"command", "group", "callback"})
TASK_DECORATORS = frozenset({"task", "shared_task", "periodic_task", "job", "consumer", "subscriber"})
VIEW_BASE_SUFFIXES = ("View", "ViewSet", "Resource", "Handler", "Endpoint", "Controller")
CLI_MODULES = frozenset({"argparse", "click", "typer", "fire", "docopt"})


@dataclass(frozen=True)
class EntryPoint:
    kind: str  # "web handler", "CLI command", "task handler", "serverless handler", "script"
    name: str
    detail: str


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _dotted(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    parts: list[str] = []
    name = target
    while isinstance(name, ast.Attribute):
        parts.append(name.attr)
        name = name.value
    if isinstance(name, ast.Name):  # a dotted name: what ast.unparse gives, without unparsing
        return ".".join([name.id, *reversed(parts)])
    try:
        return ast.unparse(target)
    except (ValueError, TypeError):
        return _decorator_name(node)


def _function_entry(fn: ast.FunctionDef | ast.AsyncFunctionDef, in_view_class: str | None) -> EntryPoint | None:
    for deco in fn.decorator_list:
        name = _decorator_name(deco)
        if name in ROUTE_DECORATORS:
            return EntryPoint("web handler", fn.name, f"decorated @{_dotted(deco)}")
        if name in CLI_DECORATORS and isinstance(deco, (ast.Call, ast.Attribute)):
            return EntryPoint("CLI command", fn.name, f"decorated @{_dotted(deco)}")
        if name in TASK_DECORATORS:
            return EntryPoint("task handler", fn.name, f"decorated @{_dotted(deco)}")
    if in_view_class and not fn.name.startswith("_"):
        return EntryPoint("web handler", f"{in_view_class}.{fn.name}", f"method of view class {in_view_class}")
    params = [a.arg for a in fn.args.args]
    if params[:2] == ["event", "context"]:
        return EntryPoint("serverless handler", fn.name, "takes (event, context)")
    return None


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    consts = {p.value for p in parts if isinstance(p, ast.Constant)}
    return "__name__" in names and "__main__" in consts


def entry_points(tree: ast.Module, imports: Iterable[ast.Import | ast.ImportFrom] | None = None
                 ) -> tuple[list[tuple[int, int, EntryPoint]], EntryPoint | None]:
    """(first line, last line, entry point) per entry-point function, and the module's script entry (or None).
    `imports`: the module's import statements in `ast.walk` order, when the caller already has them."""
    spans: list[tuple[int, int, EntryPoint]] = []
    script: EntryPoint | None = None
    cli_module = None
    for node in ast.walk(tree) if imports is None else imports:
        if isinstance(node, ast.Import):
            cli_module = cli_module or next((a.name for a in node.names if a.name.split(".")[0] in CLI_MODULES), None)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in CLI_MODULES:
            cli_module = cli_module or node.module

    def visit(body: list[ast.stmt], view_class: str | None) -> None:
        nonlocal script
        for node in body:
            if isinstance(node, ast.ClassDef):
                bases = [_dotted(b) for b in node.bases]
                is_view = any(b.split(".")[-1].endswith(VIEW_BASE_SUFFIXES) for b in bases)
                visit(node.body, node.name if is_view else None)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                entry = _function_entry(node, view_class)
                if entry is not None:
                    spans.append((node.lineno, node.end_lineno or node.lineno, entry))
                visit(node.body, None)
            elif _is_main_guard(node):
                script = EntryPoint("script", "__main__", "the module runs as a script")
    visit(tree.body, None)
    if script is None and cli_module:
        script = EntryPoint("script", cli_module, f"the module builds a command line with {cli_module}")
    return spans, script
