"""A repository whose path holds `$VAR`, `${VAR}` or a folder named `~`: suture takes the path literally. GitPython
expands environment variables in str paths (and warns that doing so is deprecated), so such a repository used to be
"not a git repository", or a different one, with a warning on every command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.validate.worktree import Worktree, find_project
from tests.conftest import git
from tests.test_e2e import suture

pytestmark = pytest.mark.slow

SARIF = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "bandit"}}, "results": [
    {"ruleId": "B506", "level": "error", "message": {"text": "Use of unsafe yaml load."},
     "locations": [{"physicalLocation": {"artifactLocation": {"uri": "billing/settings.py"},
                                         "region": {"startLine": 28}}}]}]}]}


@pytest.mark.parametrize("folder", ["v$HOME", "w${PWD}x", "~"])
def test_path_with_dollar_or_tilde_is_taken_literally(example_repo: Path, tmp_path: Path, folder: str):
    repo = tmp_path / folder / "billing"
    repo.parent.mkdir()
    shutil.move(str(example_repo), repo)
    project = find_project(repo)
    assert project.git_root == repo.resolve() and len(project.head) == 40
    with Worktree(project, temp_root=tmp_path / folder) as worktree:  # a worktree under a `$`/`~` path too
        assert (worktree.path / "billing" / "settings.py").is_file()
        assert folder in str(worktree.path)

    sarif = tmp_path / "bandit.sarif"
    sarif.write_text(json.dumps(SARIF))
    runs = [suture(tmp_path, "ingest", str(sarif), "--repo", str(repo)),
            suture(tmp_path, "triage", "--repo", f"{folder}/billing"),  # relative: "~/billing" is not $HOME's
            suture(repo, "fix", "--top", "1")]
    listed = suture(repo, "review", "list", "--format", "json")
    for proc in [*runs, listed]:
        assert "deprecated" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    proposals = json.loads(listed.stdout)
    assert len(proposals) == 1 and proposals[0]["state"] == "validated", proposals
    assert git(repo, "status", "--porcelain") == ""
