"""Real git repositories with small pytest suites, and a ValidationEnv over them, for pipeline tests."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from agent.config import Settings
from agent.models import Finding, Location
from agent.validate.env import ValidationEnv
from agent.validate.worktree import Project, find_project


def make_repo(root: Path, files: dict[str, str]) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return find_project(root)


def make_env(tmp_path: Path, project: Project, **settings) -> ValidationEnv:
    home = tmp_path / "watched-home"
    home.mkdir(exist_ok=True)
    options = {"rescan": False, "test_timeout": 60, **settings}
    return ValidationEnv(settings=Settings(**options), logs_dir=tmp_path / "logs", commit=project.head,
                         user_repo=project.git_root, watch_home=home)


def finding(path: str = "app/calc.py", line: int = 1) -> Finding:
    return Finding(id="f" * 16, tool="bandit", rule_id="B000", message="test finding",
                   location=Location(path=path, start_line=line))


def tree_state(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its content (for 'nothing outside the worktree changed')."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}
