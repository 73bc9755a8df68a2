"""suture's own Semgrep pack: rule metadata is complete, and every rule passes its annotated test file."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from agent.scanners import DEFAULT_SEMGREP_RULES, find_semgrep, semgrep_environment

RULE_FILES = sorted(DEFAULT_SEMGREP_RULES.glob("*.yml"))
TEST_FILES = sorted((DEFAULT_SEMGREP_RULES / "tests").glob("*.py"))
RULES = [rule for path in RULE_FILES for rule in yaml.safe_load(path.read_text())["rules"]]
CWE = re.compile(r"^CWE-\d+: \S.*$")


def test_pack_is_present():
    assert RULE_FILES and TEST_FILES
    assert len(RULES) >= 12


@pytest.mark.parametrize("rule", RULES, ids=[rule["id"] for rule in RULES])
def test_rule_metadata_is_complete(rule):
    assert re.fullmatch(r"python-[a-z0-9-]+", rule["id"])
    assert rule["languages"] == ["python"]
    assert rule["severity"] in {"ERROR", "WARNING", "INFO"}
    assert len(rule["message"]) > 40
    meta = rule["metadata"]
    assert meta["category"] == "security"
    assert meta["confidence"] in {"HIGH", "MEDIUM", "LOW"}
    assert meta["cwe"] and all(CWE.match(cwe) for cwe in meta["cwe"]), meta["cwe"]
    assert meta["references"] and all(ref.startswith("https://") for ref in meta["references"])


def test_rule_ids_are_unique_and_each_has_positive_and_negative_tests():
    ids = [rule["id"] for rule in RULES]
    assert len(ids) == len(set(ids))
    annotations = "\n".join(path.read_text() for path in TEST_FILES)
    for rule_id in ids:
        assert re.search(rf"#\s*ruleid:.*\b{rule_id}\b", annotations), f"no `# ruleid:` test for {rule_id}"
        assert re.search(rf"#\s*ok:.*\b{rule_id}\b", annotations), f"no `# ok:` test for {rule_id}"


@pytest.mark.skipif(find_semgrep() is None, reason="semgrep is not installed")
@pytest.mark.slow  # end-to-end; CI runs it with -m slow
def test_semgrep_test_mode_passes(tmp_path):
    # Semgrep's test mode pairs rule files with test files by relative path and name, so every test file
    # gets its own copy of each rule file: rules/<pack>/<name>.yml <-> tests/<pack>/<name>.py.
    for rule_file in RULE_FILES:
        (tmp_path / "rules" / rule_file.stem).mkdir(parents=True)
        (tmp_path / "tests" / rule_file.stem).mkdir(parents=True)
        for test_file in TEST_FILES:
            shutil.copy(rule_file, tmp_path / "rules" / rule_file.stem / f"{test_file.stem}.yml")
            shutil.copy(test_file, tmp_path / "tests" / rule_file.stem / test_file.name)
    command = [find_semgrep(), "scan", "--test", "--metrics=off", "--disable-version-check", "--config", "rules"]
    completed = subprocess.run(
        [*command, "tests"],
        cwd=tmp_path, env=semgrep_environment(), capture_output=True, text=True, timeout=300, check=False,
    )
    report = completed.stdout + completed.stderr
    assert completed.returncode == 0, report
    assert "All tests passed" in report, report
