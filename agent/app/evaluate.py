"""`eval` entry: check the engine options, load and prepare the cases, and plan one run per model; the
harness (agent.evals.harness) runs them. Refuses a bad combination before anything is fetched or run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import SutureError


@dataclass
class EvalRun:
    """One planned run: the spec (engine, model, sampling) and its run folder."""

    spec: Any  # agent.evals.harness.EvalSpec
    run_dir: Path


def plan_eval(engine: str, models: list[str] | None = None, cases: Path | None = None, split: str = "smoke",
              only: list[str] | None = None, api_base: str | None = None, k: int = 1, temperature: float = 0.0,
              seed: int = 0, workers: int | None = None, out: Path | None = None) -> tuple[list[Any], list[EvalRun]]:
    """The prepared cases (real cases: their pinned sdist, fetched once) and one run per model (one run when no
    model). `--model`, `-k`, `--temperature` and `--seed` apply to the llm engine only; every spec is built once
    first, so a bad one is refused before any case is fetched."""
    from agent.evals.cases import SPLITS, load_cases
    from agent.evals.harness import EvalSpec, engine_factory, slug
    from agent.evals.real import prepare_case
    from agent.models import utcnow

    if engine != "llm" and models:
        raise SutureError("--model is only used with --engine llm")
    if engine != "llm" and (k > 1 or temperature or seed):
        raise SutureError("-k, --temperature and --seed apply to --engine llm only (the other engines are "
                          "deterministic)")
    selected = load_cases(cases or SPLITS[split], only)
    wanted: list[str | None] = list(models) if models else [None]
    for m in wanted:  # a bad spec is refused before anything is fetched or run
        engine_factory(EvalSpec(engine=engine, model=m, k=k, temperature=temperature, seed=seed))
    selected = [prepare_case(c) for c in selected]
    runs = []
    for m in wanted:
        spec = EvalSpec(engine=engine, model=m, api_base=api_base, k=k, workers=workers or os.cpu_count() or 2,
                        temperature=temperature, seed=seed, split=split)
        name = slug(f"{engine}-{m}" if m else engine)
        run_dir = out / name if out and len(wanted) > 1 else out
        runs.append(EvalRun(spec, run_dir or Path("evals/results") / f"{name}-{utcnow().strftime('%Y%m%dT%H%M%S')}"))
    return selected, runs


def run_eval(selected: list[Any], run: EvalRun, done: Any = None) -> dict[str, Any]:
    """Run one planned eval over the prepared cases; `done(case, outcome)` after each sample. Its metrics."""
    from agent.evals.harness import run_eval as harness_run

    return harness_run(selected, run.spec, run.run_dir, done)


def samples(selected: list[Any], run: EvalRun) -> int:
    """How many case runs a planned eval makes (k per case for sampled engines)."""
    from agent.evals.harness import DETERMINISTIC

    return len(selected) * (1 if run.spec.engine in DETERMINISTIC else run.spec.k)


__all__ = ["EvalRun", "plan_eval", "run_eval", "samples"]
