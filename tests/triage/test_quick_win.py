"""Triage's "quick win" bonus: only when a builtin fixer would actually rewrite the code at the finding, judged on
the text the file-facts layer already read (one read, one parse per file), and cached with the facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.models import Finding, Location
from agent.triage.config import TriageConfig
from agent.triage.reachability import ReachabilityIndex
from agent.triage.service import triage_findings

STORE = '''import hashlib
import pickle
import sqlite3


def load_session(blob):
    return pickle.loads(blob)


def store_password(password):
    return hashlib.md5(password.encode()).hexdigest()


def find_user(name):
    cur = sqlite3.connect("app.db").cursor()
    cur.execute(f"SELECT id FROM users WHERE name = '{name}'")
    return cur.fetchall()
'''


def finding(fid: str, line: int, cwe: int, tool: str = "semgrep", rule: str | None = None) -> Finding:
    return Finding(id=fid, tool=tool, rule_id=rule or f"python.lang.security.cwe-{cwe}", message="m",
                   severity="high", cwe=[cwe],
                   location=Location(path="app/store.py", start_line=line))


def fix_reasons(rows, fid: str) -> list[str]:
    row = next(r for r in rows if r.finding.id == fid)
    return [f.reason for f in row.group.rank.factors if f.name == "fix"]


def findings() -> list[Finding]:
    return [finding("pickle", 7, 502), finding("md5", 11, 327), finding("sqli", 16, 89),
            finding("sqli-bandit", 16, 89, tool="bandit", rule="B608")]


def test_quick_win_only_where_a_fixer_rewrites(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "store.py").write_text(STORE)
    code = ReachabilityIndex(tmp_path)
    rows = triage_findings(findings(), TriageConfig(), tmp_path, code=code).rows
    assert fix_reasons(rows, "pickle") == []  # CWE-502 names the YAML fixer, but this is no yaml.load call
    assert fix_reasons(rows, "md5") == []  # weak_hash recognises the call but declines a password hash
    sqli = next(r for r in rows if "sqli" in r.finding.id)
    assert [f.reason for f in sqli.group.rank.factors if f.name == "fix"] == [
        "quick win: builtin fixer `sql_parameterize` rewrites it"]
    assert code.files.reads == 1 and code.files.parses == 1


class DictCache:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, int], dict[str, Any]] = {}

    def get_file_facts(self, path: str, digest: str, version: int) -> dict[str, Any] | None:
        return self.rows.get((path, digest, version))

    def put_file_facts(self, path: str, digest: str, version: int, facts: dict[str, Any]) -> None:
        self.rows[(path, digest, version)] = facts


def test_fixer_answers_are_cached_with_the_facts(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "store.py").write_text(STORE)
    cache = DictCache()
    first = triage_findings(findings(), TriageConfig(), tmp_path, code=ReachabilityIndex(tmp_path, cache)).rows
    (facts,) = cache.rows.values()
    answers = [v for k, v in facts["answers"].items() if k.startswith("fixer:")]
    # the semgrep and the bandit SQL findings ask the same fixer about the same line: one answer for both
    assert sorted(answers, key=str) == [None, None, "sql_parameterize"]
    again = ReachabilityIndex(tmp_path, cache)
    rows = triage_findings(findings(), TriageConfig(), tmp_path, code=again).rows
    assert again.files.parses == 0 and [r.group.rank for r in rows] == [r.group.rank for r in first]


def test_no_quick_win_without_the_source() -> None:
    rows = triage_findings([finding("sqli", 16, 89, tool="bandit", rule="B608")], TriageConfig()).rows
    assert fix_reasons(rows, "sqli") == []  # a rule the fixer knows says nothing about the code there
