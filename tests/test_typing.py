"""agent/ type-checks clean under mypy with the project's configuration ([tool.mypy] in pyproject.toml).

The check runs mypy as a subprocess from the repository root, so it reads exactly the configuration a developer's
`python -m mypy` reads (packages, excludes, per-module overrides). The incremental cache lives in the repository's
`.mypy_cache/` (git-ignored): a cold run takes about a minute of CPU, a warm one a few seconds.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


# A cold cache on a busy 2-core machine has taken minutes; the suite-wide 300 s would cut it off.
@pytest.mark.slow  # a cold cache (every CI run) takes minutes: CI runs it with the other slow tests
@pytest.mark.timeout(900)
def test_agent_type_checks_clean_under_mypy() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO_ROOT / "pyproject.toml"),
         "--cache-dir", str(REPO_ROOT / ".mypy_cache"), "--no-color-output", "--no-error-summary"],
        check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=880,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    code = result.returncode  # 1: type errors; 2: mypy itself could not run (bad configuration, crash)
    assert code == 0, (
        f"mypy exited {code} with {len(errors)} error(s):\n"
        + "\n".join(errors or [result.stdout[-4000:], result.stderr[-4000:]])
    )
