"""An eval run end to end: pick the engine, run the cases, write the run folder, score it (again) later.

A run folder holds `run.json` (what was run: engine, model, k, cases and their digests, settings),
`outcomes.jsonl` (one record per case and sample, everything the metrics need), `metrics.json`, `report.md`,
`report.html`, `llm-cache.db` (every model answer, so a re-run with the same folder calls no model) and
`cases/<id>/s<n>/` (patch and validation logs). run.json names the dataset (split and a version hashed from every
case's digest) so `compare` and `leaderboard` can refuse runs over different case versions. A re-run in the same
folder answers from the cache at no cost; each outcome keeps `original_cost_usd`, the spend of the run that first
produced its answers, so cost per validated fix survives a cached re-run. `rescore` rebuilds the metrics and reports from outcomes.jsonl
alone, without running or calling anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.config import Settings
from agent.engines.base import Engine
from agent.engines.registry import ENGINE_NAMES, build_engine
from agent.errors import SutureError
from agent.evals.cases import EvalCase
from agent.evals.metrics import compute_metrics
from agent.evals.runner import run_cases
from agent.models import utcnow

ENGINES = ENGINE_NAMES  # agent.engines.registry builds every one
DETERMINISTIC = {name for name in ENGINES if name != "llm"}  # one sample says it all
REAL_TEST_TIMEOUT = 600  # seconds per test run of a real case: real projects' suites are larger than the smoke cases'


class EvalError(SutureError):
    """A run that cannot start or a run folder that cannot be read."""


@dataclass
class EvalSpec:
    engine: str = "builtin"
    model: str | None = None
    api_base: str | None = None
    k: int = 1
    workers: int = 2
    temperature: float = 0.0
    seed: int = 0
    split: str = "smoke"
    max_attempts: int | None = None
    timeout: float = 60.0


class _LockedCache:
    """A ResponseCache shared by worker threads, with keys namespaced per sample (so k samples differ)."""

    def __init__(self, store, lock: threading.Lock, namespace: str) -> None:
        self.store, self.lock, self.namespace = store, lock, namespace

    def get(self, key: str) -> dict | None:
        with self.lock:
            return self.store.cache_get(f"{self.namespace}:{key}")

    def put(self, key: str, value: dict) -> None:
        with self.lock:
            self.store.cache_put(f"{self.namespace}:{key}", value)


def engine_factory(spec: EvalSpec, cache_store=None) -> Callable[[EvalCase, int], Engine]:
    if spec.engine not in ENGINES:
        raise EvalError(f"unknown engine {spec.engine!r}; choose one of {', '.join(ENGINES)}")
    if spec.engine == "llm" and not spec.model:
        raise EvalError("--engine llm needs --model (a litellm model string)")
    if spec.engine == "llm" and spec.k > 1 and spec.temperature <= 0:
        raise EvalError("-k > 1 measures fix@k only over independent samples: pass --temperature above 0 "
                        "(at temperature 0 every sample is the same answer)")
    lock = threading.Lock()

    def make(case: EvalCase, sample: int) -> Engine:
        cache = None  # the run folder's llm-cache.db, opened for model engines only
        if cache_store is not None:
            namespace = f"seed{spec.seed}:s{sample}" if spec.seed else f"s{sample}"
            cache = _LockedCache(cache_store, lock, namespace)
        return build_engine(spec.engine, case=case, model=spec.model, api_base=spec.api_base,
                            temperature=spec.temperature, timeout=spec.timeout, cache=cache)
    return make


def eval_settings(spec: EvalSpec) -> Settings:
    """Pipeline settings for eval runs: bandit only; the pipeline re-scans only when a model can repair; test runs
    time out after 120 s (REAL_TEST_TIMEOUT on the real split); the
    pipeline's test runs see PYTEST_DISABLE_PLUGIN_AUTOLOAD (set by `_quiet_pytest_plugins`), as the gates' do."""
    llm = spec.engine == "llm"
    return Settings(model=spec.model, api_base=spec.api_base, scanners=["bandit"], rescan=llm,
                    max_attempts=spec.max_attempts or (3 if llm else 1),
                    test_timeout=REAL_TEST_TIMEOUT if spec.split == "real" else 120, scan_timeout=120,
                    request_timeout=spec.timeout, test_env=["PYTEST_DISABLE_PLUGIN_AUTOLOAD"])


@contextmanager
def _quiet_pytest_plugins():
    """Case tests are plain pytest: skip plugin auto-loading in their subprocesses (3x faster start-up)."""
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved


def run_eval(cases: list[EvalCase], spec: EvalSpec, out: Path,
             on_done: Callable[[EvalCase, dict], None] | None = None) -> dict[str, Any]:
    """Run `spec` over `cases`, write the run folder `out`, return the metrics."""
    engine_factory(spec)  # refuse a bad engine spec before any folder is made
    out.mkdir(parents=True, exist_ok=True)
    samples = 1 if spec.engine in DETERMINISTIC else spec.k
    cache_store = None
    if spec.engine == "llm":
        from agent.store import Store

        cache_store = Store.open(out / "llm-cache.db")
    case_meta = {c.id: {"cwe": c.cwe, "label": c.label, "digest": c.digest()} for c in cases}
    meta = {
        "engine": spec.engine, "model": spec.model, "k": spec.k, "samples": samples, "api_base": spec.api_base,
        "temperature": spec.temperature, "seed": spec.seed, "sampled": samples > 1 and spec.temperature > 0,
        "started": utcnow().isoformat(), "python": sys.version.split()[0],
        "dataset": {"split": spec.split, "version": dataset_version(case_meta)},
        "cases": case_meta, "cases_dir": str(cases[0].root.parent) if cases else None,
    }
    earlier = _earlier_spend(out)
    try:
        with _quiet_pytest_plugins():
            outcomes = run_cases(cases, engine_factory(spec, cache_store), eval_settings(spec), samples,
                                 spec.workers, out / "cases", on_done)
    finally:
        if cache_store is not None:
            cache_store.close()
    meta["finished"] = utcnow().isoformat()
    (out / "run.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    for o in outcomes:
        o["original_cost_usd"] = _original_cost(o, earlier)
    with (out / "outcomes.jsonl").open("w", encoding="utf-8") as fh:
        for o in outcomes:
            fh.write(json.dumps({k: v for k, v in o.items() if k != "diff"}, sort_keys=True) + "\n")
    return rescore(out)


def dataset_version(case_meta: dict[str, dict]) -> str:
    """A short hash of every case id and digest: two runs with the same version ran the same case files."""
    h = hashlib.sha256()
    for cid in sorted(case_meta):
        h.update(f"{cid}\0{case_meta[cid].get('digest')}\n".encode())
    return h.hexdigest()[:16]


def _earlier_spend(out: Path) -> dict[tuple[str, int, str | None], float]:
    """What each (case, sample, case digest) cost when a run in this folder first produced its answers."""
    try:
        _, outcomes = load_run(out)
    except EvalError:
        return {}
    return {(o["case_id"], o.get("sample", 0), o.get("case_digest")):
            float(o.get("original_cost_usd", (o.get("usage") or {}).get("cost_usd", 0.0)) or 0.0) for o in outcomes}


def _original_cost(outcome: dict, earlier: dict[tuple[str, int, str | None], float]) -> float:
    """This outcome's spend, or — when every model answer came from the cache — the spend recorded for it by the
    run that made those calls (same case version). A partly cached outcome counts only its new spend."""
    usage = outcome.get("usage") or {}
    key = (outcome["case_id"], outcome.get("sample", 0), outcome.get("case_digest"))
    if usage.get("cached_calls") and not usage.get("calls") and key in earlier:  # every answer replayed
        return earlier[key]
    return float(usage.get("cost_usd", 0.0) or 0.0)


def load_run(run_dir: Path) -> tuple[dict, list[dict]]:
    meta_path, outcomes_path = run_dir / "run.json", run_dir / "outcomes.jsonl"
    if not meta_path.is_file() or not outcomes_path.is_file():
        raise EvalError(f"{run_dir}: not an eval run folder (run.json and outcomes.jsonl expected)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        outcomes = [json.loads(line) for line in outcomes_path.read_text(encoding="utf-8").splitlines() if line]
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvalError(f"{run_dir}: damaged run files: {exc}") from None
    return meta, outcomes


def rescore(run_dir: Path) -> dict[str, Any]:
    """Metrics and reports from a finished run's outcomes, with no model call and no case re-run."""
    from agent.evals.report import write_reports

    meta, outcomes = load_run(run_dir)
    sampled = meta.get("sampled", meta.get("samples", 1) >= meta.get("k", 1) > 1 and meta.get("temperature", 0) > 0)
    metrics = compute_metrics(outcomes, meta.get("k", 1) if sampled else 1)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n", encoding="utf-8")
    write_reports(run_dir, meta, outcomes, metrics)
    return metrics


def run_label(meta: dict) -> str:
    return meta["engine"] + (f":{meta['model']}" if meta.get("model") else "")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "run"
