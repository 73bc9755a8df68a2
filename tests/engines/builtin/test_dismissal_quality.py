"""The labelled dismissal set (evals/dismissal/labelled.toml): no real flaw is dismissed, most false positives are."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "evals" / "dismissal_quality.py"


def load_script():
    spec = importlib.util.spec_from_file_location("dismissal_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_real_flaw_is_dismissed_and_most_false_positives_are() -> None:
    quality = load_script()
    cases = quality.load_cases()
    assert len(cases) >= 60 and len({c["id"] for c in cases}) == len(cases)
    result = quality.measure(cases)
    assert result["real"] >= 30 and result["false_positives"] >= 30
    assert result["wrongly_dismissed"] == []  # the measured code dismissed 5 of these 37 real flaws
    assert result["fp_dismissed_rate"] >= 0.5  # ... and 5 of the 33 false positives
