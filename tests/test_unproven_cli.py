"""A project with no tests, through the real `suture` entry point: a correct builtin fix is *unproven* (not failed),
approvable without --override, and says "no test covers this change" in review show, the exported commit, the PR
text and SARIF; a finding no fixer handles leaves no proposal at all (a finding without a draft)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git
from tests.test_e2e import find, suture

pytestmark = pytest.mark.slow

NO_TESTS = "no test covers this change"


@pytest.fixture
def untested(tmp_path: Path) -> Path:
    repo = tmp_path / "untested"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "__init__.py").write_text("")
    (repo / "app" / "config.py").write_text(
        "import yaml\n\n\ndef read_config(text):\n    return yaml.load(text, Loader=yaml.Loader)\n")
    (repo / "app" / "checks.py").write_text("def positive(n):\n    assert n > 0\n    return n\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "initial")
    return repo


def test_no_tests_gives_an_honest_unproven_fix_and_no_fixer_gives_no_proposal(untested: Path) -> None:
    suture(untested, "scan", "--tool", "bandit")
    rows = json.loads(suture(untested, "triage", "--format", "json").stdout)
    yaml_finding = find(rows, "bandit", "B506", "app/config.py")
    assert_finding = find(rows, "bandit", "B101", "app/checks.py")

    fixed = json.loads(suture(untested, "fix", "--finding", yaml_finding["id"], "--format", "json").stdout)
    assert [p["state"] for p in fixed] == ["unproven"]
    assert fixed[0]["summary"].startswith(NO_TESTS)
    pid = fixed[0]["id"]
    shown = suture(untested, "review", "show", pid).stdout
    assert "unproven" in shown and NO_TESTS in shown

    # approvable as it is: no --override, no reason needed
    suture(untested, "review", "approve", pid, "--reviewer", "Ann Reviewer")
    suture(untested, "export", pid, "--to", "patch")
    exports = untested / ".suture" / "exports"
    patch = next(exports.glob("suture-*.patch")).read_text()
    assert f"UNPROVEN: {NO_TESTS}" in patch and "OVERRIDE" not in patch
    pr = next(exports.glob("*-pr.md")).read_text()
    assert f"**Unproven:** {NO_TESTS}" in pr
    sarif = json.loads(suture(untested, "sarif").stdout)
    fixes = [fx for run in sarif["runs"] for r in run["results"] for fx in r.get("fixes", [])]
    assert len(fixes) == 1 and fixes[0]["properties"]["suture/validation"] == "unproven"
    assert f"UNPROVEN: {NO_TESTS}" in fixes[0]["description"]["text"]

    # no builtin fixer handles B101: a finding without a draft, never a failed proposal in the queue
    drafted = suture(untested, "fix", "--finding", assert_finding["id"])
    assert "no draft" in drafted.stdout + drafted.stderr
    queue = json.loads(suture(untested, "review", "list", "--format", "json").stdout)
    assert [p["finding_id"] for p in queue] == [yaml_finding["id"]]
    assert not [p for p in queue if p["state"] == "failed"]
