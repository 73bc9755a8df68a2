"""Ranking (issue 13): live credentials are critical whatever the scanner says; one statement (or a query built
on one line and run on the next) is one group; findings on different statements never are."""

from __future__ import annotations

from pathlib import Path

from agent.models import Finding, Location
from agent.triage.config import TriageConfig
from agent.triage.reachability import ReachabilityIndex
from agent.triage.service import triage_findings

TOKEN = "ghp_" + "9fK2mQ7xLp4Rt8vW1zY6bN3cH5jD0sA2eG7u"
DB = f'''import sqlite3

GITHUB_TOKEN = "{TOKEN}"


def find(cur, name):
    query = "SELECT id FROM users WHERE name = '" + name + "'"
    cur.execute(query)
    return cur.fetchall()


def count(cur):
    query = "SELECT count(*) FROM users"
    cur.execute(query)
    return cur.fetchone()
'''


def fd(fid: str, line: int, tool: str, rule: str, cwe: int, sev: str = "medium", snippet: str | None = None):
    return Finding(id=fid, tool=tool, rule_id=rule, message="m", severity=sev, cwe=[cwe],
                   location=Location(path="app/db.py", start_line=line, snippet=snippet))


def test_live_token_is_critical_and_build_execute_pairs_group_but_statements_do_not(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "db.py").write_text(DB)
    findings = [
        fd("token", 3, "bandit", "B105", 259, sev="low"),
        fd("build", 7, "bandit", "B608", 89),
        fd("run", 8, "semgrep", "python.sqli", 89, sev="high"),
        fd("fp-build", 13, "bandit", "B608", 89),
    ]
    result = triage_findings(findings, TriageConfig(), tmp_path, code=ReachabilityIndex(tmp_path))
    rows = {r.finding.id: r for r in result.rows}
    token = rows["token"]
    severity = next(f for f in token.group.rank.factors if f.name == "severity")
    assert severity.points == 38.0 and "github_token" in severity.reason  # low from bandit, critical here
    order = [r.finding.id for r in result.rows]
    assert token.decision.lane == "now" and order.index("token") < order.index("fp-build")
    pair = rows.get("run") or rows["build"]
    assert {f.id for f in pair.group.findings} == {"build", "run"}
    assert {f.id for f in rows["fp-build"].group.findings} == {"fp-build"}  # same rule, other statement
    assert len(result.rows) == 3
    placeholder_token_in_a_test_stays_low()


def placeholder_token_in_a_test_stays_low() -> None:
    finding = Finding(id="t", tool="bandit", rule_id="B105", message="m", severity="low", cwe=[259],
                      location=Location(path="tests/test_x.py", start_line=1,
                                        snippet='TOKEN = "ghp_' + "x" * 36 + '"'))
    row = triage_findings([finding], TriageConfig()).rows[0]
    assert any(f.reason == "only in test code" for f in row.group.rank.factors) and row.decision.lane == "defer"
