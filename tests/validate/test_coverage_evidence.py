"""Validated, unproven or failed (DESIGN.md), judged by the real pipeline on real git repos and real pytest runs.

validated: a passing test executes a changed line (coverage.py, suture's own configuration); unproven: every
check passed but no test reaches the change; failed: among others, a new undefined name on a changed line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import render
from agent.models import Edit, Finding, Location, Proposal
from agent.validate.pipeline import validate_patch
from agent.validate.worktree import Worktree
from tests.validate.helpers import finding, make_env, make_repo

BASE = {
    "app/__init__.py": "",
    "app/calc.py": ("def add(a, b):\n    return a + b\n\n\n"
                    "def sub(a, b):\n    return a - b\n"),
    "tests/test_calc.py": "from app.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    "tests/test_other.py": "def test_unrelated():\n    assert True\n",
    # the repository's own coverage settings must not decide what counts: they would omit every changed line
    ".coveragerc": "[run]\nomit = app/*\n[report]\nexclude_lines =\n    return\n",
    "pyproject.toml": "[tool.coverage.run]\nomit = [\"app/*\"]\n",
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("coverage")
    project = make_repo(tmp / "repo", BASE)
    return tmp, project, make_env(tmp, project)


def run(setup, edits: list[Edit], label: str):
    _tmp, project, env = setup
    with Worktree(project) as wt:
        return validate_patch(env, wt.project_path, finding(), edits, label)


def test_a_test_executing_the_changed_line_validates_and_review_show_names_it(setup) -> None:
    validation, diff = run(setup, [Edit(path="app/calc.py", search="return a + b", replace="return b + a")],
                           "covered")
    assert validation.passed and validation.state == "validated", validation.reasons
    assert validation.coverage.scope == "per-test"
    assert validation.coverage.tests == ["tests/test_calc.py::test_add"]  # not test_other: it never runs add()
    assert validation.coverage.changed == {"app/calc.py": [2]} and validation.coverage.uncovered == []
    # the recorded command is the project's, without suture's instrumentation
    assert "suture_coverage_plugin" not in " ".join(validation.patched.command)
    proposal = Proposal(id="c" * 16, finding_id="f" * 16, kind="patch", engine="builtin:test", diff=diff,
                        state="validated", validation=validation)
    with render.out.capture() as shown:
        render.show_proposal(proposal, finding(), [])
    text = shown.get()
    assert "validated" in text and "tests executing the changed lines: tests/test_calc.py::test_add" in text


def test_tests_that_never_reach_the_change_leave_it_unproven(setup) -> None:
    validation, _ = run(setup, [Edit(path="app/calc.py", search="return a - b", replace="return -b + a")],
                        "uncovered")
    assert validation.passed, validation.reasons  # nothing failed: the suite passes, the patch applies
    assert validation.state == "unproven"
    assert validation.patched.passed == 2 and validation.coverage.tests == []
    assert validation.coverage.uncovered == ["app/calc.py:6"]
    assert validation.unproven_reason == "no test covers this change: no passing test executes app/calc.py:6"


def test_an_undefined_name_on_a_changed_line_fails_the_lint_before_any_test(setup) -> None:
    validation, _ = run(setup, [Edit(path="app/calc.py", search="return a - b", replace="return shlex.quote(a)")],
                        "lint")
    assert validation.state == "failed" and validation.patched is None  # no test ran
    assert validation.reasons == [("the patch adds 1 lint finding(s) on its changed lines: app/calc.py:6: "
                                   "F821 undefined name 'shlex'")]


def test_unproven_without_any_tests(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "repo", {"app/__init__.py": "", "app/calc.py": BASE["app/calc.py"]})
    env = make_env(tmp_path, project)
    with Worktree(project) as wt:
        validation, _ = validate_patch(env, wt.project_path, finding(),
                                       [Edit(path="app/calc.py", search="return a + b", replace="return b + a")],
                                       "none")
    assert validation.passed and validation.state == "unproven" and validation.reasons == []
    assert validation.unproven_reason.startswith("no test covers this change: the project has no tests")


def test_lint_counts_only_new_findings_on_changed_lines() -> None:
    from agent.validate.lint import lint_reasons

    old = "import os\n\n\ndef f(x):\n    return undefined_before(x)\n"
    # the old undefined name stays (not new); `os` becomes unused, but on a line the patch did not touch
    assert lint_reasons({"a.py": (old, "import os\n\n\ndef f(x):\n    return undefined_before(x) + 1\n")}) == []
    patched = "import os\nimport json\n\n\ndef f(x):\n    return undefined_before(x)\n"
    added_import = lint_reasons({"a.py": (old, patched)})
    assert added_import and "F401 unused import 'json'" in added_import[0]
    assert lint_reasons({"a.py": (old, "def f(:\n")}) == ["a.py does not compile after the patch: invalid syntax (line 1)"]
    assert lint_reasons({"notes.txt": ("a", "b c")}) == []


def test_review_show_says_no_test_covers_an_unproven_patch() -> None:
    from agent.models import CoverageEvidence, TestRun, Validation

    validation = Validation(applied=True, passed=True, patched=TestRun(ran=False, reason="no test command"),
                            coverage=CoverageEvidence(note="the project has no tests (no test command)"))
    proposal = Proposal(id="d" * 16, finding_id="f" * 16, kind="patch", engine="builtin:test", diff="",
                        state="unproven", validation=validation)
    where = Finding(id="f" * 16, tool="bandit", rule_id="B506", message="yaml",
                    location=Location(path="app/a.py", start_line=1))
    with render.out.capture() as shown:
        render.show_proposal(proposal, where, [])
    assert "unproven: no test covers this change: the project has no tests" in shown.get()
