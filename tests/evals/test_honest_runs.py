"""Run bookkeeping that keeps numbers honest: every engine call is timed and its tokens counted, a cached re-run
keeps the original spend, runs over different case versions are not compared silently, the leaderboard lines
runs up, and sampling flags are refused where they would measure nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agent.engines.base import Draft
from agent.evals.harness import _earlier_spend, _original_cost, dataset_version
from agent.evals.recording import RecordingEngine
from agent.models import Context, Usage, Verdict


class _TwoPathEngine:
    """An engine with the optional batch methods agent.attempt prefers (as LLMEngine has)."""

    name = "two-path"

    def classify(self, finding, context, project_root):
        return Verdict(verdict="true_positive", confidence=0.6, rationale="r", source="t")

    def classify_with_usage(self, finding, context):
        return self.classify(finding, context, None), Usage(prompt_tokens=7, completion_tokens=3, calls=1), "h"

    def draft(self, finding, context, project_root, feedback=None):
        return Draft(error="none")

    def draft_candidates(self, finding, context, project_root, feedback=None, k=1):
        return [Draft(error="none", usage=Usage(prompt_tokens=40, completion_tokens=9, cached_calls=1))]


def test_recording_engine_sees_the_calls_the_orchestrator_makes():
    engine = RecordingEngine(_TwoPathEngine())
    context = Context(finding_id="f1", snippets=[])
    engine.classify_with_usage(None, context)
    engine.draft_candidates(None, context, Path("."), None, k=1)
    kinds = [(r.kind, r.prompt_tokens, r.completion_tokens, r.cached) for r in engine.records]
    assert kinds == [("classify", 7, 3, False), ("draft", 40, 9, True)]
    assert len(engine.contexts) == 2
    assert not hasattr(RecordingEngine(type("Plain", (), {"name": "p"})()), "draft_candidates")


def _outcome(case, cost, calls, cached, digest="d1"):
    return {"case_id": case, "sample": 0, "case_digest": digest,
            "usage": {"cost_usd": cost, "calls": calls, "cached_calls": cached}}


def _write_run(folder: Path, solved: dict[str, bool], engine: str, digests: dict[str, str] | None = None,
               cost: float = 0.0) -> Path:
    folder.mkdir(parents=True)
    cases = {cid: {"cwe": 89, "label": "true_positive", "digest": (digests or {}).get(cid, "x")} for cid in solved}
    (folder / "run.json").write_text(json.dumps({
        "engine": engine, "model": None, "k": 1, "samples": 1, "started": "2024-01-01T00:00:00", "cases": cases,
        "dataset": {"split": "smoke", "version": dataset_version(cases)}}))
    lines = [json.dumps({"case_id": cid, "sample": 0, "cwe": 89, "label": "true_positive", "fixed": ok,
                         "dismissed": False, "gates": dict.fromkeys(("G0", "G1", "G2", "G3", "G4"), ok),
                         "predicted": "true_positive", "confidence": 0.8, "latency_s": 0.1,
                         "case_digest": cases[cid]["digest"], "original_cost_usd": cost,
                         "usage": {"cost_usd": cost, "calls": 1}})
             for cid, ok in solved.items()]
    (folder / "outcomes.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_a_cached_rerun_keeps_the_original_spend(tmp_path):
    run = _write_run(tmp_path / "run", {"c1": True, "c2": False}, "llm", cost=0.25)
    earlier = _earlier_spend(run)
    # a replayed answer counts as a cached call and not as a model call (agent.llm.client)
    assert _original_cost(_outcome("c1", 0.0, 0, 2, digest="x"), earlier) == 0.25  # all answers from the cache
    assert _original_cost(_outcome("c1", 0.07, 2, 0, digest="x"), earlier) == 0.07  # called the model again
    assert _original_cost(_outcome("c1", 0.0, 0, 2, digest="other"), earlier) == 0.0  # the case changed
    assert _earlier_spend(tmp_path / "none") == {}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent", "eval", *args], capture_output=True, text=True,
                          check=False, cwd=cwd)


def test_compare_refuses_runs_over_different_case_versions(tmp_path):
    a = _write_run(tmp_path / "a", {f"c{i}": i < 3 for i in range(12)}, "null", {"c1": "v1"})
    b = _write_run(tmp_path / "b", {f"c{i}": True for i in range(12)}, "oracle", {"c1": "v2"})
    proc = _cli("compare", str(a), str(b), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "c1" in proc.stderr and "--allow-changed-cases" in proc.stderr
    proc = _cli("compare", str(a), str(b), "--allow-changed-cases", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" in proc.stderr and json.loads(proc.stdout)["warnings"]


def test_leaderboard_lines_up_runs_and_warns_on_mixed_datasets(tmp_path):
    a = _write_run(tmp_path / "a", {f"c{i}": i < 3 for i in range(6)}, "null", cost=0.5)
    b = _write_run(tmp_path / "b", {f"c{i}": True for i in range(6)}, "oracle")
    for run in (a, b):
        assert _cli("rescore", str(run), cwd=tmp_path).returncode == 0
    proc = _cli("leaderboard", str(a), str(b), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    board = json.loads(proc.stdout)
    assert [r["label"] for r in board["runs"]] == ["oracle", "null"] and board["warnings"] == []
    assert board["runs"][1]["cost_per_fix"] == 1.0  # six outcomes at $0.5 for three fixes
    c = _write_run(tmp_path / "c", {f"c{i}": True for i in range(6)}, "oracle", {"c0": "changed"})
    proc = _cli("leaderboard", str(a), str(c), cwd=tmp_path)
    assert proc.returncode == 0 and "WARNING" in proc.stderr and "c0" in proc.stderr


def test_sampling_flags_are_refused_where_they_measure_nothing(tmp_path):
    for args in (["--engine", "llm", "--model", "openai/x", "-k", "3"], ["--engine", "builtin", "--seed", "4"],
                 ["--engine", "oracle", "--temperature", "0.7"]):
        proc = _cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and not (tmp_path / "evals").exists()
