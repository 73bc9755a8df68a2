"""The harness measures what it claims: the oracle scores 100%, the null engine 0%, the saboteur is caught by the
functional or exploit tests on every real vulnerability; the builtin engine's numbers match what its fixers do."""

from __future__ import annotations

import pytest

from agent.evals.harness import rescore

# The shared fixture runs four engines over every case (about 4 min on a quiet 2-core machine); it is set up
# inside the first test, so that test needs more than the suite's default per-test timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

GATES = ("G0", "G1", "G2", "G3", "G4")


def test_case_set_is_broad_and_every_case_is_valid(all_cases, eval_runs):
    assert len(all_cases) >= 30
    assert len({c.cwe for c in all_cases}) >= 10
    fps = [c for c in all_cases if c.label == "false_positive"]
    assert len(fps) >= 10 and len({c.reason.split(":")[0] for c in fps}) >= 6
    assert sum("obvious-fix-breaks" in c.tags for c in all_cases) >= 4
    assert eval_runs["oracle"]["metrics"]["overall"]["invalid_cases"] == []
    for case in all_cases:
        assert case.exploit_test.is_file() and not (case.repo / "test_exploit.py").exists()
        if case.label == "true_positive":
            assert case.reference_files(), case.id


def test_oracle_scores_everything(eval_runs):
    m = eval_runs["oracle"]["metrics"]["overall"]
    assert m["fix_rate"]["rate"] == 1.0 and m["fix_rate"]["n"] >= 20
    assert all(m["gates"][g]["rate"] == 1.0 for g in GATES)
    c = m["classification"]
    assert (c["precision"], c["recall"], c["f1"]) == (1.0, 1.0, 1.0)
    assert c["fp_filter_rate"]["rate"] == 1.0 and c["tp_miss_rate"]["rate"] == 0.0 and c["brier"] == 0.0
    assert m["diff_size_ratio"]["mean"] == pytest.approx(1.0)
    assert m["solved"]["rate"] == 1.0


def test_null_engine_fixes_nothing(eval_runs):
    m = eval_runs["null"]["metrics"]["overall"]
    assert m["fix_rate"]["hits"] == 0 and m["gates"]["G0"]["hits"] == 0
    assert m["classification"]["fp_filter_rate"]["hits"] == 0
    assert m["solved"]["hits"] == 0
    c = m["classification"]  # no opinion is an abstention, not a "real" prediction (was precision 0.66, recall 1)
    assert c["abstained"] == m["samples"] and c["precision"] is None and c["recall"] == 0.0


def test_saboteur_is_caught_by_functional_or_exploit_tests(eval_runs):
    for case_id, o in eval_runs["saboteur"]["outcomes"].items():
        if o["label"] != "true_positive":
            continue
        assert o["gates"]["G0"], (case_id, o["gate_details"])  # the sabotage applied…
        assert not (o["gates"]["G2"] and o["gates"]["G3"]), case_id  # …and tests caught it
        assert not o["fixed"]
    m = eval_runs["saboteur"]["metrics"]["overall"]
    assert m["fix_rate"]["hits"] == 0
    # deleting the sink satisfies the scanner: the re-scan gate alone would have called these fixed
    assert m["gates"]["G4"]["rate"] > 0.5


def test_builtin_numbers_follow_its_fixers(eval_runs, all_cases):
    """Bounds derived from what the builtin engine does: fixers for shell commands without shell syntax, plain
    yaml.load, tar extraction, secret-looking random values, security-named weak hashes (not passwords), verify=False,
    SQL values that can be bound, jinja2 autoescape, secret-named literals (read from the environment, which this
    case's module-level use cannot survive), XML parsers (defusedxml or safe parser flags) and key-prefix MACs
    (hmac); a false-positive verdict only for constant input, dead code, an allowlist or test code; nothing for
    pickle, eval, SSRF, password hashing."""
    run = eval_runs["builtin"]
    m = run["metrics"]["overall"]
    assert 0.25 <= m["fix_rate"]["rate"] <= 0.65
    assert m["classification"]["tp_miss_rate"]["hits"] == 0  # never dismisses a real vulnerability
    assert m["insecure_but_functional"]["hits"] == 0  # a builtin patch that applies is a sound patch
    for o in run["outcomes"].values():
        if o["label"] == "true_positive" and o["gates"]["G0"] and o["proposal_state"] != "failed":
            assert o["fixed"], (o["case_id"], o["gate_details"])  # what the pipeline accepts holds
        if o["label"] == "true_positive" and o["proposal_state"] == "failed":
            assert not o["fixed"], o["case_id"]  # a proposal the pipeline rejected is never counted as fixed
        if o["label"] == "true_positive" and not o["gates"]["G0"]:
            assert o["error"], o["case_id"]  # declined with a reason
    by_cwe = run["metrics"]["per_cwe"]
    for cwe in ("CWE-94", "CWE-798", "CWE-918", "CWE-916"):
        assert by_cwe[cwe]["fix_rate"]["hits"] == 0, cwe
    dismissed = {cid for cid, o in run["outcomes"].items() if o["dismissed"]}
    assert dismissed and all(run["outcomes"][c]["label"] == "false_positive" for c in dismissed)
    reasons = {next(c for c in all_cases if c.id == cid).reason.split(":")[0] for cid in dismissed}
    assert reasons <= {"Constant input", "Dead code", "Allowlisted", "Test code"}


def test_rescore_reproduces_metrics_without_running(eval_runs):
    run = eval_runs["builtin"]
    (run["dir"] / "report.html").unlink()
    again = rescore(run["dir"])
    assert again == run["metrics"]  # seeded bootstrap: identical numbers
    page = (run["dir"] / "report.html").read_text()
    assert "<svg" in page and "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
    report = (run["dir"] / "report.md").read_text()
    assert "| G3 | hidden exploit tests: baseline's ids, all pass |" in report and "**Contamination.**" in report
    assert "## Per CWE: false positives" in report and "abstained" in report
