"""`suture context` and `suture classify` through the real command, plus `--budget-usd` and `--no-cache`,
on a temporary git copy of examples/billing and the scripted OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.openai_server import ScriptedOpenAIServer, reply, respond_with

ENV = {"OPENAI_API_KEY": "sk-test", "COLUMNS": "200"}


def suture(cwd: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "agent", *args], check=False, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **ENV}, timeout=300)
    assert proc.returncode == expect, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture
def scanned(example_repo: Path) -> tuple[Path, list[dict]]:
    suture(example_repo, "scan", "--tool", "bandit")
    return example_repo, open_findings(example_repo)


def open_findings(repo: Path) -> list[dict]:
    data = json.loads(suture(repo, "triage", "--format", "json").stdout)
    return data["findings"] if isinstance(data, dict) else data


def row(rows: list[dict], rule: str, path: str) -> dict:
    return next(r for r in rows if r["rule_id"] == rule and r["path"] == path)


@pytest.mark.slow  # end-to-end; CI runs it with -m slow
def test_context_prints_what_would_be_sent(scanned):
    repo, rows = scanned
    sql = row(rows, "B608", "billing/db.py")
    out = json.loads(suture(repo, "context", sql["id"][:8], "--format", "json").stdout)
    assert out["task"] == "draft" and [m["role"] for m in out["messages"]] == ["system", "user"]
    user = out["messages"][1]["content"]
    assert "def search_customers" in user and "<<<<<<< SEARCH" in out["messages"][0]["content"]
    assert out["token_budget"] == 6000 and 0 < out["context_tokens"] < out["prompt_tokens"]
    assert out["estimated_cost_usd"] is None and out["dropped"] == []

    priced = json.loads(suture(repo, "context", sql["id"], "--task", "classify", "--model", "openai/gpt-4o-mini",
                               "--format", "json").stdout)
    assert priced["token_budget"] == 24000 and priced["estimated_cost_usd"] > 0
    assert '"verdict"' in priced["messages"][0]["content"]

    table = suture(repo, "context", sql["id"]).stdout
    assert user.strip().splitlines()[0] in table and "tokens" in table and "dropped: nothing" in table
    bad = suture(repo, "context", "zzzz", expect=2)
    assert "no finding" in bad.stderr and "Traceback" not in bad.stderr


def test_context_reports_what_a_small_budget_drops(scanned):
    repo, rows = scanned
    sql = row(rows, "B608", "billing/db.py")
    (repo / "suture.toml").write_text("token_budget = 256\n")
    out = json.loads(suture(repo, "context", sql["id"], "--format", "json").stdout)
    assert out["token_budget"] == 256 and out["context_tokens"] <= 256 and out["dropped"]


@pytest.mark.slow  # end-to-end; CI runs it with -m slow
def test_builtin_classify_stores_verdicts_and_proposes_dismissals(scanned):
    repo, rows = scanned
    out = json.loads(suture(repo, "classify", "--all", "--format", "json").stdout)
    assert len(out) == len(rows)
    fp = row(out, "B602", "billing/buildinfo.py")
    assert fp["verdict"] == "false_positive" and fp["dismissal_id"]
    assert row(out, "B602", "billing/exports.py")["verdict"] is None  # no static evidence either way
    queue = json.loads(suture(repo, "review", "list", "--format", "json").stdout)
    # the constant command, plus findings in the test modules (test code is proof of a false positive)
    assert {(q["kind"], q["state"]) for q in queue} == {("dismissal", "drafted")}
    assert fp["dismissal_id"] in {q["id"] for q in queue}
    dismissed = {r["id"] for r in out if r["dismissal_id"]}
    assert dismissed and all(r["path"].startswith("tests/") or r["id"] == fp["id"]
                             for r in out if r["id"] in dismissed)
    still_open = {r["id"] for r in open_findings(repo)}
    assert dismissed <= still_open, "a verdict never closes a finding"
    again = json.loads(suture(repo, "classify", "--top", "12", "--format", "json").stdout)
    assert row(again, "B602", "billing/buildinfo.py")["dismissal_id"] == fp["dismissal_id"]
    assert len(json.loads(suture(repo, "review", "list", "--format", "json").stdout)) == len(queue)


@pytest.mark.slow  # end-to-end; CI runs it with -m slow
def test_model_classify_json_mode_cache_and_no_cache(scanned):
    repo, _rows = scanned

    def verdict(request):
        assert request.json["response_format"] == {"type": "json_object"}
        label = "false_positive" if "buildinfo" in request.messages[-1]["content"] else "true_positive"
        return reply(f'Here: ```json\n{{"verdict": "{label}", "confidence": 0.8, "rationale": "r"}}\n```')

    with ScriptedOpenAIServer() as server:
        server.enqueue(*[respond_with(verdict)] * 9)
        args = ("classify", "--top", "3", "--model", "openai/test-model", "--api-base", server.base_url,
                "--format", "json")
        first = json.loads(suture(repo, *args).stdout)
        assert len(server.requests) == 3 and {r["verdict"] for r in first} == {"true_positive"}
        assert all(r["source"] == "llm:openai/test-model" for r in first)
        suture(repo, *args)
        assert len(server.requests) == 3, "answers are cached in the store"
        suture(repo, *args, "--no-cache")
        assert len(server.requests) == 3, "a verdict is a final outcome at this commit: nothing is asked again"
        suture(repo, *args, "--no-cache", "--retry-failed")
        assert len(server.requests) == 6


@pytest.mark.slow  # end-to-end; CI runs it with -m slow
def test_fix_with_a_tiny_budget_stops_before_any_call(scanned):
    repo, _rows = scanned
    with ScriptedOpenAIServer() as server:
        proc = suture(repo, "fix", "--top", "2", "--model", "openai/gpt-4o-mini", "--api-base", server.base_url,
                      "--budget-usd", "0.00001", expect=2)
        assert server.requests == []
    error = " ".join(proc.stderr.split("error:", 1)[1].split())
    assert error.startswith("budget of $1e-05 reached") and "Traceback" not in proc.stderr
    assert json.loads(suture(repo, "review", "list", "--format", "json").stdout) == []


def test_help_teaches():
    for command in ("context", "classify"):
        proc = subprocess.run([sys.executable, "-m", "agent", command, "--help"], check=False, capture_output=True, text=True,
                              env={**os.environ, "COLUMNS": "200"}, timeout=60)
        assert proc.returncode == 0 and "--format" in proc.stdout and "--model" in proc.stdout
