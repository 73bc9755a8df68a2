"""End to end through the real `suture` command on a temporary copy of examples/billing.

scan → triage → fix → review → approve → export, then: the new branch holds the fix, the example's tests pass
on it, a re-scan of the branch no longer reports the finding, and the user's checkout never changed.
The second flow does the same through `--model` against the scripted OpenAI-compatible server (real HTTP).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.billing_edits import SQL_FIX
from tests.conftest import git
from tests.fakes.openai_server import ScriptedOpenAIServer, reply, respond_with

pytestmark = pytest.mark.slow


def suture(cwd: Path, *args: str, env: dict | None = None, expect: int | None = 0) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "agent", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env=full_env, timeout=600)
    if expect is not None:
        assert proc.returncode == expect, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


@pytest.fixture
def repo(example_repo: Path) -> Path:
    return example_repo


def tree_state(repo: Path) -> tuple[str, str, str]:
    return git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"), git(repo, "rev-parse", "--abbrev-ref",
                                                                                   "HEAD")


def find(rows: list[dict], tool: str, rule: str, path: str) -> dict:
    matches = [r for r in rows if r["tool"] == tool and r["rule_id"] == rule and r["path"] == path]
    assert matches, f"no {tool} {rule} in {path}: {[(r['tool'], r['rule_id'], r['path']) for r in rows]}"
    return matches[0]


def check_branch(repo: Path, branch: str, tmp_path: Path, rule: str, path: str) -> str:
    """Check out `branch` in a separate worktree; run the example's tests and bandit there. Returns the file."""
    wt = tmp_path / "verify"
    git(repo, "worktree", "add", "-q", "--detach", str(wt), branch)
    try:
        tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=wt, check=False,
                               capture_output=True, text=True, timeout=300)
        assert tests.returncode == 0, tests.stdout[-2000:]
        scan = subprocess.run([sys.executable, "-m", "bandit", "-q", "-f", "json", path], cwd=wt, check=False,
                              capture_output=True, text=True, timeout=300)
        results = json.loads(scan.stdout)["results"]
        return (wt / path).read_text(), [r["test_id"] for r in results], rule
    finally:
        git(repo, "worktree", "remove", "--force", str(wt))


def test_builtin_scan_fix_approve_export(repo: Path, tmp_path: Path):
    before = tree_state(repo)
    suture(repo, "scan", "--tool", "bandit")
    rows = json.loads(suture(repo, "triage", "--format", "json").stdout)
    assert rows[0]["score"] >= rows[-1]["score"]
    assert all(r["reason"] for r in rows)
    shell = find(rows, "bandit", "B602", "billing/exports.py")
    test_noise = [r for r in rows if r["path"].startswith("tests/")]
    assert test_noise and max(r["score"] for r in test_noise) < shell["score"]

    fixed = json.loads(suture(repo, "fix", "--finding", shell["id"], "--format", "json").stdout)
    assert len(fixed) == 1 and fixed[0]["state"] == "validated", fixed
    pid = fixed[0]["id"]

    refused = suture(repo, "export", pid, expect=2)
    assert "not approved" in refused.stderr and "Traceback" not in refused.stderr

    show = suture(repo, "review", "show", pid).stdout
    assert "shell=True" in show and "Validation" in show and "gone" in show

    suture(repo, "review", "approve", pid, "--reviewer", "Rita Reviewer <rita@example.com>")
    exported = json.loads(suture(repo, "export", pid, "--format", "json").stdout)
    branch = exported[0]["branch"]
    assert branch == f"suture/{pid[:8]}"
    assert tree_state(repo) == before, "the user's checkout must not change"

    message = git(repo, "log", "-1", "--format=%B", branch)
    assert "B602" in message and "CWE-78" in message and "Reviewed-by: Rita Reviewer" in message
    assert "tests patched: 36 passed" in message
    assert git(repo, "rev-parse", f"{branch}~1") == before[0]

    source, remaining, _ = check_branch(repo, branch, tmp_path, "B602", "billing/exports.py")
    assert "shell=True" not in source
    assert "B602" not in remaining

    history = json.loads(suture(repo, "review", "show", pid, "--format", "json").stdout)["history"]
    assert [h["to_state"] for h in history] == ["drafted", "validated", "approved", "exported"]
    assert history[2]["actor"] == "Rita Reviewer <rita@example.com>"


def test_false_positive_becomes_dismissal_awaiting_review(repo: Path):
    suture(repo, "scan", "--tool", "bandit")
    rows = json.loads(suture(repo, "triage", "--format", "json").stdout)
    fp = find(rows, "bandit", "B602", "billing/buildinfo.py")
    out = json.loads(suture(repo, "fix", "--finding", fp["id"], "--format", "json").stdout)
    assert out[0]["kind"] == "dismissal" and out[0]["state"] == "drafted"
    still_open = json.loads(suture(repo, "triage", "--format", "json").stdout)
    assert fp["id"] in {r["id"] for r in still_open}, "a verdict alone never closes a finding"
    refused = suture(repo, "export", out[0]["id"], expect=2)
    assert "not approved" in refused.stderr
    suture(repo, "review", "approve", out[0]["id"], "--reviewer", "Dan")
    after = json.loads(suture(repo, "triage", "--format", "json").stdout)
    assert fp["id"] not in {r["id"] for r in after}




def test_model_engine_through_scripted_server(repo: Path, tmp_path: Path):
    suture(repo, "scan", "--tool", "bandit")
    rows = json.loads(suture(repo, "triage", "--format", "json").stdout)
    sql = find(rows, "bandit", "B608", "billing/db.py")

    def answer(request):
        body = request.json
        if "response_format" in body or "verdict" in body["messages"][0]["content"].lower()[:400]:
            return reply(json.dumps({"verdict": "true_positive", "confidence": 0.9,
                                     "rationale": "user input is formatted into the SQL text"}))
        return reply(SQL_FIX)

    env = {"OPENAI_API_KEY": "sk-test"}
    with ScriptedOpenAIServer() as server:
        server.enqueue(respond_with(answer), respond_with(answer), respond_with(answer))
        model_args = ("--model", "openai/test-model", "--api-base", server.base_url, "--format", "json")
        out = json.loads(suture(repo, "fix", "--finding", sql["id"], *model_args, env=env).stdout)
        sent = b"".join(r.body for r in server.requests)
        assert len(server.requests) == 3  # verdict, fix, and the regression test (answered with a fix: refused)
        # the answers are cached in the store: drafting again costs no request and gives the same patch
        again = json.loads(suture(repo, "fix", "--finding", sql["id"], "--redo", *model_args, env=env).stdout)
        assert len(server.requests) == 3 and again[0]["id"] == out[0]["id"]
    assert b"search_customers" in sent, "the enclosing function is in the prompt"
    proposal = out[0]
    assert proposal["state"] == "validated", proposal
    assert proposal["engine"] == "llm:openai/test-model"
    assert proposal["usage"]["calls"] >= 1

    suture(repo, "review", "approve", proposal["id"], "--reviewer", "Mo")
    branch = json.loads(suture(repo, "export", proposal["id"], "--format", "json").stdout)[0]["branch"]
    source, remaining, _ = check_branch(repo, branch, tmp_path, "B608", "billing/db.py")
    assert "LIKE ? OR email LIKE ?" in source and "B608" not in remaining


def test_model_endpoint_down_is_one_line_and_store_consistent(repo: Path):
    suture(repo, "scan", "--tool", "bandit")
    proc = suture(repo, "fix", "--top", "2", "--model", "openai/test-model", "--api-base",
                  "http://127.0.0.1:9/v1", env={"OPENAI_API_KEY": "sk-test"}, expect=2)
    assert "unreachable" in proc.stderr and "Traceback" not in proc.stderr
    listed = json.loads(suture(repo, "review", "list", "--format", "json").stdout)
    assert listed == []


def test_patch_export_and_approved_batch(repo: Path, tmp_path: Path):
    suture(repo, "scan", "--tool", "bandit")
    rows = json.loads(suture(repo, "triage", "--format", "json").stdout)
    tls = find(rows, "bandit", "B501", "billing/payments.py")
    pid = json.loads(suture(repo, "fix", "--finding", tls["id"], "--format", "json").stdout)[0]["id"]
    suture(repo, "review", "approve", pid, "--reviewer", "Pat")
    out = tmp_path / "patches"
    res = json.loads(suture(repo, "export", "--approved", "--to", "patch", "--out", str(out), "--format",
                            "json").stdout)
    patch = Path(res[0]["patch"])
    assert patch.is_file() and "verify=False" in patch.read_text()
    other = tmp_path / "other"
    git(repo, "worktree", "add", "-q", "--detach", str(other), "HEAD")
    git(other, "am", "-q", str(patch))
    assert "verify=False" not in (other / "billing" / "payments.py").read_text()
