"""Triage memoizes what depends on a few of a finding's fields (rule profile, vector text, snippet, tool set): a
memo keyed on too little would give one finding another's factors. Each finding scored in a shared context must
score as it does alone."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.models import Finding, Location
from agent.triage.group import group_findings
from agent.triage.rank import ScoringContext, rank_findings, score_finding

NOW = datetime(2025, 3, 1, tzinfo=UTC)
VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def fd(fid, tool="bandit", rule="B602", cwe=(78,), sev="low", conf="high", line=10, end=None, snippet=None,
       path="svc/api.py", **kw):
    return Finding(id=fid, tool=tool, rule_id=rule, message=kw.pop("message", "m"), severity=sev, confidence=conf,
                   cwe=list(cwe), location=Location(path=path, start_line=line, end_line=end, snippet=snippet),
                   first_seen=NOW, **kw)


def test_a_shared_context_scores_each_finding_as_a_fresh_context_does():
    findings = [
        fd("a"), fd("b", tool="semgrep"),  # same profile but the tool, which the severity reason names
        fd("c", security_severity=7.5), fd("d", security_severity=0.0), fd("e", security_severity=-0.0),
        fd("f", message=f"see {VECTOR}"), fd("g", message="see CVSS:3.1/AV:Q/AC:L"), fd("h", tags=[VECTOR]),
        fd("i", conf="low"), fd("j", conf="low", cwe=(89,)), fd("k", cwe=(89, 78)), fd("l", cwe=(78, 89)),
        fd("m", sev="high", cve=["CVE-2021-44228"]),
        # the import-line memo: same tool, rule and snippet, one line or several
        fd("n", rule="X1", snippet="import pickle\n"), fd("o", rule="X1", snippet="import pickle\n", end=12),
        fd("p", rule="X1", snippet="import pickle\n", end=10),
        fd("q", rule="B403", snippet="x = 1\n"), fd("r", tool="semgrep", rule="B403", snippet="x = 1\n"),
        # a credential on the line: severity names the line, and no other finding shares it
        fd("s", snippet='key = "AKIAZ3MXQ7PLR2TNB4KD"\n', line=3), fd("t", snippet="key = 1\n", line=3),
    ]
    shared = ScoringContext(now=NOW)
    for finding in findings:
        alone = score_finding(finding, ScoringContext(now=NOW))
        assert score_finding(finding, shared).model_dump() == alone.model_dump(), finding.id
    severity = {x.id: next((f.reason for f in score_finding(x, shared).factors if f.name == "severity"), "")
                for x in findings}
    assert "(bandit)" in severity["a"] and "(semgrep)" in severity["b"]
    assert "security-severity 7.5" in severity["c"] and "critical" in severity["s"] and "line 3" in severity["s"]
    assert "CVSS 9.8" in severity["f"] and "unreadable" in severity["g"] and "CVSS 9.8" in severity["h"]
    reach = {x.id: [f.reason for f in score_finding(x, shared).factors if f.name == "reachability"]
             for x in findings}
    assert reach["n"] and reach["p"] and not reach["o"] and reach["q"] and not reach["r"]


def test_corroboration_names_each_groups_own_tools():
    findings = [
        fd("a1", line=10), fd("a2", tool="semgrep", rule="s", line=10),
        fd("b1", line=20), fd("b2", tool="codeql", rule="c", line=20),
        fd("c1", line=30), fd("c2", tool="semgrep", rule="s", line=30),
    ]
    groups = {g.primary.id: g for g in group_findings(rank_findings(findings))}
    reasons = {gid: [f.reason for f in g.rank.factors if f.name == "corroboration"] for gid, g in groups.items()}
    assert reasons == {"a1": ["reported by 2 tools (bandit, semgrep)"],
                       "b1": ["reported by 2 tools (bandit, codeql)"],
                       "c1": ["reported by 2 tools (bandit, semgrep)"]}
    assert all(g.rank.score == round(sum(f.points for f in g.rank.factors), 1) for g in groups.values())
