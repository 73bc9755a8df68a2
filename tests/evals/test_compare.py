"""Paired comparison of runs, and the CLI around finished runs (compare, rescore, bad input)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agent.evals.compare import compare_outcomes


def _write_run(folder: Path, solved: dict[str, bool], engine: str) -> Path:
    folder.mkdir(parents=True)
    cases = {cid: {"cwe": 89, "label": "true_positive", "digest": "x"} for cid in solved}
    (folder / "run.json").write_text(json.dumps({"engine": engine, "model": None, "k": 1, "samples": 1,
                                                 "started": "2024-01-01T00:00:00", "cases": cases}))
    lines = [json.dumps({"case_id": cid, "sample": 0, "cwe": 89, "label": "true_positive", "fixed": ok,
                         "dismissed": False, "gates": dict.fromkeys(("G0", "G1", "G2", "G3", "G4"), ok),
                         "predicted": "true_positive", "confidence": 0.8, "usage": {}, "latency_s": 0.1})
             for cid, ok in solved.items()]
    (folder / "outcomes.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def _as_outcomes(solved: dict[str, bool]) -> list[dict]:
    return [{"case_id": c, "label": "true_positive", "fixed": ok} for c, ok in solved.items()]


def test_better_worse_and_noise():
    a = {f"c{i}": i < 5 for i in range(20)}
    b = {f"c{i}": i < 15 for i in range(20)}
    better = compare_outcomes(_as_outcomes(a), _as_outcomes(b))
    assert better.verdict == "better" and len(better.only_b) == 10 and better.p_value < 0.01
    assert compare_outcomes(_as_outcomes(b), _as_outcomes(a)).verdict == "worse"
    c = {f"c{i}": (i < 5) != (i in (0, 7)) for i in range(20)}  # one lost, one won
    assert compare_outcomes(_as_outcomes(a), _as_outcomes(c)).verdict == "noise"


def test_cli_compare_and_rescore_on_synthetic_runs(tmp_path: Path):
    a = _write_run(tmp_path / "a", {f"c{i}": i < 3 for i in range(12)}, "null")
    b = _write_run(tmp_path / "b", {f"c{i}": True for i in range(12)}, "oracle")
    proc = subprocess.run([sys.executable, "-m", "agent", "eval", "compare", str(a), str(b), "--format", "json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["verdict"] == "better" and result["p_value"] == round(2 / 2 ** 9, 6)
    proc = subprocess.run([sys.executable, "-m", "agent", "eval", "rescore", str(a), "--format", "json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["metrics"]["overall"]["fix_rate"]["hits"] == 3
    assert (a / "report.html").is_file() and (a / "metrics.json").is_file()


def test_cli_bad_input_is_one_line(tmp_path: Path):
    for args in (["compare", str(tmp_path), str(tmp_path)], ["--cases", str(tmp_path / "none")],
                 ["--engine", "llm"]):
        proc = subprocess.run([sys.executable, "-m", "agent", "eval", *args], capture_output=True, text=True,
                              check=False, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert not (tmp_path / "evals").exists()  # nothing written for a run that cannot start
        assert "Traceback" not in proc.stderr and "error:" in proc.stderr
