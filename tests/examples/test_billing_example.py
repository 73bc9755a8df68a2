"""The bundled example app: its own suite passes, the README's planted-issue table matches the code, and the
README's expected fixes keep the suite green and make the scanners go quiet."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent.scanners import find_semgrep, run_bandit, run_semgrep
from tests.examples.billing_truth import (
    EXAMPLE,
    REFERENCE_FIXES,
    apply_reference_fixes,
    copy_example,
    planted_issues,
)


def run_example_suite(project: Path) -> tuple[int, str]:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=project, capture_output=True, text=True, timeout=120, check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


def reported(sarif: Path) -> set[tuple[str, str]]:
    log = json.loads(sarif.read_text())
    return {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for run in log["runs"]
        for r in run["results"]
    }


def test_example_is_not_a_git_repository():
    assert not (EXAMPLE / ".git").exists()


def test_example_suite_passes(tmp_path):
    project = copy_example(tmp_path / "billing")
    code, output = run_example_suite(project)
    assert code == 0, output
    passed = int(re.search(r"(\d+) passed", output).group(1))
    assert passed >= 20 and "failed" not in output and "error" not in output.lower(), output


def test_readme_table_points_at_the_code_each_fix_changes():
    issues = {issue.name: issue for issue in planted_issues()}
    assert len(issues) >= 9 and any(issue.semgrep_rule is None for issue in issues.values())
    assert set(REFERENCE_FIXES) <= set(issues)
    for name, (path, search, _) in REFERENCE_FIXES.items():
        issue = issues[name]
        assert issue.path == path
        text = (EXAMPLE / path).read_text()
        line = text[: text.index(search)].count("\n") + 1
        assert issue.first_line <= line <= issue.last_line, f"{name}: README says {issue.first_line}, code is at {line}"


def test_reference_fixes_keep_the_suite_green_and_silence_the_scanners(tmp_path):
    project = copy_example(tmp_path / "billing")
    apply_reference_fixes(project)
    code, output = run_example_suite(project)
    assert code == 0, output

    fixed = {issue for issue in planted_issues() if issue.name in REFERENCE_FIXES}
    bandit = reported(run_bandit(project, tmp_path / "bandit.sarif").sarif_path)
    still = [issue.name for issue in fixed if (issue.bandit_rule, issue.path) in bandit]
    assert still == [], f"bandit still reports: {still}"
    if find_semgrep() is None:
        pytest.skip("semgrep is not installed")
    semgrep = reported(run_semgrep(project, tmp_path / "semgrep.sarif").sarif_path)
    still = [issue.name for issue in fixed if (issue.semgrep_rule, issue.path) in semgrep]
    assert still == [], f"semgrep still reports: {still}"
