"""Which Python environment runs a project's tests: the configured command, the project's own virtualenv, or
(when the project has none) suture's interpreter. Decided from files alone; nothing is executed or installed.

Handles Python projects on POSIX layouts (`bin/python`). The rules, in order:
- a configured `test_command` always wins;
- a configured `test_python` (a virtualenv folder or an interpreter path) is used as given;
- an in-project virtualenv (`.venv`, `venv`, `env` holding a pyvenv.cfg) in the user's project folder or a
  parent up to the repository root; uv and poetry (in-project mode) keep theirs in `.venv`, tox in `.tox/<env>`;
- a uv, poetry or hatch project whose environment is not there gets a "test environment missing" problem
  naming the command to create it; suture never creates or syncs one (that could reach the network);
- otherwise suture's own interpreter.
A tool-managed environment is always run through its interpreter, never through `uv run`, `poetry run`,
`hatch run` or `tox -e`: those key the environment on the folder they run in (the worktree, for which none
exists), may sync it over the network, and inside the sandbox see a fresh, empty HOME.

The virtualenv lives in the user's checkout, not in the worktree (it is untracked), so the run uses it from
there, read-only. Editable installs in it (.pth entries, setuptools' __editable__ finders, .egg-link files) point
at the user's checkout; their folders inside the repository are mapped to the same folders of the worktree and
put first on sys.path (PYTHONPATH), so the patched code is what the tests import.
"""

from __future__ import annotations

import ast
import configparser
import os
import shutil
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent.code.pyparse import parse_python
from agent.validate.test_command import PYTEST_DEFAULT_ARGS as PYTEST_ARGS
from agent.validate.test_command import parse_test_command, wants_pytest

VENV_NAMES = (".venv", "venv", "env")
GENERIC_HINT = "set test_command in suture.toml, or create .venv in the project with its dependencies and pytest"


@dataclass(frozen=True)
class ProjectEnv:
    """The chosen test environment: `command` (None when `problem` says why no run is possible), a `name` for
    the validation record, extra variables for the run, worktree folders to put first on sys.path, folders
    outside the worktree the run must be able to read, and `hint`: what to configure if it cannot import."""

    name: str
    command: list[str] | None
    env: dict[str, str] = field(default_factory=dict)
    python_path: tuple[str, ...] = ()
    read_only: tuple[Path, ...] = ()
    problem: str | None = None
    hint: str = GENERIC_HINT

    def run_env(self, extra: Mapping[str, str]) -> dict[str, str]:
        """`extra` (variables suture sets for a run) with this environment's variables; PYTHONPATH entries of
        both are kept, this environment's worktree folders first."""
        merged = {**extra, **self.env}
        parts = [*self.python_path, *[p for p in extra.get("PYTHONPATH", "").split(os.pathsep) if p]]
        if parts:
            merged["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
        return merged


def detect_project_env(project_dir: Path, source_dir: Path | None = None, repo_root: Path | None = None, *,
                       configured: str | Sequence[str] | None = None, test_python: str | None = None,
                       environ: Mapping[str, str] | None = None) -> ProjectEnv:
    """The test environment for the project checked out in `project_dir` (where the tests run, e.g. a worktree).

    `source_dir`: the same project in the user's checkout, where untracked virtualenvs live (default:
    `project_dir`); `repo_root`: the user's repository root (default: `source_dir`), the last folder searched
    and the one whose editable installs are mapped onto `project_dir`'s checkout. `command` is None with no
    problem when the project has no pytest tests or configuration.
    """
    project_dir = Path(project_dir)
    source = Path(source_dir or project_dir).resolve()
    root = Path(repo_root).resolve() if repo_root else source
    environ = os.environ if environ is None else environ
    if configured:
        return ProjectEnv("configured test_command", parse_test_command(configured),
                          hint="check that test_command in suture.toml runs the tests with the project's "
                               "dependencies installed")
    if not wants_pytest(project_dir):
        return ProjectEnv("none (no pytest tests or configuration found)", None)
    checkout = _checkout_root(project_dir, source, root)
    if test_python:
        return _venv_env(Path(test_python).expanduser(), "configured test_python", root, checkout)
    folders = [source, *source.parents[: len(source.relative_to(root).parts)]] if source.is_relative_to(root) \
        else [source]
    manager = _manager(source, environ)
    for folder in folders:
        for name in VENV_NAMES:
            venv = folder / name
            if (venv / "pyvenv.cfg").is_file():
                label = f"project virtualenv {venv}" + (f" (managed by {manager[0]})" if manager else "")
                return _venv_env(venv, label, root, checkout)
    tox = _tox_env(source)
    if tox is not None:
        return _venv_env(tox, f"tox environment {tox}", root, checkout)
    if manager:
        tool, create = manager
        return ProjectEnv(f"{tool} project without its environment", None,
                          problem=f"test environment missing: {create} in {source} (suture does not create "
                                  "or sync environments), or set test_python or test_command in suture.toml")
    return ProjectEnv(f"suture's own interpreter {sys.executable} (no project virtualenv found)",
                      [sys.executable, "-m", "pytest", *PYTEST_ARGS])


def _checkout_root(project_dir: Path, source: Path, root: Path) -> Path:
    """The folder of `project_dir`'s checkout that corresponds to the user's `root`."""
    try:
        depth = len(source.relative_to(root).parts)
    except ValueError:
        return project_dir.resolve()
    checkout = project_dir.resolve()
    for _ in range(depth):
        checkout = checkout.parent
    return checkout


def _manager(source: Path, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(tool, how to create its environment) for a uv, poetry or hatch project; None for none of them."""
    tool = _pyproject_tool(source)
    if (source / "uv.lock").is_file():
        return "uv", "run `uv sync`" if shutil.which("uv", path=environ.get("PATH")) else "install uv and run `uv sync`"
    if (source / "poetry.lock").is_file() and "poetry" in tool:
        return "poetry", ("run `poetry config virtualenvs.in-project true --local && poetry install`, or set "
                          "test_python to the folder `poetry env info --path` prints")
    if "hatch" in tool or (source / "hatch.toml").is_file():
        return "hatch", "set test_python to the folder `hatch env find` prints (after `hatch env create`)"
    return None


def _pyproject_tool(source: Path) -> dict:
    try:
        tool = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8")).get("tool", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    return tool if isinstance(tool, dict) else {}


def _tox_env(source: Path) -> Path | None:
    """The one tox environment under `.tox` that has pytest (several or none: None)."""
    tox = source / ".tox"
    if not tox.is_dir():
        return None
    found = [d for d in sorted(tox.iterdir()) if (d / "pyvenv.cfg").is_file() and _has_pytest(d)]
    return found[0] if len(found) == 1 else None


def _venv_env(path: Path, label: str, root: Path, checkout: Path) -> ProjectEnv:
    """A virtualenv folder (or an interpreter inside one) as the test environment, checked from its files."""
    venv = path.parent.parent if path.name.startswith("python") and path.parent.name == "bin" else path
    python = venv / "bin" / "python"
    hint = (f"install the project's dependencies into {venv} (e.g. `{python} -m pip install -e .`), or set "
            "test_command in suture.toml")
    if not (venv / "pyvenv.cfg").is_file():
        if path.is_file() and os.access(path, os.X_OK):  # a plain interpreter, not a virtualenv
            return ProjectEnv(f"{label} {path}", [str(path), "-m", "pytest", *PYTEST_ARGS], hint=hint)
        return ProjectEnv(label, None, problem=f"test environment broken: {venv} is not a virtualenv (no "
                                               "pyvenv.cfg); " + GENERIC_HINT)
    if not os.access(python, os.X_OK):
        return ProjectEnv(label, None, problem=f"test environment broken: {python} is missing or points to an "
                                               f"interpreter that no longer exists; recreate {venv}")
    config = _pyvenv_cfg(venv)
    if not _has_pytest(venv) and config.get("include-system-site-packages", "false").lower() != "true":
        return ProjectEnv(label, None, hint=hint, problem=(
            f"test environment incomplete: pytest is not installed in {venv}; install it there "
            f"(`{python} -m pip install pytest`) or set test_command in suture.toml"))
    mapped = _editable_folders(venv, root, checkout)
    name = label + (f"; editable install of your checkout, the worktree's {', '.join(mapped[1]) or '.'} "
                    "put first on sys.path" if mapped[0] else "")
    base = Path(os.path.realpath(python)).parent.parent
    return ProjectEnv(
        name, [str(python), "-m", "pytest", *PYTEST_ARGS], hint=hint,
        env={"VIRTUAL_ENV": str(venv), "PATH": os.pathsep.join([str(venv / "bin"), os.environ.get("PATH", "")])},
        python_path=tuple(mapped[0]), read_only=(venv.resolve(), base))


def _pyvenv_cfg(venv: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string("[venv]\n" + (venv / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace"))
    except configparser.Error:
        return {}
    return dict(parser["venv"])


def _site_packages(venv: Path) -> list[Path]:
    return sorted(venv.glob("lib/python3*/site-packages")) + sorted(venv.glob("lib64/python3*/site-packages"))


def _has_pytest(venv: Path) -> bool:
    return any((sp / "pytest" / "__init__.py").is_file() for sp in _site_packages(venv))


def _editable_folders(venv: Path, root: Path, checkout: Path) -> tuple[list[str], list[str]]:
    """(worktree folders, their paths relative to the repository) for the venv's editable installs of `root`."""
    entries: list[Path] = []
    for sp in _site_packages(venv):
        for pth in sorted(sp.glob("*.pth")) + sorted(sp.glob("*.egg-link")):
            for line in _lines(pth)[: 1 if pth.suffix == ".egg-link" else None]:
                if line and not line.startswith(("#", "import ", "import\t")):
                    entries.append(Path(line) if os.path.isabs(line) else sp / line)
        for finder in sorted(sp.glob("__editable__*finder.py")):
            entries += [Path(p).parent for p in _finder_mapping(finder)]
    folders: list[str] = []
    rels: list[str] = []
    for entry in entries:
        try:
            rel = Path(os.path.normpath(entry)).relative_to(root)
        except ValueError:
            continue
        target = checkout / rel
        if target.is_dir() and str(target) not in folders:
            folders.append(str(target))
            rels.append(rel.as_posix() if rel.parts else ".")
    return folders, rels


def _lines(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return []


def _finder_mapping(finder: Path) -> list[str]:
    """The package paths of a setuptools editable finder's `MAPPING = {...}` (read, never executed)."""
    try:
        tree = parse_python(finder.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "MAPPING" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return []
            return [v for v in value.values() if isinstance(v, str)] if isinstance(value, dict) else []
    return []
