"""Ownership (CODEOWNERS precedence), grouping, SSVC decisions, SLA dates and capacity overflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.models import Finding, Location
from agent.triage.config import parse_triage_config
from agent.triage.group import group_findings
from agent.triage.ownership import OwnerIndex
from agent.triage.rank import rank_findings
from agent.triage.service import triage_findings

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def fd(fid, path="svc/api.py", line=10, tool="bandit", rule="B602", cwe=(78,), sev="high", snippet=None, **kw):
    return Finding(id=fid, tool=tool, rule_id=rule, message="m", severity=sev, confidence="high", cwe=list(cwe),
                   location=Location(path=path, start_line=line, snippet=snippet), first_seen=NOW, **kw)


def test_codeowners_last_match_wins_and_config_overrides(tmp_path: Path):
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text(
        "# owners\n*            @acme/everyone\n/svc/        @acme/services\n*.sql        @acme/dba\n"
        "/svc/legacy/ \n")
    (tmp_path / "CODEOWNERS").write_text("* @ignored\n")  # .github/ is looked up first, as on GitHub
    config = parse_triage_config({"owners": [{"paths": ["svc/pay/**"], "team": "pay"},
                                             {"paths": ["svc/pay/vendor/**"], "team": "pay-vendor"}]})
    idx = OwnerIndex(config, tmp_path)
    assert idx.resolve("svc/api.py")[1].team == "@acme/services"
    assert idx.resolve("svc/schema.sql")[1].team == "@acme/dba"  # later line beats /svc/
    assert idx.resolve("README.md")[1].team == "@acme/everyone"
    assert idx.resolve("svc/legacy/x.py")[1].team == "unowned"  # a later pattern without owners un-owns
    assert idx.resolve("svc/pay/a.py")[1].team == "pay"
    assert idx.resolve("svc/pay/vendor/a.py")[1].team == "pay-vendor"  # last matching config rule wins


def test_grouping_two_tools_import_fold_and_repeated_sink():
    findings = [
        fd("use", line=10, snippet="subprocess.run(cmd, shell=True)\n"),
        fd("semgrep", line=10, tool="semgrep", rule="shell-nonliteral", cwe=(78,), sev="medium"),
        fd("imp", line=1, rule="B404", sev="low", snippet="import subprocess\n"),
        fd("q1", path="svc/db.py", line=5, rule="B608", cwe=(89,), snippet="cur.execute(f'...{x}')\n"),
        fd("q2", path="svc/db.py", line=40, rule="B608", cwe=(89,), snippet="cur.execute('...' + y)\n"),
        fd("other", path="svc/db.py", line=60, rule="B608", cwe=(89,), snippet="conn.executemany(q)\n"),
        fd("lonely-import", path="svc/util.py", line=1, rule="B403", cwe=(502,), sev="low"),
    ]
    groups = group_findings(rank_findings(findings))
    by_primary = {g.primary.id: g for g in groups}
    shell = by_primary["use"]
    assert sorted(m.id for m, _ in shell.members) == ["imp", "semgrep"]
    assert shell.tools == ["bandit", "semgrep"]
    assert any(f.name == "corroboration" for f in shell.rank.factors)
    # issue 13: the same rule on different statements is never one group (one may be real, the other not)
    assert {"q1", "q2", "other", "lonely-import"} <= set(by_primary)
    assert len(groups) == 5


def test_ssvc_lanes_and_sla_due_dates_by_tier():
    config = parse_triage_config({"assets": [
        {"name": "edge", "paths": ["svc/**"], "tier": 1, "internet_facing": True},
        {"name": "batch", "paths": ["jobs/**"], "tier": 4}]})
    result = triage_findings([
        fd("edge", cve=["CVE-2024-0001"]),                                   # active, yes, total, high → Act
        fd("job", path="jobs/run.py", rule="B324", cwe=(327,)),              # none, no, partial, low → Track
        fd("tested", path="tests/test_x.py", cwe=(89,), rule="B608"),        # test code: never poc
    ], config, now=NOW, state_dir=None)
    result_rows = {r.finding.id: r for r in result.rows}
    assert result_rows["job"].decision.label == "Track" and result_rows["job"].decision.lane == "defer"
    assert result_rows["job"].decision.due == NOW + timedelta(days=365)  # track, tier 4
    assert result_rows["tested"].decision.exploitation == "none"
    edge = result_rows["edge"].decision
    assert (edge.exploitation, edge.automatable, edge.technical_impact, edge.mission_impact) == (
        "poc", "yes", "total", "high")  # without the KEV feed: commonly exploited class → poc
    assert edge.label == "Attend" and edge.lane == "now" and edge.due == NOW + timedelta(days=30)


def test_kev_membership_makes_act(tmp_path: Path):
    import json

    state = tmp_path / ".suture"
    (state / "feeds").mkdir(parents=True)
    (state / "feeds" / "kev.json").write_text(json.dumps(
        {"catalogVersion": "1", "entries": {"CVE-2024-0001": {"dateAdded": "2024-01-01", "ransomware": False}}}))
    config = parse_triage_config({"assets": [{"name": "edge", "paths": ["svc/**"], "tier": 1,
                                              "internet_facing": True}]})
    row = triage_findings([fd("edge", cve=["CVE-2024-0001"])], config, state_dir=state, now=NOW).rows[0]
    assert row.decision.exploitation == "active" and row.decision.label == "Act"
    assert row.decision.due == NOW + timedelta(days=7)


def test_capacity_overflow_moves_to_batch_with_later_due_and_is_reported():
    config = parse_triage_config({
        "teams": {"edge-team": {"capacity": 2}},
        "assets": [{"name": "edge", "paths": ["svc/**"], "tier": 1, "internet_facing": True, "team": "edge-team"}]})
    findings = [fd(f"f{i}", path=f"svc/m{i}.py", sev="critical" if i < 3 else "high") for i in range(5)]
    result = triage_findings(findings, config, now=NOW)
    lanes = [(r.finding.id, r.decision.lane) for r in result.rows]
    assert [lane for _, lane in lanes] == ["now", "now", "batch", "batch", "batch"]
    assert len(result.rows) == 5  # nothing dropped
    (overflow,) = result.overflow
    assert overflow.team == "edge-team" and overflow.capacity == 2 and len(overflow.moved) == 3
    due = [r.decision.due for r in result.rows]
    assert due[0] == due[1] == NOW + timedelta(days=30)
    assert due[2] == due[3] == NOW + timedelta(days=37) and due[4] == NOW + timedelta(days=44)
    assert any("capacity" in w for w in result.rows[4].decision.why)
