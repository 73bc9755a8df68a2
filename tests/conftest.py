"""Shared test setup: no network, no real model, a git identity, and paths to the shared real-world data."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.store_backends import pg_server, store_url  # noqa: F401 - fixtures: every store backend (SQLite, PostgreSQL)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT / "tests" / "data" / "shared"  # copies of ../shared, with their MANIFESTs


@pytest.fixture(autouse=True, scope="session")
def _hermetic_environment():
    """Tests never reach a real model nor a real store: provider keys and SUTURE_STORE are removed, and litellm
    reads its local cost map."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.endswith("_API_KEY") or name in ("SUTURE_API_BASE", "SUTURE_MODEL", "OPENAI_BASE_URL", "SUTURE_STORE"):
            os.environ.pop(name)
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.environ.setdefault("GIT_AUTHOR_NAME", "Test Author")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "author@example.com")
    os.environ.setdefault("GIT_COMMITTER_NAME", "Test Author")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "author@example.com")
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return SHARED


EXAMPLE = REPO_ROOT / "examples" / "billing"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """A fresh git repository holding a copy of examples/billing, one commit on `main`."""
    target = tmp_path / "billing"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".suture", "__pycache__", ".pytest_cache"))
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "initial")
    return target
