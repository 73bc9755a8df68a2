"""Dismissal quality of the builtin engine's static evidence on a labelled set of real-world code shapes.

Reads evals/dismissal/labelled.toml (each case: code with the flagged line marked `# FLAG`, path, bandit rule,
CWEs, label "real" / "false_positive", one-line reason), builds the finding bandit reports there, and asks
`collect_evidence` + `verdict_from_evidence` — exactly what `BuiltinEngine.classify` does — for a verdict. A case
is *dismissed* when the verdict is false_positive (which becomes a dismissal proposal).

Reports: false positives dismissed (goal ≥ 50%), real flaws dismissed (goal ≤ 2%; the test in
tests/engines/builtin/test_dismissal_quality.py holds it at 0 on this set), per rule, and each wrong dismissal.

Usage: python evals/dismissal_quality.py [--cases FILE] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.engines.builtin.evidence import collect_evidence, verdict_from_evidence
from agent.models import Finding, Location

CASES = Path(__file__).resolve().parent / "dismissal" / "labelled.toml"
LABELS = ("real", "false_positive")


def load_cases(path: Path = CASES) -> list[dict]:
    """The labelled cases, checked: every case has a known label, a reason and exactly one flagged line."""
    cases = tomllib.loads(path.read_text(encoding="utf-8"))["case"]
    for case in cases:
        if case.get("label") not in LABELS or not str(case.get("reason", "")).strip():
            raise ValueError(f"case {case.get('id')!r}: needs a label in {LABELS} and a reason")
        if sum("# FLAG" in line for line in case["code"].splitlines()) != 1:
            raise ValueError(f"case {case['id']!r}: mark exactly one line with '# FLAG'")
    return cases


def judge(case: dict) -> tuple[str | None, str]:
    """(verdict or None, rationale) the builtin engine gives the case's finding."""
    code = case["code"].lstrip("\n")
    line = next(n for n, text in enumerate(code.splitlines(), 1) if "# FLAG" in text)
    finding = Finding(id=case["id"], tool="bandit", rule_id=case["rule"], message=case["reason"],
                      cwe=list(case.get("cwe", [])), location=Location(path=case["path"], start_line=line,
                                                                        snippet=code.splitlines()[line - 1]))
    verdict = verdict_from_evidence(collect_evidence(code, finding, case["path"]))
    return (verdict.verdict, verdict.rationale) if verdict is not None else (None, "")


def measure(cases: list[dict]) -> dict:
    """Counts and rates, per label and per rule, and the cases dismissed wrongly (real) or kept (false)."""
    rows = []
    for case in cases:
        verdict, rationale = judge(case)
        rows.append({"id": case["id"], "rule": case["rule"], "label": case["label"],
                     "dismissed": verdict == "false_positive", "verdict": verdict, "rationale": rationale})
    real = [r for r in rows if r["label"] == "real"]
    false = [r for r in rows if r["label"] == "false_positive"]
    per_rule: dict[str, dict[str, int]] = {}
    for r in rows:
        entry = per_rule.setdefault(r["rule"], {"real": 0, "real_dismissed": 0, "fp": 0, "fp_dismissed": 0})
        key = "real" if r["label"] == "real" else "fp"
        entry[key] += 1
        entry[f"{key}_dismissed"] += r["dismissed"]
    return {
        "cases": len(rows), "real": len(real), "false_positives": len(false),
        "real_dismissed": sum(r["dismissed"] for r in real),
        "fp_dismissed": sum(r["dismissed"] for r in false),
        "real_dismissed_rate": sum(r["dismissed"] for r in real) / len(real) if real else 0.0,
        "fp_dismissed_rate": sum(r["dismissed"] for r in false) / len(false) if false else 0.0,
        "per_rule": dict(sorted(per_rule.items())),
        "wrongly_dismissed": [r for r in real if r["dismissed"]],
        "false_positives_kept": [r["id"] for r in false if not r["dismissed"]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = parser.parse_args(argv)
    result = measure(load_cases(args.cases))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['cases']} labelled findings: {result['real']} real, {result['false_positives']} false positives")
    print(f"false positives dismissed: {result['fp_dismissed']}/{result['false_positives']} "
          f"({result['fp_dismissed_rate']:.0%}; goal >= 50%)")
    print(f"real flaws dismissed:      {result['real_dismissed']}/{result['real']} "
          f"({result['real_dismissed_rate']:.1%}; goal <= 2%)")
    print("\nrule   real  dismissed   fp  dismissed")
    for rule, e in result["per_rule"].items():
        print(f"{rule:6} {e['real']:4}  {e['real_dismissed']:9}  {e['fp']:3}  {e['fp_dismissed']:9}")
    for r in result["wrongly_dismissed"]:
        print(f"\nWRONGLY DISMISSED {r['id']} ({r['rule']}): {r['rationale']}")
    if result["false_positives_kept"]:
        print("\nfalse positives kept for a person: " + ", ".join(result["false_positives_kept"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
