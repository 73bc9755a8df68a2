"""Every command through the real `suture` entry point on temporary copies of examples/billing, and bad input:
each bad input gives one line on stderr and exit code 2, never a traceback, and leaves the store consistent."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, git
from tests.test_e2e import find, suture

pytestmark = pytest.mark.slow


@pytest.fixture
def repo(example_repo: Path) -> Path:
    return example_repo


def one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_run_is_the_main_job(repo: Path):
    proc = suture(repo, "run", "--top", "3", env={"SUTURE_SCANNERS": "bandit"})
    assert "Review queue" in proc.stdout and "validated" in proc.stdout
    assert "bandit" in proc.stderr
    listed = json.loads(suture(repo, "review", "list", "--format", "json").stdout)
    assert len(listed) == 3
    assert (repo / ".suture" / "suture.db").is_file()
    exclude = (repo / ".git" / "info" / "exclude").read_text()
    assert ".suture/" in exclude
    assert git(repo, "status", "--porcelain") == ""


def test_ingest_twice_changes_nothing_and_skips_missing_files(repo: Path, tmp_path: Path):
    sarif = {
        "version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "CodeQL", "rules": [
            {"id": "py/command-line-injection", "properties": {"tags": ["security", "external/cwe/cwe-078"],
                                                               "security-severity": "9.8"}}]}},
                  "results": [
                      {"ruleId": "py/command-line-injection", "ruleIndex": 0, "message": {"text": "cmd"},
                       "locations": [{"physicalLocation": {"artifactLocation": {
                           "uri": "billing/exports.py", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 36}}}]},
                      {"ruleId": "py/command-line-injection", "ruleIndex": 0, "message": {"text": "gone"},
                       "locations": [{"physicalLocation": {"artifactLocation": {
                           "uri": "billing/not_there.py"}, "region": {"startLine": 3}}}]},
                  ]}],
    }
    path = tmp_path / "codeql.sarif"
    path.write_text(json.dumps(sarif))
    first = json.loads(suture(repo, "ingest", str(path), "--format", "json").stdout)
    assert first[0]["new"] == 1 and len(first[0]["skipped"]) == 1
    assert "not_there.py" in first[0]["skipped"][0]["reason"]
    second = json.loads(suture(repo, "ingest", str(path), "--format", "json").stdout)
    assert second[0]["duplicate"] is True and second[0]["new"] == 0
    rows = json.loads(suture(repo, "triage", "--format", "json").stdout)
    assert len(rows) == 1 and rows[0]["severity"] == "critical" and rows[0]["cwe"] == [78]


def test_triage_csv_and_review_reject(repo: Path):
    suture(repo, "scan", "--tool", "bandit")
    csv_out = suture(repo, "triage", "--format", "csv", "--top", "3").stdout.splitlines()
    assert csv_out[0].startswith("rank,score,id") and len(csv_out) == 4
    rows = json.loads(suture(repo, "triage", "--format", "json").stdout)
    tar = find(rows, "bandit", "B202", "billing/statements.py")
    pid = json.loads(suture(repo, "fix", "--finding", tar["id"], "--format", "json").stdout)[0]["id"]
    no_reason = suture(repo, "review", "reject", pid, "--reviewer", "Q", expect=2)
    assert "--reason" in no_reason.stderr
    suture(repo, "review", "reject", pid, "--reviewer", "Quinn", "--reason", "prefer an allowlist")
    shown = json.loads(suture(repo, "review", "show", pid, "--format", "json").stdout)
    assert shown["proposal"]["state"] == "rejected"
    assert shown["history"][-1]["comment"] == "prefer an allowlist"
    again = suture(repo, "review", "approve", pid, "--reviewer", "Quinn", expect=2)
    assert "rejected" in one_line_error(again)


def test_bad_sarif_inputs(repo: Path, tmp_path: Path):
    bad_json = tmp_path / "bad.sarif"
    bad_json.write_text('{"version": "2.1.0", "runs": [')
    assert "JSON" in one_line_error(suture(repo, "ingest", str(bad_json), expect=2))
    old = tmp_path / "old.sarif"
    old.write_text(json.dumps({"version": "1.0.0", "runs": []}))
    assert "1.0.0" in one_line_error(suture(repo, "ingest", str(old), expect=2))
    missing = one_line_error(suture(repo, "ingest", str(tmp_path / "nope.sarif"), expect=2))
    assert "no such file" in missing
    db = repo / ".suture" / "suture.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from findings").fetchone()[0] == 0
        assert conn.execute("select count(*) from scans").fetchone()[0] == 0


def test_repository_problems(tmp_path: Path):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert "not a git repository" in one_line_error(suture(plain, "triage", expect=2))
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert "commit" in one_line_error(suture(empty, "triage", expect=2))
    assert "no such directory" in one_line_error(suture(tmp_path, "scan", str(tmp_path / "nowhere"), expect=2))


def test_dirty_tree_warns_and_works_from_head(repo: Path):
    exports = repo / "billing" / "exports.py"
    exports.write_text(exports.read_text() + "\n# local edit\n")
    proc = suture(repo, "scan", "--tool", "bandit")
    assert "uncommitted changes" in proc.stderr
    rows = json.loads(suture(repo, "triage", "--format", "json").stdout)
    shell = find(rows, "bandit", "B602", "billing/exports.py")
    out = json.loads(suture(repo, "fix", "--finding", shell["id"], "--format", "json").stdout)
    assert out[0]["state"] == "validated"
    assert exports.read_text().endswith("# local edit\n"), "the user's edit is untouched"


def test_hanging_test_suite_fails_the_proposal_with_reason(repo: Path):
    hang = repo / "tests" / "test_hang.py"
    hang.write_text("import os, time\n\ndef test_hang():\n"
                    "    if os.environ.get('SUTURE_HANG_ONLY_WHEN_PATCHED') or True:\n        time.sleep(600)\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a hanging test")
    suture(repo, "scan", "--tool", "bandit")
    rows = json.loads(suture(repo, "triage", "--format", "json").stdout)
    tls = find(rows, "bandit", "B501", "billing/payments.py")
    out = json.loads(suture(repo, "fix", "--finding", tls["id"], "--format", "json",
                            env={"SUTURE_TEST_TIMEOUT": "4"}).stdout)
    assert out[0]["state"] == "failed"
    assert "timed out" in out[0]["summary"]


def test_usage_errors(repo: Path):
    assert "--top or --finding" in one_line_error(suture(repo, "fix", "--top", "2", "--finding", "abc", expect=2))
    assert "no finding" in one_line_error(suture(repo, "fix", "--finding", "doesnotexist", expect=2))
    assert "no proposal" in one_line_error(suture(repo, "review", "show", "zzzz", expect=2))
    assert "one of them" in one_line_error(suture(repo, "export", expect=2))
    bad_cfg = repo / "suture.toml"
    bad_cfg.write_text("top = 'many'\n")
    assert "suture.toml" in one_line_error(suture(repo, "triage", expect=2))


def test_help_teaches(repo: Path):
    for command in (["--help"], ["fix", "--help"], ["review", "--help"], ["export", "--help"]):
        proc = suture(REPO_ROOT, *command)
        assert "Usage" in proc.stdout
    assert "--budget-usd" in suture(REPO_ROOT, "fix", "--help").stdout


def test_model_stopping_mid_run_still_shows_what_was_finished(repo: Path):
    """The first finding is answered (a false-positive verdict → dismissal); then the endpoint drops every
    connection. The run stops with one line and exit 2, and the queue so far is still printed and stored."""
    from tests.fakes.openai_server import ScriptedOpenAIServer, disconnect, reply

    suture(repo, "scan", "--tool", "bandit")
    verdict = json.dumps({"verdict": "false_positive", "confidence": 0.8, "rationale": "looks constant"})
    with ScriptedOpenAIServer() as server:
        server.enqueue(reply(verdict), *[disconnect()] * 12)
        proc = suture(repo, "fix", "--top", "2", "--workers", "1", "--model", "openai/test-model",
                      "--api-base", server.base_url, env={"OPENAI_API_KEY": "sk-test"}, expect=2)
    assert "Review queue" in proc.stdout and "dismissal" in proc.stdout
    assert "Traceback" not in proc.stderr and proc.stderr.strip().splitlines()[-1].startswith("error:")
    listed = json.loads(suture(repo, "review", "list", "--format", "json").stdout)
    assert [p["kind"] for p in listed] == ["dismissal"]
