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


def _approved_patch(repo: Path, where: Path | None = None) -> str:
    """Scan, fix the B602 finding in billing/exports.py (validated), approve it. Run from `where` with --repo."""
    cwd, opt = (where, ["--repo", str(repo)]) if where else (repo, [])
    suture(cwd, "scan", "--tool", "bandit", *opt[1:])
    rows = json.loads(suture(cwd, "triage", "--format", "json", *opt).stdout)
    shell = find(rows, "bandit", "B602", "billing/exports.py")
    fixed = suture(cwd, "fix", "--finding", shell["id"], *opt)
    pid = json.loads(suture(cwd, "review", "list", "--format", "json", *opt).stdout)[0]["id"]
    if where:
        assert f"suture review approve ID --repo {repo}`" in fixed.stdout, fixed.stdout
    approved = suture(cwd, "review", "approve", pid, "--reviewer", "Rita <r@x>", *opt)
    if where:
        assert f"suture export {pid[:8]} --repo {repo}`" in approved.stdout, approved.stdout
    return pid


def test_tampering_behind_sutures_back_refuses_export_and_fails_audit(repo: Path, tmp_path: Path):
    pid = _approved_patch(repo)
    db = repo / ".suture" / "suture.db"
    clean = tmp_path / "clean.db"
    clean.write_bytes(db.read_bytes())
    assert suture(repo, "audit", "verify").stdout.startswith("audit: history intact")

    with sqlite3.connect(db) as conn:
        data = json.loads(conn.execute("select data from proposals where id=?", (pid,)).fetchone()[0])
        data["diff"] += "+# planted after approval\n"
        conn.execute("update proposals set data=? where id=?", (json.dumps(data), pid))
    assert "changed behind suture's back" in one_line_error(suture(repo, "export", pid, expect=2))
    audit = suture(repo, "audit", "verify", "--format", "json", expect=1)
    report = json.loads(audit.stdout)
    assert report["ok"] is False and [p["kind"] for p in report["problems"]] == ["proposal-edited"]
    assert "diff_hash" in report["problems"][0]["message"]

    db.write_bytes(clean.read_bytes())
    with sqlite3.connect(db) as conn:
        conn.execute("update transitions set actor='Mallory <m@x>' where to_state='approved'")
    assert "changed behind suture's back" in one_line_error(suture(repo, "export", pid, expect=2))
    assert "edited after it was written" in suture(repo, "audit", "verify", expect=1).stdout
    assert git(repo, "branch", "--list", "suture/*") == ""

    db.write_bytes(clean.read_bytes())
    suture(repo, "export", pid)
    message = git(repo, "log", "-1", "--format=%B", f"suture/{pid[:8]}")
    assert "Reviewed-by: Rita <r@x>" in message and "Suture-Approval: " in message
    suture(repo, "audit", "verify")


@pytest.mark.parametrize("name", ["\u200b\u200b\u200b", "alice\n2026-01-01 validated → approved by boss",
                                  "\x1b[2J\x1b[31mroot"])
def test_bad_reviewer_names_are_refused(repo: Path, name: str):
    suture(repo, "scan", "--tool", "bandit")
    proc = suture(repo, "review", "approve", "abcd", "--reviewer", name, expect=2)
    line = one_line_error(proc)
    assert "reviewer name" in line and "\x1b" not in proc.stderr


def test_override_needs_a_reason_that_reaches_commit_pr_and_sarif(repo: Path):
    from agent.models import Proposal
    from agent.store import Store

    pid = _approved_patch(repo, where=repo.parent)
    db = repo / ".suture" / "suture.db"
    store = Store.open(db)
    good = store.get_proposal(pid)
    failed = store.add_proposal(Proposal(id="f" * 8 + pid[8:], finding_id=good.finding_id, kind="patch",
                                         engine="builtin:test", diff=good.diff, commit=good.commit))
    store.transition(failed.id, "failed", "suture", "tests failed")
    store.close()

    no_reason = one_line_error(suture(repo, "review", "approve", failed.id, "--reviewer", "Olga", "--override",
                                      expect=2))
    assert "--reason" in no_reason
    reason = "CI flake in test_export; fix verified by hand"
    suture(repo, "review", "approve", failed.id, "--reviewer", "Olga", "--override", "--reason", reason)
    shown = suture(repo, "review", "show", failed.id).stdout
    assert "Override" in shown and reason in shown

    suture(repo, "export", failed.id, "--to", "patch")
    patch = (repo / ".suture" / "exports" / f"suture-{failed.short_id}.patch").read_text()
    assert f"OVERRIDE: approved by Olga although validation failed; reason: {reason}" in patch
    assert f"Suture-Override: {reason}" in patch
    pr = (repo / ".suture" / "exports" / f"{failed.short_id}-pr.md").read_text()
    assert reason in pr and "OVERRIDE" in pr
    sarif = json.loads(suture(repo, "sarif").stdout)
    fixes = [fx for run in sarif["runs"] for r in run["results"] for fx in r.get("fixes", [])]
    overridden = [fx for fx in fixes if fx["properties"]["suture/override"]]
    assert len(overridden) == 1 and overridden[0]["properties"]["suture/overrideReason"] == reason
    assert "APPROVED WITH OVERRIDE by Olga" in overridden[0]["description"]["text"]


def test_review_commands_never_leave_a_stray_store(repo: Path, tmp_path: Path):
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    (other / "f.txt").write_text("x")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "x")
    line = one_line_error(suture(other, "review", "approve", "abcd1234", "--reviewer", "Rita", expect=2))
    assert "no suture store" in line and not (other / ".suture").exists()
    suture(repo, "scan", "--tool", "bandit")
    line = one_line_error(suture(repo / "billing", "review", "list", expect=2))
    assert f"pass --repo {repo}" in line and not (repo / "billing" / ".suture").exists()
    assert "no proposal" in one_line_error(suture(repo, "review", "show", "%", expect=2))
