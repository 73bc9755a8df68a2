"""The re-scan that says "finding gone" is a judge the patch must not sway: a patch cannot silence its finding
with an inline suppression comment, cannot ship scanner configuration, and a re-scan that could not read the
patched file (bandit reports a syntax error as a notification in a "successful" run) is no evidence at all.
Real bandit over real git worktrees."""

from __future__ import annotations

import pytest

from agent.errors import SutureError
from agent.models import Edit, Finding, Location
from agent.validate.pipeline import rescan_files, validate_patch
from agent.validate.worktree import Worktree
from tests.validate.helpers import make_env, make_repo

SHELL = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
BASE = {
    "app/__init__.py": "",
    "app/shell.py": SHELL,
    "app/calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": "from app.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


def _finding() -> Finding:
    return Finding(id="a" * 16, tool="bandit", rule_id="B602", message="subprocess call with shell=True",
                   location=Location(path="app/shell.py", start_line=5), severity="high")


def _validate(tmp_path, edits):
    project = make_repo(tmp_path / "repo", BASE)
    env = make_env(tmp_path, project, rescan=True)
    with Worktree(project) as wt:
        validation, _ = validate_patch(env, wt.project_path, _finding(), edits, "case")
    return validation


def test_a_nosec_comment_does_not_make_the_finding_gone(tmp_path):
    edit = Edit(path="app/shell.py", search="    return subprocess.call(cmd, shell=True)\n",
                replace="    return subprocess.call(cmd, shell=True)  # nosec\n")
    validation = _validate(tmp_path, [edit])
    assert validation.finding_gone is False
    assert not validation.passed


def test_scanner_configuration_is_not_the_patch_to_change(tmp_path):
    edits = [Edit(path=".bandit", search="", replace="[bandit]\nskips = B602\n")]
    validation = _validate(tmp_path, edits)
    assert not validation.applied
    assert "scanner configuration" in (validation.apply_error or "")


def test_a_patch_that_breaks_the_file_is_not_gone_on_rescan(tmp_path):
    # no test imports app/shell.py, so only the checks before the tests and the re-scan stand in the way
    edit = Edit(path="app/shell.py", search="    return subprocess.call(cmd, shell=True)\n",
                replace="    return subprocess.call(cmd, shell=True\n")
    validation = _validate(tmp_path, [edit])
    assert validation.finding_gone is not True
    assert not validation.passed


def test_a_rescan_that_could_not_read_a_file_is_no_evidence(tmp_path):
    project = make_repo(tmp_path / "repo", {**BASE, "app/shell.py": SHELL.replace("shell=True)", "shell=True")})
    env = make_env(tmp_path, project, rescan=True)
    with pytest.raises(SutureError, match="re-scan with bandit is not evidence: .*syntax error"):
        rescan_files(env, "bandit", project.path, ["app/shell.py"], tag="patched")


@pytest.mark.parametrize("level, closes", [("error", False), ("warning", True)])
def test_an_error_notification_keeps_a_run_from_closing_findings(level, closes):
    from agent.ingest.closing import run_failure

    run = {"results": [], "invocations": [{"executionSuccessful": True, "toolConfigurationNotifications": [
        {"level": level, "message": {"text": "syntax error while parsing AST from file"}}]}]}
    reason = run_failure(run, 1, "bandit")
    assert (reason is None) is closes
    if not closes:
        assert "syntax error while parsing AST" in reason
