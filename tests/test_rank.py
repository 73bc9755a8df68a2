from datetime import timedelta

import pytest

from agent.models import Finding, FlowStep, Location, Verdict, utcnow
from agent.triage.config import parse_triage_config
from agent.triage.feeds import Feeds
from agent.triage.rank import ScoringContext, path_kind, rank_findings, score_finding


def f(fid, sev="high", conf="high", cwe=(78,), path="app/run.py", flow=0, line=1, **kw):
    loc = Location(path=path, start_line=line)
    steps = [FlowStep(location=Location(path=path, start_line=i + 1)) for i in range(flow)]
    return Finding(id=fid, tool=kw.pop("tool", "t"), rule_id=kw.pop("rule_id", "r"), message=kw.pop("message", "m"),
                   severity=sev, confidence=conf, cwe=list(cwe), location=loc, flow=steps, **kw)


def names(rank):
    return {x.name for x in rank.factors}


def test_factors_sum_to_score_are_ordered_and_explain():
    r = score_finding(f("a", flow=2))
    assert r.score == pytest.approx(sum(x.points for x in r.factors))
    assert [abs(x.points) for x in r.factors] == sorted((abs(x.points) for x in r.factors), reverse=True)
    assert names(r) == {"severity", "cwe_class", "evidence"}  # no quick win without the code: a fixer must rewrite it
    assert r.factors[0].points == 32.0 and "high severity" in r.factors[0].reason
    assert "CWE-78 OS command injection" in r.reason


def test_severity_sources_cvss_vector_beats_security_severity_beats_band():
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    with_vector = score_finding(f("v", sev="low", tags=[vector], security_severity=2.0))
    with_number = score_finding(f("n", sev="low", security_severity=7.5))
    band = score_finding(f("b", sev="low"))
    assert with_vector.factors[0].points == pytest.approx(4 * 9.8)
    assert "CVSS 9.8" in with_vector.factors[0].reason
    assert next(x for x in with_number.factors if x.name == "severity").points == 30.0
    assert next(x for x in band.factors if x.name == "severity").points == 10.0


def test_malformed_vector_on_a_finding_is_reported_not_fatal():
    r = score_finding(f("v", message="see CVSS:3.1/AV:Q/AC:L"))
    assert "unreadable" in next(x for x in r.factors if x.name == "severity").reason


def test_confidence_and_weights():
    base = score_finding(f("a")).score
    low = score_finding(f("a", conf="low"))
    assert next(x for x in low.factors if x.name == "confidence").points == pytest.approx(-0.4 * 32)
    config = parse_triage_config({"weights": {"cwe_class": 0, "severity": 2}})
    weighted = score_finding(f("a"), ScoringContext(config=config))
    assert "cwe_class" not in names(weighted)
    assert weighted.score == pytest.approx(base - 20 + 32)


def test_order_severity_confidence_cwe_and_code_kinds():
    ranked = rank_findings([
        f("low", sev="low", cwe=(703,)), f("inj", cwe=(89,)), f("test", path="tests/test_x.py"),
        f("lowconf", conf="low"), f("hash", cwe=(328,)), f("vendor", path="vendor/lib/x.py"),
    ])
    order = [x.id for x, _ in ranked]
    assert order[0] == "inj" and order[-1] == "low"
    assert order.index("test") > order.index("lowconf") and order.index("vendor") > order.index("hash")
    test_rank = {x.id: r for x, r in ranked}["test"]
    assert any(fac.reason == "only in test code" and fac.points == -35 for fac in test_rank.factors)


def test_exploitability_kev_and_epss():
    feeds = Feeds(epss={"CVE-2021-44228": (0.94, 0.99)},
                  kev={"CVE-2021-44228": {"dateAdded": "2021-12-10", "ransomware": True}})
    ctx = ScoringContext(feeds=feeds)
    plain = score_finding(f("a", sev="low", cwe=(), cve=["CVE-2000-0001"]), ctx)
    hot = score_finding(f("b", sev="low", cwe=(), cve=["CVE-2021-44228"]), ctx)
    exploit = [x for x in hot.factors if x.name == "exploitability"]
    assert sorted(x.points for x in exploit) == [pytest.approx(18.8), 30.0]
    assert any("CISA KEV" in x.reason and "ransomware" in x.reason for x in exploit)
    assert hot.score == pytest.approx(plain.score + 48.8)


def test_verdicts_age_and_fix_availability():
    fid = "x"
    old = f(fid, first_seen=utcnow() - timedelta(days=95), rule_id="B506", tool="bandit", cwe=(20,))
    ctx = ScoringContext(verdicts={fid: Verdict(verdict="false_positive", confidence=0.5, rationale="r")})
    r = score_finding(old, ctx)
    reasons = {x.name: x for x in r.factors}
    assert reasons["age"].points == 3 and "95 days" in reasons["age"].reason
    assert reasons["evidence"].points == -20
    assert "fix" not in reasons  # a fixer that knows the rule is no quick win until it rewrites the code there


def test_asset_tier_exposure_and_data():
    config = parse_triage_config({"assets": [
        {"name": "api", "paths": ["svc/**"], "tier": 1, "internet_facing": True, "data": "restricted"}]})
    from agent.triage.ownership import OwnerIndex

    ctx = ScoringContext(config=config, owners=OwnerIndex(config, None))
    inside = score_finding(f("a", path="svc/h.py"), ctx)
    outside = score_finding(f("b", path="lib/h.py"), ctx)
    assert inside.score - outside.score == pytest.approx(15 + 10 + 8)
    assert any(x.reason == "api is internet-facing" for x in inside.factors)


def test_score_clamped():
    assert score_finding(f("x", sev="info", cwe=(), path="tests/a.py")).score == 0


def test_path_kind():
    assert path_kind("tests/test_a.py") == "test"
    assert path_kind("pkg/conftest.py") == "test"
    assert path_kind("src/a_test.py") == "test"
    assert path_kind("vendor/lib/x.py") == "vendored"
    assert path_kind("app/migrations/0001_init.py") == "generated"
    assert path_kind("examples/demo.py") == "example"
    assert path_kind("src/testing_utils_prod.py") is None


def test_import_findings_demoted_by_tool_rule_or_import_line():
    imp = f("imp", sev="low").model_copy(update={"tool": "bandit", "rule_id": "B404"})
    use = f("use", sev="low").model_copy(update={"tool": "bandit", "rule_id": "B602"})
    other = f("other", sev="low", rule_id="x-import")
    other = other.model_copy(update={"location": Location(path="app/run.py", start_line=1,
                                                          snippet="import pickle\n")})
    ranked = {x.id: r for x, r in rank_findings([imp, use, other])}
    assert ranked["imp"].score < ranked["use"].score
    assert any(fac.points == -25 and fac.name == "reachability" for fac in ranked["imp"].factors)
    assert any(fac.reason.startswith("flags an import") for fac in ranked["other"].factors)


def test_a_reused_context_scores_each_finding_by_its_own_vector():
    # the context memoizes per finding object: a new finding (even one at a freed one's address) is read afresh
    ctx = ScoringContext()
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    reasons = []
    for i in range(50):
        finding = f(f"x{i}", sev="low", tags=[vector] if i % 3 == 0 else [])
        reasons.append(next(x for x in score_finding(finding, ctx).factors if x.name == "severity").reason)
        del finding
    assert all(("CVSS 9.8" in r) == (i % 3 == 0) for i, r in enumerate(reasons))
