"""Paired comparison of two eval runs over the cases both ran: is B better than A, worse, or is it noise?

Each case is "solved" (a true positive fixed through every gate, or a false positive dismissed) or not, in each run;
with several samples a case counts as solved when most of its samples are. The exact McNemar test on the discordant
cases (solved only in A, solved only in B) gives a two-sided p-value; below `alpha` the run with more wins is
better, otherwise the difference is noise.

A comparison is only meaningful over the same case files: `compare_runs` refuses runs whose shared cases have
different digests (or, without digests, different dataset versions) unless `allow_changed` is set, and then puts
a warning in the result naming the changed cases. `leaderboard` lines up many runs the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from agent.evals.harness import EvalError, load_run, run_label
from agent.evals.metrics import mcnemar_exact, solved


@dataclass
class Comparison:
    a: str
    b: str
    cases: int
    both: int
    neither: int
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    p_value: float = 1.0
    verdict: str = "noise"  # "better" / "worse" means B relative to A
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _per_case(outcomes: list[dict]) -> dict[str, bool]:
    groups: dict[str, list[bool]] = {}
    for o in outcomes:
        groups.setdefault(o["case_id"], []).append(solved(o))
    return {cid: sum(v) * 2 > len(v) for cid, v in groups.items()}


def compare_outcomes(a: list[dict], b: list[dict], label_a: str = "A", label_b: str = "B",
                     alpha: float = 0.05) -> Comparison:
    sa, sb = _per_case(a), _per_case(b)
    common = sorted(set(sa) & set(sb))
    if not common:
        raise EvalError("the two runs share no case")
    only_a = [c for c in common if sa[c] and not sb[c]]
    only_b = [c for c in common if sb[c] and not sa[c]]
    p = mcnemar_exact(len(only_a), len(only_b))
    verdict = "noise" if p >= alpha else ("better" if len(only_b) > len(only_a) else "worse")
    return Comparison(label_a, label_b, len(common), sum(sa[c] and sb[c] for c in common),
                      sum(not sa[c] and not sb[c] for c in common), only_a, only_b, round(p, 6), verdict)


def dataset_differences(meta_a: dict, meta_b: dict) -> list[str]:
    """Why two runs did not run the same case files: shared cases with different digests, or a missing digest."""
    cases_a, cases_b = meta_a.get("cases") or {}, meta_b.get("cases") or {}
    shared = sorted(set(cases_a) & set(cases_b))
    changed = [c for c in shared if (cases_a[c] or {}).get("digest") != (cases_b[c] or {}).get("digest")]
    unknown = [c for c in shared if not (cases_a[c] or {}).get("digest") or not (cases_b[c] or {}).get("digest")]
    problems = []
    if unknown:
        problems.append(f"{len(unknown)} shared case(s) have no recorded digest: {', '.join(unknown[:5])}")
    changed = [c for c in changed if c not in unknown]
    if changed:
        problems.append(f"{len(changed)} case(s) changed between the runs: {', '.join(changed[:5])}")
    split_a, split_b = (meta_a.get("dataset") or {}).get("split"), (meta_b.get("dataset") or {}).get("split")
    if split_a and split_b and split_a != split_b:
        problems.append(f"different splits: {split_a} vs {split_b}")
    return problems


def compare_runs(run_a: Path, run_b: Path, alpha: float = 0.05, allow_changed: bool = False) -> Comparison:
    meta_a, out_a = load_run(run_a)
    meta_b, out_b = load_run(run_b)
    problems = dataset_differences(meta_a, meta_b)
    if problems and not allow_changed:
        raise EvalError("the runs did not use the same case versions (" + "; ".join(problems)
                        + "); re-run one of them, or pass --allow-changed-cases to compare anyway")
    result = compare_outcomes(out_a, out_b, f"{run_a} ({run_label(meta_a)})", f"{run_b} ({run_label(meta_b)})",
                              alpha)
    result.warnings = [f"WARNING: {p}; the comparison mixes case versions" for p in problems]
    return result


def leaderboard(run_dirs: list[Path]) -> tuple[list[dict], list[str]]:
    """One row per run (best solved rate first) and warnings when the runs used different case versions."""
    from agent.evals.harness import rescore

    rows, metas = [], []
    for run_dir in run_dirs:
        meta, _ = load_run(run_dir)
        metas.append(meta)
        metrics_path = run_dir / "metrics.json"
        try:
            m = json.loads(metrics_path.read_text(encoding="utf-8"))["overall"]
        except (OSError, ValueError, KeyError):
            m = rescore(run_dir)["overall"]
        c = m["classification"]
        rows.append({"run": str(run_dir), "label": run_label(meta),
                     "dataset": (meta.get("dataset") or {}).get("version", "unknown"),
                     "cases": len(meta.get("cases") or {}), "samples": m["samples"],
                     "solved": m["solved"]["rate"], "fix_rate": m["fix_rate"]["rate"],
                     "fix_at_k": {k: v["rate"] for k, v in m.items() if k.startswith("fix@")},
                     "insecure_but_functional": m["insecure_but_functional"]["rate"],
                     "fp_filtered": c["fp_filter_rate"]["rate"], "tp_dismissed": c["tp_miss_rate"]["rate"],
                     "abstained": c.get("abstained"), "brier": c["brier"], "brier_n": c["brier_n"],
                     "cost_per_fix": m["cost_usd"].get("per_validated_fix")})
    warnings = []
    for meta, row in zip(metas[1:], rows[1:], strict=True):
        problems = dataset_differences(metas[0], meta)
        if problems or row["dataset"] != rows[0]["dataset"]:
            warnings.append(f"WARNING: {row['run']} did not run the same case versions as {rows[0]['run']}"
                            + (f" ({'; '.join(problems)})" if problems else " (different case sets)"))
    rows.sort(key=lambda r: (-(r["solved"] or 0), r["run"]))
    return rows, warnings
