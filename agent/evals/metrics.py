"""Scores from eval outcomes: rates with Wilson intervals, fix@k, classification, calibration, cost and size.

Definitions (one outcome per case and sample; a case's label decides which metrics it feeds):
* fix: a true-positive case whose proposal passes every gate G0–G4. fix rate = fixed / TP samples.
* fix@k: the unbiased estimator 1 - C(n-c, k) / C(n, k) per case (n samples, c fixed), averaged over TP cases.
* insecure-but-functional: G0–G2 pass but G3 or G4 fails (a patch that looks fine and is not).
* fix@k is defined only for sampled runs (k samples per case drawn at temperature > 0, `sampled` in run.json);
  for a deterministic engine or temperature 0 only fix@1 is reported, since k identical answers are one draw.
* classification: positive = "a real vulnerability". An engine that returns no verdict (or "uncertain")
  *abstains*: abstentions are counted apart (`abstained`, `coverage` = share of outcomes with a verdict) and are
  never read as a prediction. Precision is over true-positive verdicts; recall is over every real case (an
  abstention on a real case is a miss, so an engine with no opinion gets recall 0, not 1).
  An engine *dismisses* a finding by returning a false-positive verdict.
  FP filter rate = dismissed FP cases / FP cases; TP miss rate = dismissed TP cases / TP cases (the costly error).
* Brier score over outcomes with a verdict (`brier_n` of `samples`, reported with its coverage): p(real) =
  confidence for true_positive, 1 - confidence for false_positive; outcome 1 for a real vulnerability.
* cost: `this_run` is what this run spent (0 for answers replayed from the cache); `original` keeps what the
  answers cost when first produced (`original_cost_usd` per outcome); cost per validated fix = original / fixes.
* latency and tokens: per engine call (every classify and draft call the orchestrator made, `calls` per outcome).
* solved: TP fixed, or FP dismissed — the per-case success used by `compare`.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

Z95 = 1.959963984540054
GATES = ("G0", "G1", "G2", "G3", "G4")


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimator (Chen et al. 2021): probability that at least one of k draws from n is correct."""
    if k > n:
        raise ValueError(f"k={k} needs at least k samples, got n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts b (A only) and c (B only)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def brier(probabilities: Sequence[float], outcomes: Sequence[int]) -> float | None:
    if not probabilities:
        return None
    return sum((p - o) ** 2 for p, o in zip(probabilities, outcomes, strict=True)) / len(probabilities)


def bootstrap_ci(values: Sequence[float], iterations: int = 2000, seed: int = 0) -> tuple[float, float] | None:
    """95% percentile bootstrap interval of the mean (seeded, so reports are reproducible)."""
    if not values:
        return None
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(rng.choice(values) for _ in range(n)) / n for _ in range(iterations))
    return means[int(0.025 * iterations)], means[int(0.975 * iterations) - 1]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _rate(hits: int, n: int) -> dict[str, Any]:
    lo, hi = wilson(hits, n)
    return {"rate": hits / n if n else None, "hits": hits, "n": n, "ci95": [round(lo, 4), round(hi, 4)]}


def p_real(outcome: dict) -> float | None:
    """The engine's probability that the finding is a real vulnerability, or None without a verdict."""
    verdict, conf = outcome.get("predicted"), outcome.get("confidence")
    if verdict is None or conf is None:
        return None
    return {"true_positive": conf, "false_positive": 1 - conf}.get(verdict, 0.5)


def solved(outcome: dict) -> bool:
    return bool(outcome.get("fixed")) if outcome["label"] == "true_positive" else bool(outcome.get("dismissed"))


def summarize(outcomes: list[dict], k: int = 1) -> dict[str, Any]:
    """All metrics for one group of outcomes (a CWE, or everything)."""
    tp = [o for o in outcomes if o["label"] == "true_positive"]
    fp = [o for o in outcomes if o["label"] == "false_positive"]
    by_case: dict[str, list[dict]] = defaultdict(list)
    for o in tp:
        by_case[o["case_id"]].append(o)
    n_min = min((len(v) for v in by_case.values()), default=0)
    fix_at: dict[str, Any] = {}
    for kk in sorted({1, k}):
        if by_case and kk <= n_min:
            per_case = [pass_at_k(len(v), sum(bool(o["fixed"]) for o in v), kk) for v in by_case.values()]
            ci = bootstrap_ci(per_case)
            fix_at[f"fix@{kk}"] = {"rate": sum(per_case) / len(per_case), "n_cases": len(per_case),
                                   "ci95": [round(ci[0], 4), round(ci[1], 4)] if ci else None}
    dismissed_tp = sum(bool(o.get("dismissed")) for o in tp)
    dismissed_fp = sum(bool(o.get("dismissed")) for o in fp)
    said_real = [o for o in outcomes if o.get("predicted") == "true_positive"]
    said_fp = [o for o in outcomes if o.get("predicted") == "false_positive"]
    abstained = len(outcomes) - len(said_real) - len(said_fp)
    hits = sum(o["label"] == "true_positive" for o in said_real)
    precision = hits / len(said_real) if said_real else None
    recall = hits / len(tp) if tp else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else (0.0 if precision is not None
                                                                                      and recall is not None else None)
    said = [(p_real(o), 1 if o["label"] == "true_positive" else 0) for o in outcomes]
    scored = [(p, y) for p, y in said if p is not None]
    usage = [o.get("usage") or {} for o in outcomes]
    latencies = [o.get("latency_s") or 0.0 for o in outcomes]
    calls = [c for o in outcomes for c in o.get("calls") or []]
    original = sum(float(o.get("original_cost_usd", (o.get("usage") or {}).get("cost_usd", 0.0)) or 0.0)
                   for o in outcomes)
    fixes = sum(bool(o["fixed"]) for o in tp)
    ratios = [o["diff_lines"] / o["reference_diff_lines"] for o in tp
              if o.get("diff_lines") and o.get("reference_diff_lines")]
    recalls = [o["context_recall"] for o in tp if o.get("context_recall") is not None]
    patched = [o for o in tp if o["gates"].get("G0")]
    return {
        "samples": len(outcomes), "true_positive_samples": len(tp), "false_positive_samples": len(fp),
        "invalid_cases": sorted({o["case_id"] for o in outcomes if o.get("invalid_case")}),
        "fix_rate": _rate(sum(bool(o["fixed"]) for o in tp), len(tp)),
        **fix_at,
        "gates": {g: _rate(sum(bool(o["gates"].get(g)) for o in tp), len(tp)) for g in GATES},
        "insecure_but_functional": _rate(
            sum(1 for o in tp if all(o["gates"].get(g) for g in ("G0", "G1", "G2"))
                and not (o["gates"].get("G3") and o["gates"].get("G4"))), len(tp)),
        "solved": _rate(sum(solved(o) for o in outcomes), len(outcomes)),
        "classification": {
            "precision": precision, "recall": recall, "f1": f1,
            "verdicts": len(said_real) + len(said_fp), "abstained": abstained,
            "coverage": (len(said_real) + len(said_fp)) / len(outcomes) if outcomes else None,
            "fp_filter_rate": _rate(dismissed_fp, len(fp)), "tp_miss_rate": _rate(dismissed_tp, len(tp)),
            "brier": brier([p for p, _ in scored], [y for _, y in scored]), "brier_n": len(scored),
            "brier_coverage": len(scored) / len(outcomes) if outcomes else None,
        },
        "diff_size_ratio": {"mean": sum(ratios) / len(ratios) if ratios else None, "n": len(ratios),
                            "ci95": bootstrap_ci(ratios)},
        "context_recall": {"mean": sum(recalls) / len(recalls) if recalls else None, "n": len(recalls),
                           "ci95": bootstrap_ci(recalls)},
        "tokens": {"prompt": sum(u.get("prompt_tokens", 0) for u in usage),
                   "completion": sum(u.get("completion_tokens", 0) for u in usage),
                   "calls": sum(u.get("calls", 0) for u in usage),
                   "cached_calls": sum(u.get("cached_calls", 0) for u in usage)},
        "cost_usd": {"total": round(sum(u.get("cost_usd", 0.0) for u in usage), 6),
                     "original": round(original, 6),
                     "per_validated_fix": round(original / fixes, 6) if fixes else None,
                     "known": all(u.get("cost_known", True) for u in usage)},
        "latency_s": {"p50": percentile(latencies, 50), "p90": percentile(latencies, 90)},
        "calls": _call_stats(calls),
        "patched_true_positives": len(patched),
    }


def _call_stats(calls: list[dict]) -> dict[str, Any]:
    """Latency and tokens per engine call, overall and by kind (classify / draft)."""
    def stats(group: list[dict]) -> dict[str, Any]:
        lat = [c.get("latency_s", 0.0) for c in group]
        return {"n": len(group), "cached": sum(bool(c.get("cached")) for c in group),
                "failed": sum(bool(c.get("failed")) for c in group),
                "latency_p50": percentile(lat, 50), "latency_p90": percentile(lat, 90),
                "prompt_tokens": sum(c.get("prompt_tokens", 0) for c in group),
                "completion_tokens": sum(c.get("completion_tokens", 0) for c in group)}
    kinds = sorted({c.get("kind", "?") for c in calls})
    return {"all": stats(calls), **{kind: stats([c for c in calls if c.get("kind") == kind]) for kind in kinds}}


def compute_metrics(outcomes: list[dict], k: int = 1) -> dict[str, Any]:
    """Overall and per-CWE metrics; per CWE, real (true-positive) and false-positive cases apart."""
    per_cwe: dict[str, list[dict]] = defaultdict(list)
    for o in outcomes:
        per_cwe[f"CWE-{o['cwe']}"].append(o)
    order = sorted(per_cwe.items(), key=lambda kv: int(kv[0][4:]))
    return {"overall": summarize(outcomes, k),
            "per_cwe": {cwe: summarize(v, k) for cwe, v in order},
            "per_cwe_real": {cwe: summarize(r, k) for cwe, v in order
                             if (r := [o for o in v if o["label"] == "true_positive"])},
            "per_cwe_false_positive": {cwe: summarize(f, k) for cwe, v in order
                                       if (f := [o for o in v if o["label"] == "false_positive"])}}
