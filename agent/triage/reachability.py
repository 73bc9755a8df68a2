"""Reachability hints from the code around a finding: is it in an entry point, or in code that never ships?

Handles Python source of any project (other languages get the path-based hints only):

* entry points, found by structure rather than names: functions decorated as web routes or handlers
  (`@app.route`, `@router.get`, `@api_view`, `@view_config`, `@app.websocket`...), CLI commands (`@click.command`,
  `@app.command`, `@cli.group`...), task handlers (`@task`, `@shared_task`); methods of class-based views (bases
  ending in View, ViewSet, Resource, Handler, Endpoint); serverless handlers (`def f(event, context)`); modules
  that run as scripts (`if __name__ == "__main__":`) or build a CLI (argparse / click / typer / fire);
* code kind by path (test, example, vendored, generated) and the builtin static false-positive evidence
  (`agent.engines.builtin.evidence`: constant input to an injection sink, dead code...), computed once per file.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from agent.engines.builtin.evidence import Evidence, path_evidence, source_evidence
from agent.engines.builtin.fixers.base import ParsedSource, SourceParseError
from agent.models import Finding

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


@dataclass
class FileFacts:
    """What one file tells triage: its source (or None), entry points by line span, script-ness."""

    source: str | None
    spans: list[tuple[int, int, EntryPoint]] = field(default_factory=list)
    script: EntryPoint | None = None
    parsed: ParsedSource | None = None
    parse_failed: bool = False

    def entry_point_at(self, line: int) -> EntryPoint | None:
        inner = [(s, e, ep) for s, e, ep in self.spans if s <= line <= e]
        if inner:
            return max(inner, key=lambda t: t[0])[2]
        return self.script


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _dotted(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
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


def analyse_source(source: str) -> FileFacts:
    facts = FileFacts(source=source)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        facts.parse_failed = True
        return facts
    cli_module = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            cli_module = cli_module or next((a.name for a in node.names if a.name.split(".")[0] in CLI_MODULES), None)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in CLI_MODULES:
            cli_module = cli_module or node.module

    def visit(body: list[ast.stmt], view_class: str | None) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                bases = [_dotted(b) for b in node.bases]
                is_view = any(b.split(".")[-1].endswith(VIEW_BASE_SUFFIXES) for b in bases)
                visit(node.body, node.name if is_view else None)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                entry = _function_entry(node, view_class)
                if entry is not None:
                    facts.spans.append((node.lineno, node.end_lineno or node.lineno, entry))
                visit(node.body, None)
            elif _is_main_guard(node):
                facts.script = EntryPoint("script", "__main__", "the module runs as a script")
    visit(tree.body, None)
    if facts.script is None and cli_module:
        facts.script = EntryPoint("script", cli_module, f"the module builds a command line with {cli_module}")
    return facts


class ReachabilityIndex:
    """Per-file facts for a project folder, read once and cached (files that do not exist have no facts)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._facts = lru_cache(maxsize=4096)(self._load)

    def _load(self, path: str) -> FileFacts:
        if self.root is None or not path.endswith((".py", ".pyw")):
            return FileFacts(source=None)
        file = self.root / path
        try:
            source = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return FileFacts(source=None)
        return analyse_source(source)

    def facts(self, path: str) -> FileFacts:
        return self._facts(path)

    def entry_point(self, finding: Finding) -> EntryPoint | None:
        return self.facts(finding.location.path).entry_point_at(finding.location.start_line)

    def evidence(self, finding: Finding) -> list[Evidence]:
        """Builtin static evidence (the same facts the builtin engine uses), parsing each file at most once."""
        facts = self.facts(finding.location.path)
        found = path_evidence(finding.location.path, facts.source or "")
        if facts.source is None or facts.parse_failed:
            return found
        if facts.parsed is None:
            try:
                facts.parsed = ParsedSource(facts.source)
            except SourceParseError:
                facts.parse_failed = True
                return found
        return source_evidence(facts.parsed, finding) + found
