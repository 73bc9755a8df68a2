"""Metric math against known values."""

from __future__ import annotations

import pytest

from agent.evals.metrics import bootstrap_ci, brier, mcnemar_exact, pass_at_k, percentile, summarize, wilson


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
    assert c["precision"] == pytest.approx(3 / 4) and c["recall"] == pytest.approx(3 / 4)
    assert c["brier"] == pytest.approx(((0.2 - 1) ** 2 + (0.1 - 0) ** 2) / 2)
