"""What every builtin regression template shares: how a declined template says why, the call site a test drives
(`CallSite`), and how a project file is imported (its dotted module name) and a call named."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import PurePosixPath

from agent.code.pyparse import parse_python
from agent.models import Finding


@dataclass(frozen=True)
class RegressionDecline:
    """Why no test was written, in words for the reviewer."""

    reason: str


@dataclass(frozen=True)
class CallSite:
    """The flagged call inside a module-level function that a test can call with one argument."""

    module: str
    function: str
    parameter: str  # the parameter that carries the attack input
    call: ast.Call


def module_name(path: str) -> str | None:
    """The dotted import name of a project file, or None when it is not an importable Python module path."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if not path.endswith(".py") or not parts:
        return None
    if parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def parsed_module(source: str, finding: Finding) -> tuple[str, ast.Module] | RegressionDecline:
    """The flagged file's dotted module name and its parse: what every template needs before it looks for the
    call site, or why it cannot have it."""
    module = module_name(finding.location.path)
    if module is None:
        return RegressionDecline(f"{finding.location.path} cannot be imported by a dotted module name")
    try:
        return module, parse_python(source)
    except SyntaxError as exc:
        return RegressionDecline(f"the file does not parse: {exc.msg}")


def callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
