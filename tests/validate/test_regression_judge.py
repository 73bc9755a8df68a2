"""Judging a proposed regression test on real trees: real git worktrees, real sandboxed pytest runs, real coverage.

A test is kept only when it fails on the unpatched code and passes on the patched code, and it is evidence only
when it also executes a changed line; one that passes on the unpatched code is discarded with a note.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.models import Edit
from agent.validate.regression import judge_regression_test, regression_path
from agent.validate.worktree import Worktree
from tests.validate.helpers import finding, make_env, make_repo

pytestmark = pytest.mark.slow

FILES = {
    "app/__init__.py": "",
    "app/calc.py": "def parse(text):\n    return eval(text)\n",
    "app/limits.py": "MAX = None\n",
    "tests/test_other.py": "def test_nothing_here():\n    assert True\n",
}
FIX = [Edit(path="app/calc.py", search="    return eval(text)", replace="    return int(text)")]
PROVING = ("import pytest\n\nfrom app.calc import parse\n\n\n"
           "def test_code_is_not_run():\n    with pytest.raises(ValueError):\n"
           "        parse(\"__import__('os').getcwd()\")\n\n\n"
           "def test_numbers_still_parse():\n    assert parse('2') == 2\n")
PROVES_NOTHING = "from app.calc import parse\n\n\ndef test_numbers_parse():\n    assert parse('2') == 2\n"
PATH = "tests/test_suture_regression_x.py"


def judge(tmp_path: Path, content: str, edits=FIX, changes=None):
    project = make_repo(tmp_path / "repo", FILES)
    env = make_env(tmp_path, project)
    with Worktree(project) as wt:
        record = judge_regression_test(env, wt.project_path, edits, changes or {"app/calc.py": [2]}, PATH,
                                       content, "llm:test", wt.reset, untrusted=True)
        assert not (wt.project_path / PATH).exists(), "the tree is left reset"
    return record


def test_a_test_failing_before_and_passing_after_is_kept_as_evidence(tmp_path: Path) -> None:
    record = judge(tmp_path, PROVING)
    assert (record.before, record.after, record.kept, record.covers_change) == ("failed", "passed", True, True)
    assert record.tests == [f"{PATH}::test_code_is_not_run"], "only the test that failed before is the proof"
    assert record.is_evidence and record.note is None


def test_a_test_passing_on_the_unpatched_code_is_discarded_with_a_note(tmp_path: Path) -> None:
    record = judge(tmp_path, PROVES_NOTHING)
    assert record.before == "passed" and record.after == "not run" and not record.kept
    assert "proves nothing" in record.note


def test_a_test_that_never_executes_the_change_is_kept_but_not_evidence(tmp_path: Path) -> None:
    """The changed line runs at import (collection), outside any test: the test's verdict flips, but coverage
    cannot show the test executing the change, so it does not validate the patch."""
    edits = [Edit(path="app/limits.py", search="MAX = None", replace="MAX = 10")]
    content = "from app.limits import MAX\n\n\ndef test_limit_is_set():\n    assert MAX == 10\n"
    record = judge(tmp_path, content, edits, {"app/limits.py": [1]})
    assert (record.before, record.after, record.kept, record.covers_change) == ("failed", "passed", True, False)
    assert not record.is_evidence and "not counted as evidence" in record.note


def test_regression_path_is_new_and_not_in_the_patch(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "repo", {**FILES, "tests/test_suture_regression_ffffffffff.py": "x = 1\n"})
    f = finding()
    taken = Edit(path="tests/test_suture_regression_ffffffffff_1.py", search="", replace="", create=True)
    assert regression_path(project.git_root, f, [taken]) == "tests/test_suture_regression_ffffffffff_2.py"
    bare = make_repo(tmp_path / "bare", {"app/calc.py": "x = 1\n"})
    assert regression_path(bare.git_root, f, []) is None
