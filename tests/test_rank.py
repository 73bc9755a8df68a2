from agent.models import Finding, FlowStep, Location
from agent.triage.rank import path_kind, rank_findings, score_finding


def f(fid, sev="high", conf="high", cwe=(78,), path="app/run.py", flow=0):
    loc = Location(path=path, start_line=1)
    return Finding(id=fid, tool="t", rule_id="r", message="m", severity=sev, confidence=conf, cwe=list(cwe),
                   location=loc, flow=[FlowStep(location=loc)] * flow)


def test_factors_sum_to_score_and_explain():
    r = score_finding(f("a", flow=2))
    assert r.score == sum(x.points for x in r.factors)
    assert {x.name for x in r.factors} == {"severity", "cwe_class", "data_flow"}
    assert "CWE-78 OS command injection" in r.reason


def test_order_severity_confidence_cwe_and_test_code():
    ranked = rank_findings([
        f("low", sev="low", cwe=(703,)), f("inj", cwe=(89,)), f("test", path="tests/test_x.py"),
        f("lowconf", conf="low"), f("hash", cwe=(328,)),
    ])
    order = [x.id for x, _ in ranked]
    assert order[0] == "inj" and order[-1] == "low"
    assert order.index("test") > order.index("lowconf")
    test_rank = dict((x.id, r) for x, r in ranked)["test"]
    assert any(fac.reason == "only in test code" for fac in test_rank.factors)


def test_score_clamped():
    assert score_finding(f("x", sev="info", cwe=(), path="tests/a.py")).score == 0


def test_path_kind():
    assert path_kind("tests/test_a.py") == "test"
    assert path_kind("pkg/conftest.py") == "test"
    assert path_kind("src/a_test.py") == "test"
    assert path_kind("vendor/lib/x.py") == "vendored"
    assert path_kind("examples/demo.py") == "example"
    assert path_kind("src/testing_utils_prod.py") is None


def test_bandit_import_findings_demoted():
    imp = f("imp", sev="low")
    imp = imp.model_copy(update={"tool": "bandit", "rule_id": "B404"})
    use = f("use", sev="low").model_copy(update={"tool": "bandit", "rule_id": "B602"})
    ranked = dict((x.id, r) for x, r in rank_findings([imp, use]))
    assert ranked["imp"].score == ranked["use"].score - 20
    assert any(fac.name == "import_only" for fac in ranked["imp"].factors)
