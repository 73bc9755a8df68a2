"""CRLF files survive a fix and every export: the proposal's diff, the `.patch` file (`git apply --check` and `git am`
succeed on the base commit) and the exported branch's commit all keep each line's CR. The patch export used to read
`git format-patch` through universal newlines, which dropped every CR, so the patch no longer applied."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git
from tests.test_e2e import suture

pytestmark = pytest.mark.slow

SARIF = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "bandit"}}, "results": [
    {"ruleId": "B506", "level": "error", "message": {"text": "Use of unsafe yaml load."},
     "locations": [{"physicalLocation": {"artifactLocation": {"uri": "billing/settings.py"},
                                         "region": {"startLine": 28}}}]}]}]}


def crlf_lines(data: bytes) -> tuple[int, int]:
    """(lines ending in CRLF, lines ending in a bare LF)."""
    crlf = data.count(b"\r\n")
    return crlf, data.count(b"\n") - crlf


def test_crlf_file_fixed_and_exported_keeps_crlf(example_repo: Path, tmp_path: Path):
    settings = example_repo / "billing" / "settings.py"
    settings.write_bytes(settings.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    git(example_repo, "-c", "core.autocrlf=false", "commit", "-qam", "settings.py with CRLF line endings")
    base = git(example_repo, "rev-parse", "HEAD").strip()
    lines = crlf_lines(settings.read_bytes())
    assert lines[0] > 20 and lines[1] == 0

    sarif = tmp_path / "bandit.sarif"
    sarif.write_text(json.dumps(SARIF))
    suture(example_repo, "ingest", str(sarif))
    suture(example_repo, "fix", "--top", "1")
    [proposal] = json.loads(suture(example_repo, "review", "list", "--format", "json").stdout)
    assert proposal["state"] == "validated", proposal
    short = proposal["id"][:8]
    suture(example_repo, "review", "approve", short, "--reviewer", "Alice Example")
    out = tmp_path / "out"
    suture(example_repo, "export", short, "--to", "patch", "--out", str(out))
    [patch] = out.glob("*.patch")
    assert b"\r\n" in patch.read_bytes()

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(example_repo), str(clone))
    git(clone, "checkout", "-q", base)
    check = subprocess.run(["git", "apply", "--check", str(patch)], cwd=clone, capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stderr
    git(clone, "-c", "user.name=t", "-c", "user.email=t@example.com", "am", "-q", "--keep-cr", str(patch))
    fixed = (clone / "billing" / "settings.py").read_bytes()
    assert b"yaml.load(text, Loader=yaml.Loader)" not in fixed
    assert crlf_lines(fixed)[1] == 0 and crlf_lines(fixed)[0] >= lines[0]

    suture(example_repo, "export", short, "--to", "branch")
    branch = f"suture/{proposal['id'][:8]}"
    blob = subprocess.run(["git", "show", f"{branch}:billing/settings.py"], cwd=example_repo, capture_output=True,
                          check=True).stdout
    assert blob == fixed
