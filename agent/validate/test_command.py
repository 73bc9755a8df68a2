"""Which test command a project gets, before anything runs: a configured command parsed into arguments, pytest's
default arguments, and whether a project wants pytest at all (it has Python test files or pytest configuration).
Decided from files alone. The runner (runner.py) and the environment choice (project_env.py) both build on it.
"""

from __future__ import annotations

import os
import shlex
import tomllib
from collections.abc import Sequence
from pathlib import Path

from agent.code.path_kind import is_test_module
from agent.errors import SutureError

PYTEST_DEFAULT_ARGS = ("-q", "-p", "no:cacheprovider")
_SKIP_DIRS = {"node_modules", "__pycache__", "site-packages", "venv", "env", "build", "dist"}
_MAX_DIRS_SCANNED = 5000


class TestCommandError(SutureError):
    """A configured test command that cannot be parsed."""

    __test__ = False


def parse_test_command(command: str | Sequence[str]) -> list[str]:
    """Turn a configured command (list, or shell-like string split with shlex) into an argument list."""
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise TestCommandError(f"test command {command!r} cannot be parsed: {exc}") from exc
    else:
        argv = [str(part) for part in command]
    if not argv or not argv[0].strip():
        raise TestCommandError("test command is empty")
    return argv


def wants_pytest(project_dir: Path) -> bool:
    """True for a project that has Python test files or pytest configuration."""
    project_dir = Path(project_dir)
    return _has_pytest_config(project_dir) or _has_test_files(project_dir)


def _has_pytest_config(project_dir: Path) -> bool:
    if (project_dir / "pytest.ini").is_file() or (project_dir / "conftest.py").is_file():
        return True
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        try:
            tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
            tool = {}
        if isinstance(tool, dict) and "pytest" in tool:
            return True
    for name, section in (("setup.cfg", "[tool:pytest]"), ("tox.ini", "[pytest]")):
        path = project_dir / name
        if path.is_file() and _has_ini_section(path, section):
            return True
    return False


def _has_ini_section(path: Path, section: str) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(line.strip() == section for line in text.splitlines())


def _has_test_files(project_dir: Path) -> bool:
    for name in ("tests", "test"):
        folder = project_dir / name
        if folder.is_dir() and any(folder.rglob("*.py")):
            return True
    for scanned, (_root, dirs, files) in enumerate(os.walk(project_dir), start=1):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        if any(_is_test_file(name) for name in files):
            return True
        if scanned >= _MAX_DIRS_SCANNED:
            return False
    return False


def _is_test_file(name: str) -> bool:
    """A Python test module pytest collects (agent.code.path_kind.is_test_module)."""
    return name.endswith(".py") and is_test_module(name)
