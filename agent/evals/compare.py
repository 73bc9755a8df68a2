"""Paired comparison of two eval runs over the cases both ran: is B better than A, worse, or is it noise?

Each case is "solved" (a true positive fixed through every gate, or a false positive dismissed) or not, in each run;
with several samples a case counts as solved when most of its samples are. The exact McNemar test on the discordant
cases (solved only in A, solved only in B) gives a two-sided p-value; below `alpha` the run with more wins is
better, otherwise the difference is noise.
"""

from __future__ import annotations

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


def compare_runs(run_a: Path, run_b: Path, alpha: float = 0.05) -> Comparison:
    meta_a, out_a = load_run(run_a)
    meta_b, out_b = load_run(run_b)
    return compare_outcomes(out_a, out_b, f"{run_a} ({run_label(meta_a)})", f"{run_b} ({run_label(meta_b)})", alpha)
