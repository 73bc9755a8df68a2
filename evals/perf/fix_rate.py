"""Builtin fix rate: what the builtin engine drafts for every labelled real vulnerability here, per fixer class.

Two sets of labelled code that no fixer was tuned on case by case:

* **smoke** — evals/cases/*, the true-positive cases: the finding is produced as the eval harness does (a real
  bandit run, or the case's SARIF), `BuiltinEngine.draft` runs on it, and a draft's edits are applied to a copy of
  the case's repo where pytest then runs the repo's own tests and the case's hidden exploit test. *fixed* = a
  draft whose patched copy passes both (the property the exploit test encodes holds, nothing broke); the eval
  harness (`suture eval --engine builtin`) judges more strictly (re-scan, regression gates).
* **labelled** — evals/dismissal/labelled.toml, the cases labelled real: the bandit finding at the flagged line;
  *drafted* = the builtin engine produced a patch (no tests exist for these snippets).

Each finding is counted under the fixer that spoke for it (the draft's fixer, or "no fixer" when none handles
its rule/code), as drafted or declined with the reason. The baseline, measured in the same process on the same
findings: the engine with only the fixers that existed before issue 13 (yaml_load, tar_extract, insecure_random,
weak_hash, tls_verify, shell_command — the last keeps its issue-13 os.popen/`--` additions, which cannot be
separated). Also prints the dismissal figures of evals/dismissal_quality.py.

Usage: python evals/perf/fix_rate.py [--json] [--no-tests]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "evals"))

import dismissal_quality

import agent.engines.builtin.fixers as fixers_module
from agent.engines.builtin import BuiltinEngine
from agent.evals.cases import load_cases
from agent.evals.runner import pick_target, produce_findings
from agent.models import Context, Finding, Location
from agent.patch.apply import apply_edits

BEFORE_ISSUE_13 = frozenset({"yaml_load", "tar_extract", "insecure_random", "weak_hash", "tls_verify", "shell_command"})


@contextmanager
def only_fixers(names: frozenset[str] | None):
    """The builtin engine with only the named fixers (None: all of them)."""
    saved = fixers_module.FIXERS
    if names is not None:
        fixers_module.FIXERS = tuple(f for f in saved if f.name in names)
    try:
        yield
    finally:
        fixers_module.FIXERS = saved


def _draft(finding: Finding, project: Path) -> dict:
    draft = BuiltinEngine().draft(finding, Context(finding_id=finding.id), project)
    return {"fixer": draft.model_params.get("fixer", "no fixer"), "drafted": bool(draft.edits),
            "edits": draft.edits, "reason": draft.error or ""}


def _passes(repo: Path, case_root: Path) -> tuple[bool, str]:
    """The repo's tests and the hidden exploit test on the patched copy: (all passed, last output line)."""
    hidden = case_root / "hidden"
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-n0",
               "--rootdir", str(repo), str(repo), str(hidden)]
    try:
        run = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        return False, "timed out"
    lines = (run.stdout or run.stderr).strip().splitlines()
    return run.returncode == 0, lines[-1] if lines else ""


def smoke_set(run_tests: bool) -> list[dict]:
    rows: list[dict] = []
    for case in (c for c in load_cases() if c.label == "true_positive"):
        with tempfile.TemporaryDirectory(prefix="fix-rate-") as tmp:
            repo = Path(tmp) / "repo"
            shutil.copytree(case.repo, repo, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
            found, _ = produce_findings(case, repo, Path(tmp))
            target = pick_target(case, found)
            if target is None:
                rows.append({"set": "smoke", "id": case.id, "rule": case.finding.rule, "error": "no target finding"})
                continue
            row = {"set": "smoke", "id": case.id, "rule": target.rule_id, "cwe": case.cwe}
            for variant, names in (("now", None), ("before", BEFORE_ISSUE_13)):
                with only_fixers(names):
                    result = _draft(target, repo)
                fixed = None
                if result["drafted"] and run_tests:
                    patched = Path(tmp) / f"patched-{variant}"
                    shutil.copytree(repo, patched)
                    apply_edits(patched, result["edits"])
                    fixed, result["tests"] = _passes(patched, case.root)
                row[variant] = {k: v for k, v in result.items() if k != "edits"} | {"fixed": fixed}
            rows.append(row)
    return rows


def labelled_set() -> list[dict]:
    rows: list[dict] = []
    for case in (c for c in dismissal_quality.load_cases() if c["label"] == "real"):
        code = case["code"].lstrip("\n")
        line = next(n for n, text in enumerate(code.splitlines(), 1) if "# FLAG" in text)
        with tempfile.TemporaryDirectory(prefix="fix-rate-") as tmp:
            path = Path(tmp) / case["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code)
            finding = Finding(id=case["id"], tool="bandit", rule_id=case["rule"], message=case["reason"],
                              cwe=list(case.get("cwe", [])), location=Location(path=case["path"], start_line=line))
            row = {"set": "labelled", "id": case["id"], "rule": case["rule"]}
            for variant, names in (("now", None), ("before", BEFORE_ISSUE_13)):
                with only_fixers(names):
                    result = _draft(finding, Path(tmp))
                row[variant] = {k: v for k, v in result.items() if k != "edits"} | {"fixed": None}
        rows.append(row)
    return rows


def summarize(rows: list[dict], variant: str) -> dict:
    usable = [r for r in rows if variant in r]
    per_fixer: dict[str, dict[str, int]] = defaultdict(lambda: {"findings": 0, "drafted": 0, "fixed": 0})
    for r in usable:
        entry = per_fixer[r[variant]["fixer"]]
        entry["findings"] += 1
        entry["drafted"] += r[variant]["drafted"]
        entry["fixed"] += bool(r[variant]["fixed"])
    return {"findings": len(usable), "drafted": sum(r[variant]["drafted"] for r in usable),
            "fixed": sum(bool(r[variant]["fixed"]) for r in usable),
            "per_fixer": dict(sorted(per_fixer.items()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print every row and the figures as JSON")
    parser.add_argument("--no-tests", action="store_true", help="smoke set: drafts only, no pytest runs")
    args = parser.parse_args(argv)
    smoke, labelled = smoke_set(not args.no_tests), labelled_set()
    figures = {name: {v: summarize(rows, v) for v in ("now", "before")}
               for name, rows in (("smoke", smoke), ("labelled", labelled))}
    dismissal = dismissal_quality.measure(dismissal_quality.load_cases())
    if args.json:
        print(json.dumps({"figures": figures, "rows": smoke + labelled, "dismissal": dismissal}, indent=2,
                         default=str))
        return 0
    for name, rows in (("smoke", smoke), ("labelled", labelled)):
        now, before = figures[name]["now"], figures[name]["before"]
        measure = "fixed (tests + exploit test pass)" if name == "smoke" and not args.no_tests else "drafted"
        key = "fixed" if measure.startswith("fixed") else "drafted"
        print(f"\n{name}: {now['findings']} real vulnerabilities; {measure}: {now[key]} "
              f"({now[key] / max(now['findings'], 1):.0%}) vs {before[key]} with the fixers before issue 13 "
              f"(ratio {now[key] / max(before[key], 1):.2f}x); drafted {now['drafted']}")
        print(f"  {'fixer':18} findings drafted {'fixed' if key == 'fixed' else ''}")
        for fixer, e in now["per_fixer"].items():
            print(f"  {fixer:18} {e['findings']:8} {e['drafted']:7} {e['fixed'] if key == 'fixed' else ''}")
        for r in rows:
            if "now" not in r:
                print(f"  ! {r['id']}: {r.get('error')}")
            elif not r["now"]["drafted"] or (key == "fixed" and not r["now"]["fixed"]):
                why = r["now"]["reason"] or r["now"].get("tests", "")
                print(f"  - {r['id']} ({r['rule']}): {r['now']['fixer']}: {why[:160]}")
    print(f"\ndismissal (evals/dismissal_quality.py): false positives dismissed {dismissal['fp_dismissed']}/"
          f"{dismissal['false_positives']} ({dismissal['fp_dismissed_rate']:.0%}; goal >= 50%), real flaws "
          f"dismissed {dismissal['real_dismissed']}/{dismissal['real']} ({dismissal['real_dismissed_rate']:.1%}; "
          "goal <= 2%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
