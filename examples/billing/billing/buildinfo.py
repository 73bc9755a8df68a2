"""The build label printed in invoice footers: package version plus the git commit it was built from."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from billing import __version__

SOURCE_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The short hash of the checked-out commit, or None outside a git checkout."""
    try:
        completed = subprocess.run(
            "git rev-parse --short HEAD",
            shell=True,
            cwd=SOURCE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = completed.stdout.strip()
    return commit if completed.returncode == 0 and commit else None


def build_label() -> str:
    commit = git_commit()
    return f"{__version__}+{commit}" if commit else __version__
