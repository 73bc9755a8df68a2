"""Benchmark: prompt tokens per finding for the classify and draft prompts, and the share of the budget used.

Scans a copy of examples/billing with bandit (no model, nothing sent), renders the exact prompts `suture fix`
would send for every finding (agent.preview.preview_prompt: context gathering, redaction, budget, templates),
and reports median and p90 of the prompt tokens and of the code context's share of its token budget, per task.
The render time per prompt is reported too, next to a baseline measured in the same process (building the
context alone), so the ratio says what prompt rendering adds.

    python evals/perf/prompt_tokens.py [--model openai/gpt-4.1] [--json-only]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from agent import scanners
from agent.attempt import prepare
from agent.config import Settings
from agent.ingest.sarif import load_sarif, parse_sarif
from agent.preview import preview_prompt


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def scan_example(workdir: Path) -> tuple[Path, list]:
    repo = workdir / "billing"
    shutil.copytree(ROOT / "examples" / "billing", repo,
                    ignore=shutil.ignore_patterns(".suture", "__pycache__", ".pytest_cache"))
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "i"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    out = workdir / "bandit.sarif"
    run = scanners.run_scanner("bandit", repo, out)
    if run.error:
        raise SystemExit(f"bandit failed: {run.error}")
    return repo, [f for r in parse_sarif(load_sarif(out), repo).runs for f in r.findings]


def measure(repo: Path, findings: list, settings: Settings) -> dict:
    started = time.perf_counter()
    for finding in findings:
        prepare(finding, repo, settings)
    baseline_s = (time.perf_counter() - started) / len(findings)
    report: dict = {"model": settings.model, "findings": len(findings),
                    "context_only_ms_per_finding": round(baseline_s * 1000, 2), "tasks": {}}
    for task in ("classify", "draft"):
        started = time.perf_counter()
        previews = [preview_prompt(f, repo, settings, task) for f in findings]
        per = (time.perf_counter() - started) / len(findings)
        tokens = [p.prompt_tokens for p in previews]
        shares = [p.context.tokens_used / p.context.token_budget for p in previews if p.context.token_budget]
        report["tasks"][task] = {
            "prompt_tokens_median": statistics.median(tokens), "prompt_tokens_p90": p90(tokens),
            "prompt_tokens_max": max(tokens),
            "budget": previews[0].context.token_budget,
            "budget_share_median": round(statistics.median(shares), 4), "budget_share_p90": round(p90(shares), 4),
            "findings_with_drops": sum(1 for p in previews if p.context.dropped),
            "ms_per_prompt": round(per * 1000, 2), "ratio_vs_context_only": round(per / baseline_s, 2),
            "tokens_exact": all(p.tokens_exact for p in previews),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="litellm model string (sets tokenizer and budget)")
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo, findings = scan_example(Path(tmp))
        report = measure(repo, findings, Settings(model=args.model))
    if not args.json_only:
        print(f"{report['findings']} bandit findings on examples/billing, model {report['model'] or '(none)'}")
        print(f"{'task':<9} {'median':>7} {'p90':>6} {'max':>6} {'budget':>7} {'share med':>9} {'share p90':>9} "
              f"{'ms/prompt':>9} {'×ctx':>5}")
        for task, t in report["tasks"].items():
            print(f"{task:<9} {t['prompt_tokens_median']:>7} {t['prompt_tokens_p90']:>6} {t['prompt_tokens_max']:>6} "
                  f"{t['budget']:>7} {t['budget_share_median']:>9.1%} {t['budget_share_p90']:>9.1%} "
                  f"{t['ms_per_prompt']:>9} {t['ratio_vs_context_only']:>5}")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
