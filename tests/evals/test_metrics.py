"""Metric math against known values."""

from __future__ import annotations

import pytest

from agent.evals.metrics import (
    bootstrap_ci,
    brier,
    compute_metrics,
    mcnemar_exact,
    pass_at_k,
    percentile,
    summarize,
    wilson,
)


def test_wilson_known_values():
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_pass_at_k_unbiased_estimator():
    assert pass_at_k(5, 1, 1) == pytest.approx(0.2)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # 1 - C(3,2)/C(5,2)
    assert pass_at_k(10, 0, 3) == 0.0
    assert pass_at_k(4, 2, 3) == 1.0  # fewer than k failures: some draw must succeed
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def test_mcnemar_exact():
    assert mcnemar_exact(0, 5) == pytest.approx(0.0625)
    assert mcnemar_exact(1, 6) == pytest.approx(2 * (1 + 7) / 128)
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)
    assert mcnemar_exact(3, 3) == 1.0 and mcnemar_exact(0, 0) == 1.0


def test_brier_and_percentiles_and_bootstrap():
    assert brier([1.0, 0.0], [1, 0]) == 0.0
    assert brier([0.5, 0.5], [1, 0]) == 0.25
    assert brier([0.9], [0]) == pytest.approx(0.81)
    assert percentile([1, 2, 3, 4], 50) == 2.5 and percentile([5], 90) == 5
    lo, hi = bootstrap_ci([0.0, 1.0] * 20)
    assert lo < 0.5 < hi and bootstrap_ci([0.0, 1.0] * 20) == (lo, hi)


def _o(case, label, fixed=False, dismissed=False, predicted=None, confidence=None, sample=0):
    gates = dict.fromkeys(("G0", "G1", "G2", "G3", "G4"), fixed)
    return {"case_id": case, "sample": sample, "cwe": 78, "label": label, "fixed": fixed, "dismissed": dismissed,
            "predicted": predicted, "confidence": confidence, "gates": gates}


def test_summary_classification_and_fix_at_k():
    outcomes = [_o("a", "true_positive", fixed=True, sample=0), _o("a", "true_positive", sample=1),
                _o("b", "true_positive", sample=0), _o("b", "true_positive", sample=1, dismissed=True,
                                                        predicted="false_positive", confidence=0.8),
                _o("c", "false_positive", dismissed=True, predicted="false_positive", confidence=0.9),
                _o("c", "false_positive", sample=1)]
    m = summarize(outcomes, k=2)
    assert m["fix_rate"]["hits"] == 1 and m["fix_rate"]["n"] == 4
    assert m["fix@1"]["rate"] == pytest.approx(0.25) and m["fix@2"]["rate"] == pytest.approx(0.5)
    c = m["classification"]
    assert c["tp_miss_rate"]["hits"] == 1 and c["fp_filter_rate"]["hits"] == 1
    # four outcomes have no verdict: abstentions, never counted as "real" predictions
    assert c["abstained"] == 4 and c["verdicts"] == 2 and c["coverage"] == pytest.approx(2 / 6)
    assert c["precision"] is None and c["recall"] == 0.0
    assert c["brier"] == pytest.approx(((0.2 - 1) ** 2 + (0.1 - 0) ** 2) / 2)
    assert c["brier_n"] == 2 and c["brier_coverage"] == pytest.approx(2 / 6)


def test_an_engine_without_verdicts_abstains_and_has_no_precision():
    """The null engine used to score precision 0.66 and recall 1.0 by having no opinion."""
    outcomes = [_o(f"t{i}", "true_positive") for i in range(21)] + [_o(f"f{i}", "false_positive") for i in range(11)]
    c = summarize(outcomes)["classification"]
    assert c["precision"] is None and c["recall"] == 0.0 and c["f1"] is None
    assert c["abstained"] == 32 and c["coverage"] == 0.0 and c["brier"] is None and c["brier_coverage"] == 0.0
    saying_real = [{**o, "predicted": "true_positive", "confidence": 0.7} for o in outcomes]
    c = summarize(saying_real)["classification"]
    assert c["precision"] == pytest.approx(21 / 32) and c["recall"] == 1.0 and c["abstained"] == 0


def test_per_cwe_tables_keep_real_and_false_positive_cases_apart():
    outcomes = [_o("t", "true_positive", fixed=True), _o("f", "false_positive", dismissed=True,
                                                          predicted="false_positive", confidence=0.9)]
    m = compute_metrics(outcomes)
    assert m["per_cwe_real"]["CWE-78"]["samples"] == 1 and m["per_cwe_real"]["CWE-78"]["fix_rate"]["rate"] == 1.0
    assert m["per_cwe_false_positive"]["CWE-78"]["classification"]["fp_filter_rate"]["rate"] == 1.0
    assert m["per_cwe_false_positive"]["CWE-78"]["true_positive_samples"] == 0


def test_latency_and_tokens_per_call_and_cost_per_fix():
    a = {**_o("a", "true_positive", fixed=True), "original_cost_usd": 0.3, "usage": {"cost_usd": 0.0},
         "calls": [{"kind": "classify", "latency_s": 1.0, "prompt_tokens": 10, "completion_tokens": 2},
                   {"kind": "draft", "latency_s": 3.0, "prompt_tokens": 50, "completion_tokens": 20}]}
    b = {**_o("b", "true_positive"), "original_cost_usd": 0.1, "usage": {"cost_usd": 0.1},
         "calls": [{"kind": "classify", "latency_s": 2.0, "prompt_tokens": 12, "completion_tokens": 3}]}
    m = summarize([a, b])
    assert m["calls"]["classify"]["n"] == 2 and m["calls"]["classify"]["latency_p50"] == pytest.approx(1.5)
    assert m["calls"]["draft"]["prompt_tokens"] == 50 and m["calls"]["all"]["n"] == 3
    assert m["cost_usd"]["total"] == pytest.approx(0.1)  # what this (partly cached) run spent
    assert m["cost_usd"]["original"] == pytest.approx(0.4) and m["cost_usd"]["per_validated_fix"] == pytest.approx(0.4)
