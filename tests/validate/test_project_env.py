"""The project's tests run in the project's environment: real virtualenvs, real worktrees, real pytest runs.

Suture runs on this interpreter (as it would from its own pipx virtualenv); the project's dependency `projdep`
exists only in the project's untracked `.venv`, so suture's interpreter cannot import it. No network: the
project venv is made with `venv --without-pip` and pytest's files are copied in from this interpreter.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.models import Edit
from agent.validate import bwrap
from agent.validate.pipeline import validate_patch
from agent.validate.worktree import Worktree
from tests.validate.helpers import finding, make_env, make_repo

PYTEST_DISTS = ("pytest", "pluggy", "iniconfig", "packaging", "pygments")
APP = {
    ".gitignore": ".venv/\n",
    "app/__init__.py": "",
    "app/calc.py": "import projdep\n\n\ndef add(a, b):\n    return projdep.plus(a, b)\n",
    "tests/test_calc.py": "from app.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


def make_venv(venv: Path, with_pytest: bool = True) -> Path:
    """A real, isolated virtualenv (no system site-packages); returns its site-packages folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    for name in PYTEST_DISTS if with_pytest else ():
        dist = importlib.metadata.distribution(name)
        for rel in dist.files or []:
            src = Path(str(dist.locate_file(rel)))
            if ".." in rel.parts or "__pycache__" in rel.parts or not src.is_file():
                continue
            (site / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, site / rel)
    return site


def add_projdep(site: Path) -> None:
    (site / "projdep").mkdir()
    (site / "projdep" / "__init__.py").write_text("def plus(a, b):\n    return a + b\n")


@pytest.fixture
def without_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUTURE_SANDBOX_BWRAP", "off")
    monkeypatch.setattr(bwrap, "_probed", {})


def test_fix_is_validated_with_dependencies_only_in_the_project_venv(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "repo", APP)
    add_projdep(make_venv(project.git_root / ".venv"))
    assert importlib.util.find_spec("projdep") is None  # suture's own interpreter cannot import it
    env = make_env(tmp_path, project)
    edit = Edit(path="app/calc.py", search="return projdep.plus(a, b)", replace="return projdep.plus(b, a)")
    with Worktree(project) as wt:
        assert not (wt.project_path / ".venv").exists()  # untracked: the worktree does not have it
        validation, _ = validate_patch(env, wt.project_path, finding(), [edit], "venv")
    assert validation.passed, validation.reasons
    assert validation.baseline.passed == 1 and validation.patched.passed == 1
    venv_python = str(project.git_root / ".venv" / "bin" / "python")
    assert validation.patched.command[0] == venv_python
    assert validation.baseline.environment == f"project virtualenv {project.git_root / '.venv'}"


def test_editable_install_of_the_users_checkout_still_tests_the_patched_code(tmp_path: Path,
                                                                               without_bwrap: None) -> None:
    """The venv's .pth points at the user's lib/ (readable here: bubblewrap off); the worktree's lib/ must win."""
    files = {".gitignore": ".venv/\n", "lib/mypkg/__init__.py": "VALUE = 1\n",
             "tests/test_value.py": "import mypkg\n\n\ndef test_value():\n    assert mypkg.VALUE == 1\n"}
    project = make_repo(tmp_path / "repo", files)
    site = make_venv(project.git_root / ".venv")
    (site / "_mypkg_editable.pth").write_text(f"{project.git_root / 'lib'}\n")
    env = make_env(tmp_path, project)
    edit = Edit(path="lib/mypkg/__init__.py", search="VALUE = 1", replace="VALUE = 2")
    with Worktree(project) as wt:
        penv, lib = env.project_env(wt.project_path), str(wt.project_path.resolve() / "lib")
        validation, _ = validate_patch(env, wt.project_path, finding("lib/mypkg/__init__.py"), [edit], "editable")
    # Had the user's unpatched lib/ been imported, the test would still pass; the patched VALUE = 2 breaks it.
    assert not validation.passed
    assert validation.newly_failing == ["tests/test_value.py::test_value"]
    assert validation.baseline.passed == 1
    assert penv.python_path == (lib,)
    assert "editable install of your checkout" in penv.name


def test_baseline_that_cannot_import_is_test_environment_broken(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "repo", APP)  # no .venv: suture's interpreter runs the tests, projdep missing
    env = make_env(tmp_path, project)
    edit = Edit(path="app/calc.py", search="return projdep.plus(a, b)", replace="return projdep.plus(b, a)")
    with Worktree(project) as wt:
        validation, _ = validate_patch(env, wt.project_path, finding(), [edit], "broken")
    assert not validation.passed
    reason = validation.reasons[0]
    assert reason.startswith("test environment broken: ")
    assert "No module named 'projdep'" in reason and "the patch was not judged" in reason
    assert "set test_command in suture.toml" in reason and "create .venv" in reason
    assert f"suture's own interpreter {sys.executable}" in reason
    assert validation.baseline.environment.startswith("suture's own interpreter")


def test_project_venv_without_pytest_says_what_to_install(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "repo", APP)
    make_venv(project.git_root / ".venv", with_pytest=False)
    env = make_env(tmp_path, project)
    with Worktree(project) as wt:
        validation, _ = validate_patch(env, wt.project_path, finding(), [], "nopytest")
    venv = project.git_root / ".venv"
    assert not validation.passed and validation.baseline.command == []
    assert validation.baseline.reason == (f"test environment incomplete: pytest is not installed in {venv}; install "
                                          f"it there (`{venv}/bin/python -m pip install pytest`) or set "
                                          "test_command in suture.toml")


def test_project_venv_without_coverage_leaves_the_fix_unproven_with_a_note(tmp_path: Path) -> None:
    """The project's venv has pytest but not coverage.py: the tests run and pass, nothing crashes, and since no
    test can be shown to execute the change the patch is unproven, saying why (issue 14)."""
    project = make_repo(tmp_path / "repo", APP)
    add_projdep(make_venv(project.git_root / ".venv"))
    env = make_env(tmp_path, project)
    edit = Edit(path="app/calc.py", search="return projdep.plus(a, b)", replace="return projdep.plus(b, a)")
    with Worktree(project) as wt:
        validation, _ = validate_patch(env, wt.project_path, finding(), [edit], "no-coverage")
    assert validation.passed and validation.patched.passed == 1, validation.reasons
    assert validation.state == "unproven"
    assert validation.coverage.scope == "none" and validation.coverage.tests == []
    assert "coverage.py cannot be imported" in validation.coverage.note
    assert "coverage.py cannot be imported" in validation.unproven_reason
