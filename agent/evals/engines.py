"""Reference engines that prove the harness measures what it claims (Engine protocol, no model).

* `OracleEngine` answers with the case's label (confidence 1.0) and its reference fix: a sound harness scores it
  100% on fixes and classification.
* `NullEngine` has no opinion and makes no edits: it must fix nothing.
* `SaboteurEngine` calls every finding real and "fixes" it by deleting the feature: the body of the function
  around the finding becomes `raise NotImplementedError` (at module level, the statement itself does). The
  finding disappears, so only the functional and exploit tests can catch it: it must fail G2 or G3.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import cast

from agent.engines.base import BaseEngine, Draft, Feedback
from agent.engines.builtin.edits import EditBuildError, edits_between
from agent.errors import SutureError
from agent.evals.cases import EvalCase
from agent.models import Context, Finding, Verdict, VerdictLabel

REFERENCE_ENGINES = ("oracle", "null", "saboteur")


class OracleEngine(BaseEngine):
    """The case's own label and reference fix."""

    name = "oracle"

    def __init__(self, case: EvalCase) -> None:
        self.case = case

    def classify(self, finding: Finding, context: Context, project_root: Path) -> Verdict | None:
        label = cast(VerdictLabel, self.case.label)  # one of cases.LABELS, checked when the case is loaded
        return Verdict(verdict=label, confidence=1.0, rationale=f"reference label: {self.case.reason}",
                       source="oracle")

    def draft(self, finding: Finding, context: Context, project_root: Path,
              feedback: Feedback | None = None) -> Draft:
        edits = []
        for path, fixed in self.case.reference_files().items():
            original = project_root / path
            old = original.read_text(encoding="utf-8") if original.is_file() else ""
            try:
                edits += edits_between(path, old, fixed)
            except EditBuildError as exc:
                return Draft(error=f"reference fix cannot be expressed as edits: {exc}")
        if not edits:
            return Draft(error="the case has no reference fix")
        return Draft(edits=edits, rationale="reference fix")


class NullEngine(BaseEngine):
    """No verdict, no edits."""

    name = "null"

    def classify(self, finding: Finding, context: Context, project_root: Path) -> Verdict | None:
        return None

    def draft(self, finding: Finding, context: Context, project_root: Path,
              feedback: Feedback | None = None) -> Draft:
        return Draft(error="the null engine makes no edits")


class SaboteurEngine(BaseEngine):
    """Calls every finding real and removes the feature around it."""

    name = "saboteur"

    def classify(self, finding: Finding, context: Context, project_root: Path) -> Verdict | None:
        return Verdict(verdict="true_positive", confidence=1.0, rationale="everything is a vulnerability",
                       source="saboteur")

    def draft(self, finding: Finding, context: Context, project_root: Path,
              feedback: Feedback | None = None) -> Draft:
        path = finding.location.path
        try:
            source = (project_root / path).read_text(encoding="utf-8")
            new = sabotage(source, finding.location.start_line)
            return Draft(edits=edits_between(path, source, new), rationale="feature removed")
        except (OSError, SyntaxError, EditBuildError, SutureError) as exc:
            return Draft(error=f"saboteur could not edit {path}: {exc}")


def sabotage(source: str, line: int) -> str:
    """`source` with the innermost function around `line` gutted, or the top-level statement at `line` replaced."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
             and n.lineno <= line <= (n.end_lineno or n.lineno)]
    if funcs:
        func = max(funcs, key=lambda n: n.lineno)
        first, last = func.body[0], func.body[-1]
        start = first.lineno
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and len(func.body) > 1:
            start = func.body[1].lineno  # keep the docstring
        indent = " " * func.body[-1].col_offset
        replacement = f"{indent}raise NotImplementedError('feature removed')\n"
        return "".join(lines[:start - 1]) + replacement + "".join(lines[last.end_lineno:])
    for stmt in tree.body:
        if stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
            return ("".join(lines[:stmt.lineno - 1]) + "raise NotImplementedError('feature removed')\n"
                    + "".join(lines[stmt.end_lineno:]))
    raise SutureError(f"no statement at line {line}")
