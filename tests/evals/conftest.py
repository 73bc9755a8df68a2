"""One eval run per reference engine over ALL cases, shared by the tests of this folder (baselines are computed
once per process and reused by every engine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.evals.cases import load_cases
from agent.evals.harness import EvalSpec, run_eval


@pytest.fixture(scope="session")
def all_cases():
    return load_cases()


@pytest.fixture(scope="session")
def eval_runs(all_cases, tmp_path_factory) -> dict[str, dict]:
    runs = {}
    root = tmp_path_factory.mktemp("eval-runs")
    for engine in ("oracle", "null", "saboteur", "builtin"):
        out = root / engine
        metrics = run_eval(all_cases, EvalSpec(engine=engine, workers=2), out)
        outcomes = [json.loads(line) for line in (out / "outcomes.jsonl").read_text().splitlines()]
        runs[engine] = {"dir": out, "metrics": metrics, "outcomes": {o["case_id"]: o for o in outcomes}}
    return runs


def outcome_list(run: dict) -> list[dict]:
    return list(run["outcomes"].values())


@pytest.fixture
def runs_dir(eval_runs) -> Path:
    return eval_runs["oracle"]["dir"].parent
