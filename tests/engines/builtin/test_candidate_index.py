"""`candidate_fixers` looks rule ids and CWEs up in indexes: the same fixers, in the same order, as asking every
fixer's `matches_rule_id` and `matches` (the definition), over the rule ids of real scanner logs and variations
of the fixers' own ids."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from agent.engines.builtin.fixers import FIXERS, RULE_ID_AUTHORITATIVE_TOOLS, candidate_fixers
from agent.models import Finding, Location

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "sarif-samples"


def _reference(finding: Finding) -> list[str]:
    by_rule = [f for f in FIXERS if f.matches_rule_id(finding)]
    if finding.tool.lower() in RULE_ID_AUTHORITATIVE_TOOLS:
        return [f.name for f in by_rule]
    return [f.name for f in by_rule + [f for f in FIXERS if f not in by_rule and f.matches(finding)]]


def _sample_rule_ids() -> set[str]:
    ids: set[str] = set()
    for log in sorted(SAMPLES.glob("*.sarif")):
        for run in json.loads(log.read_text(encoding="utf-8")).get("runs") or []:
            for result in (run or {}).get("results") or []:
                if isinstance(result.get("ruleId"), str):
                    ids.add(result["ruleId"])
    return ids


def _variants() -> set[str]:
    ids: set[str] = set()
    for rule in {r for f in FIXERS for r in f.rule_ids}:
        ids.update({rule, rule.lower(), f" {rule} ", f"{rule}:1", f"{rule}:x:y", f"pack.rules.{rule}",
                    f"pack.rules.{rule}:v2", f"{rule}0", f"X{rule}", f"{rule}.other", f"{rule}:", f"a:{rule}"})
    return ids | {"", ".", ":", "CVE-2021-35608", "python.lang.security.audit.dangerous-system-call",
                  "B10", "B1055"}


def test_the_index_gives_what_every_fixer_says_of_itself():
    rule_ids = _variants() | (_sample_rule_ids() if SAMPLES.is_dir() else set())
    cwes = sorted({c for f in FIXERS for c in f.cwe} | {20, 703})
    cwe_sets = [()] + [(c,) for c in cwes] + list(itertools.combinations(cwes[:6], 2))
    asked = 0
    for tool, rule_id, cwe in itertools.product(("bandit", "Bandit", "semgrep", "codeql", "trivy"), rule_ids,
                                                cwe_sets):
        finding = Finding(id="f", tool=tool, rule_id=rule_id, message="m", cwe=list(cwe),
                          location=Location(path="a.py", start_line=1, end_line=1))
        assert [f.name for f in candidate_fixers(finding)] == _reference(finding), (tool, rule_id, cwe)
        asked += 1
    assert asked > 10_000


def test_the_real_logs_rule_ids_are_in_that_comparison():
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared scanner logs are not at {SAMPLES} (CI has them beside the checkout)")
    assert len(_sample_rule_ids()) > 50
