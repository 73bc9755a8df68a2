"""Which environment runs a project's tests, decided from files alone (fake lock files and fake virtualenvs;
neither uv, poetry nor hatch needs to be installed, and nothing is executed)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from rich.console import Console

from agent.cli import render
from agent.models import Proposal, TestRun, Validation
from agent.validate.evidence import baseline_problem
from agent.validate.project_env import detect_project_env
from agent.validate.runner import detect_test_command
from tests.validate.helpers import finding

NO_TOOLS = {"PATH": "/nonexistent"}  # uv, poetry, hatch: not installed


def project(root: Path, **files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    for name, text in files.items():
        (root / name.replace("__", "/")).parent.mkdir(parents=True, exist_ok=True)
        (root / name.replace("__", "/")).write_text(text)
    return root


def fake_venv(venv: Path, pytest_installed: bool = True, system_site: bool = False) -> Path:
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = /usr/bin\ninclude-system-site-packages = {str(system_site).lower()}\n")
    (venv / "bin").mkdir()
    (venv / "bin" / "python").write_text("#!/bin/sh\nexit 99\n")  # never run by detection
    (venv / "bin" / "python").chmod(0o755)
    if pytest_installed:
        (site / "pytest").mkdir()
        (site / "pytest" / "__init__.py").write_text("")
    return site


def test_in_project_venv_runs_the_tests_with_its_interpreter(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    fake_venv(root / ".venv")
    env = detect_project_env(root, environ=NO_TOOLS)
    assert env.command == [str(root.resolve() / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "-p",
                           "no:cacheprovider"]
    assert env.problem is None and env.env["VIRTUAL_ENV"] == str(root.resolve() / ".venv")
    assert detect_test_command(root) == env.command  # what evals and other callers see too


@pytest.mark.parametrize("name", ["venv", "env"])
def test_other_venv_names_count_only_with_a_pyvenv_cfg(tmp_path: Path, name: str) -> None:
    root = project(tmp_path / "p")
    (root / name / "bin").mkdir(parents=True)  # a folder of that name that is no virtualenv
    assert detect_project_env(root, environ=NO_TOOLS).command[0] == sys.executable
    (root / name).rename(tmp_path / "moved")
    fake_venv(root / name)
    assert detect_project_env(root, environ=NO_TOOLS).command[0] == str(root.resolve() / name / "bin" / "python")


def test_uv_project_uses_its_dot_venv_and_never_creates_one(tmp_path: Path) -> None:
    root = project(tmp_path / "p", **{"uv.lock": "version = 1\n", "pyproject.toml": "[project]\nname = 'p'\n"})
    missing = detect_project_env(root, environ=NO_TOOLS)
    assert missing.command is None
    assert missing.problem.startswith("test environment missing: install uv and run `uv sync` in ")
    fake_venv(root / ".venv")
    present = detect_project_env(root, environ=NO_TOOLS)
    assert present.command[0] == str(root.resolve() / ".venv" / "bin" / "python")  # not `uv run`: no sync
    assert present.name.endswith("(managed by uv)")


def test_poetry_and_hatch_projects_without_their_environment_say_how_to_make_one(tmp_path: Path) -> None:
    poetry = project(tmp_path / "poetry", **{"poetry.lock": "", "pyproject.toml": "[tool.poetry]\nname = 'p'\n"})
    problem = detect_project_env(poetry, environ=NO_TOOLS).problem
    assert problem.startswith("test environment missing: run `poetry config virtualenvs.in-project true --local "
                              "&& poetry install`, or set test_python to the folder `poetry env info --path` prints")
    hatch = project(tmp_path / "hatch", **{"pyproject.toml": "[tool.hatch.envs.default]\n"})
    assert "`hatch env find`" in detect_project_env(hatch, environ=NO_TOOLS).problem
    # a poetry.lock in a project that is not a poetry project is no evidence of poetry
    stray = project(tmp_path / "stray", **{"poetry.lock": ""})
    assert detect_project_env(stray, environ=NO_TOOLS).command[0] == sys.executable


def test_tox_env_with_pytest_is_used_when_it_is_the_only_one(tmp_path: Path) -> None:
    root = project(tmp_path / "p", **{"tox.ini": "[tox]\nenvlist = py311\n"})
    fake_venv(root / ".tox" / "py311")
    fake_venv(root / ".tox" / "lint", pytest_installed=False)
    assert detect_project_env(root, environ=NO_TOOLS).command[0] == str(root.resolve() / ".tox/py311/bin/python")


def test_configured_command_and_python_win(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    fake_venv(root / ".venv")
    chosen = detect_project_env(root, configured="make test", environ=NO_TOOLS)
    assert chosen.command == ["make", "test"] and chosen.name == "configured test_command"
    other = tmp_path / "elsewhere"
    fake_venv(other)
    chosen = detect_project_env(root, test_python=str(other / "bin" / "python"), environ=NO_TOOLS)
    assert chosen.command[0] == str(other / "bin" / "python") and chosen.name == "configured test_python"


def test_venv_without_pytest_is_a_problem_unless_it_sees_system_packages(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    fake_venv(root / ".venv", pytest_installed=False)
    assert "pytest is not installed" in detect_project_env(root, environ=NO_TOOLS).problem
    other = project(tmp_path / "q")
    fake_venv(other / ".venv", pytest_installed=False, system_site=True)
    assert detect_project_env(other, environ=NO_TOOLS).problem is None


def test_venv_in_the_worktree_is_never_used(tmp_path: Path) -> None:
    """A patch can add files to the worktree, an 'interpreter' among them; only the user's checkout counts."""
    user = project(tmp_path / "user")
    worktree = project(tmp_path / "wt")
    fake_venv(worktree / ".venv")
    assert detect_project_env(worktree, user, user, environ=NO_TOOLS).command[0] == sys.executable


def test_subproject_finds_the_repo_root_venv_and_maps_editable_installs(tmp_path: Path) -> None:
    repo, wt = tmp_path / "repo", tmp_path / "wt"
    sub, wt_sub = project(repo / "services" / "api"), project(wt / "services" / "api")
    (wt_sub / "src" / "api").mkdir(parents=True)
    (wt / "shared").mkdir()
    site = fake_venv(repo / ".venv")
    (site / "__editable___api_0_1_finder.py").write_text(
        f"MAPPING = {{'api': {str(sub / 'src' / 'api')!r}}}\nNAMESPACES = {{}}\n")
    (site / "shared.pth").write_text(f"# a comment\nimport os\n{repo / 'shared'}\n/usr/lib/elsewhere\n")
    chosen = detect_project_env(wt_sub, sub, repo, environ=NO_TOOLS)
    assert chosen.command[0] == str(repo.resolve() / ".venv" / "bin" / "python")
    assert chosen.python_path == (str(wt.resolve() / "shared"), str(wt_sub.resolve() / "src"))
    merged = chosen.run_env({"PYTHONPATH": "/x"})
    assert merged["PYTHONPATH"].split(":") == [str(wt.resolve() / "shared"), str(wt_sub.resolve() / "src"), "/x"]


def test_broken_baseline_names_the_environment_and_what_to_configure() -> None:
    log = ("ImportError while importing test module '/w/tests/test_a.py'.\n"
           "E   ModuleNotFoundError: No module named 'requests'\n")
    run = TestRun(ran=True, command=["/p/.venv/bin/python", "-m", "pytest"], exit_code=2, errors=1, junit_report=True,
                  failing_tests=["tests/test_a.py"], test_ids=["tests/test_a.py"], log=log,
                  environment="project virtualenv /p/.venv")
    assert baseline_problem(run, "install them") == (
        "test environment broken: the tests cannot import on the unpatched code with project virtualenv /p/.venv "
        "(ModuleNotFoundError: No module named 'requests'); the patch was not judged: install them")
    # tests that ran are not an environment problem, even when some file fails to import
    assert baseline_problem(run.model_copy(update={"passed": 1})) is None
    # a collection error of another kind keeps the general message
    other = run.model_copy(update={"log": "E   SyntaxError: invalid syntax\n"})
    assert baseline_problem(other).startswith("the tests could not be run on the unpatched code: no test executed")


def test_review_show_names_the_test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(render, "out", Console(file=buffer, width=200, highlight=False))
    baseline = TestRun(ran=True, passed=1, exit_code=0, environment="project virtualenv /p/.venv (managed by uv)")
    proposal = Proposal(id="p1", finding_id="f" * 16, kind="patch", engine="builtin",
                        validation=Validation(applied=True, baseline=baseline))
    render.show_proposal(proposal, finding(), [])
    assert "  test environment: project virtualenv /p/.venv (managed by uv)\n" in buffer.getvalue()
