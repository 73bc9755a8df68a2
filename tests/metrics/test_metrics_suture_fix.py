"""The metrics of a fix suture made, end to end with the real pipeline: a finding backfilled ten days ago, fixed by
the builtin engine (validated in a worktree), approved by a named reviewer, exported as a branch, merged into main
by git, then gone from the next full scan. `suture metrics` must count it as fixed by suture, with one proposal
approved, exported and merged, and the merge recorded once."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from agent.models import utcnow
from tests.conftest import EXAMPLE, git
from tests.test_e2e import suture
from tests.web.conftest import sarif

pytestmark = pytest.mark.slow


def test_a_merged_suture_fix_is_counted_as_fixed_by_suture_and_merged(tmp_path: Path):
    repo = tmp_path / "billing"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".suture", "__pycache__", ".pytest_cache"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Rita Reviewer")
    git(repo, "config", "user.email", "rita@example.com")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    before, after = tmp_path / "before.sarif", tmp_path / "after.sarif"
    before.write_text(json.dumps(sarif([("B602", "shell=True", "billing/exports.py", 36)])))
    after.write_text(json.dumps(sarif([])))
    seen = (utcnow() - timedelta(days=10)).replace(microsecond=0)
    suture(repo, "ingest", str(before), "--at", seen.isoformat())
    [made] = json.loads(suture(repo, "fix", "--top", "1", "--format", "json").stdout)
    assert made["state"] == "validated", made
    pid = made["id"]
    suture(repo, "review", "approve", pid, "--reviewer", "Rita Reviewer <rita@example.com>")
    [exported] = json.loads(suture(repo, "export", pid, "--format", "json").stdout)
    git(repo, "merge", "-q", "--no-edit", exported["branch"])
    suture(repo, "ingest", str(after))  # now: the finding is gone from a full scan

    report = json.loads(suture(repo, "metrics", "--format", "json").stdout)
    assert report["merged_now"] == [pid]
    assert report["fixed_by"] == {"suture": 1, "manual": 0}
    [row] = report["proposals"]
    assert (row["proposals"], row["approved"], row["exported"], row["merged"], row["merge_rate"]) == (1, 1, 1, 1, 1.0)
    assert row["group"]["engine"].startswith("builtin")
    # the proposal came ten days after the finding was first seen (minus the minutes this test took)
    assert report["time_to_first_proposal"]["count"] == 1 and 9.9 < report["time_to_first_proposal"]["median"] <= 10.1
    assert report["time_to_first_review"]["count"] == 1
    [mttr] = report["mttr"]
    assert mttr["fixed"] == 1 and 9.9 < mttr["days"]["mean"] <= 10.1
    again = json.loads(suture(repo, "metrics", "--format", "json").stdout)
    assert again["merged_now"] == [] and again["proposals"][0]["merged"] == 1  # recorded once, still counted
