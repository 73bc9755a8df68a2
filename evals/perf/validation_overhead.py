"""Benchmark: what suture's validation costs on top of running the same tests directly, and what parallel buys.

For each project (examples/billing, and a real PyPI project built from its sdist), N synthetic proposals (a
comment added to one `def` line of a module each: applies, changes nothing) are validated with suture's real
pipeline (worktree pool, sandbox, baseline once, targeted then full runs; re-scan off: it is scanner time, not
test overhead). The "direct" time runs exactly the test commands validation ran, in the same order, with plain
`subprocess.run` in a plain checkout. Reported: ratio validation/direct at workers=1 (target: validation
≤ 1.2 × direct + 1 s per proposal), with coverage evidence (the default: coverage.py measures the changed file
in the targeted and full patched runs) and without it (nothing measured), and the speed-up of workers=2 over
workers=1.

    python evals/perf/validation_overhead.py [--proposals N] [--project billing|pypi|all] [--sdist NAME]

The sdist is fetched once with `pip download --no-binary :all: --no-deps NAME` into evals/perf/.cache/.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from agent.config import Settings
from agent.models import Edit, Finding, Location
from agent.validate import pipeline
from agent.validate.env import ValidationEnv
from agent.validate.pipeline import validate_patch
from agent.validate.sandbox import network_isolation
from agent.validate.worktree import WorktreePool, find_project

CACHE = Path(__file__).resolve().parent / ".cache"
_executable_changes = pipeline.executable_changes  # "without coverage": no changed line to measure
DEFAULT_SDIST = "more-itertools"  # pure Python, ~765 tests in its sdist, no test dependencies beyond pytest


def git_repo(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".suture", "__pycache__", ".pytest_cache"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b",
                                                               "commit", "-q", "-m", "bench"]):
        subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)
    return dest


def fetch_sdist(name: str, work: Path) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[-_.]+", "_", name).lower()
    archives = sorted(p for p in CACHE.glob("*.tar.gz") if p.name.lower().startswith(stem + "-"))
    if not archives:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", name,
                        "-d", str(CACHE)], check=True, capture_output=True, timeout=300)
        archives = sorted(p for p in CACHE.glob("*.tar.gz") if p.name.lower().startswith(stem + "-"))
    with tarfile.open(archives[-1]) as tar:
        tar.extractall(work, filter="data")
    return next(p for p in work.iterdir() if p.is_dir())


def synthetic_edits(project_dir: Path, count: int) -> list[Edit]:
    """One harmless edit per proposal: a comment after a top-level `def` line of a non-test module."""
    edits: list[Edit] = []
    modules = sorted(p for p in project_dir.rglob("*.py")
                     if "test" not in p.relative_to(project_dir).as_posix() and ".git" not in p.parts)
    for module in modules:
        for line in module.read_text(encoding="utf-8").splitlines():
            if re.match(r"^def \w+\(.*\)(\s*->\s*[^:]+)?:$", line):
                rel = module.relative_to(project_dir).as_posix()
                edits.append(Edit(path=rel, search=line, replace=f"{line}  # suture-bench {len(edits)}"))
                break
        if len(edits) == count:
            break
    if not edits:
        raise SystemExit(f"no one-line top-level def in {project_dir}: cannot make synthetic proposals")
    while len(edits) < count:  # fewer modules than proposals: reuse them with another marker
        base = edits[len(edits) % max(1, len(edits))]
        edits.append(base.model_copy(update={"replace": base.search + f"  # suture-bench {len(edits)}"}))
    return edits


def validate_all(repo: Path, edits: list[Edit], workers: int, logs: Path,
                 coverage: bool = True) -> tuple[float, list]:
    project = find_project(repo)
    pipeline.executable_changes = _executable_changes if coverage else (lambda _dir, _changed: {})
    env = ValidationEnv(settings=Settings(rescan=False, workers=workers), logs_dir=logs, commit=project.head,
                        user_repo=project.git_root)
    finding = Finding(id="b" * 16, tool="bench", rule_id="none", message="bench",
                      location=Location(path=edits[0].path, start_line=1))
    started = time.perf_counter()
    with WorktreePool(project, size=workers) as pool:
        def one(item: tuple[int, Edit]):
            with pool.acquire() as wt:
                return validate_patch(env, wt.project_path, finding, [item[1]], f"bench-{workers}-{item[0]}")[0]
        with ThreadPoolExecutor(workers) as executor:
            validations = list(executor.map(one, enumerate(edits)))
    return time.perf_counter() - started, validations


def direct_time(repo: Path, validations: list) -> float:
    """Run the same commands validation ran (baseline once, then each proposal's runs), plainly, in order."""
    commands = [validations[0].baseline.command]
    for v in validations:
        commands += [run.command for run in (v.targeted, v.patched) if run is not None and run.command]
    started = time.perf_counter()
    for command in commands:
        subprocess.run(command, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def bench(name: str, source: Path, proposals: int, work: Path) -> dict:
    repo = git_repo(source, work / name.replace("/", "-"))
    edits = synthetic_edits(repo, proposals)
    seq, validations = validate_all(repo, edits, 1, work / f"logs-{name}-1")
    bad = [v.reasons for v in validations if not v.passed]
    measured = sum(1 for v in validations if v.coverage is not None and v.coverage.scope != "none")
    direct = direct_time(repo, validations)
    bare, _ = validate_all(repo, edits, 1, work / f"logs-{name}-1-nocov", coverage=False)
    par, _ = validate_all(repo, edits, 2, work / f"logs-{name}-2")
    tests = validations[0].baseline.passed + validations[0].baseline.failed
    budget = 1.2 * direct + 1.0 * proposals
    return {"project": name, "tests": tests, "proposals": proposals, "direct_s": round(direct, 2),
            "validation_w1_s": round(seq, 2), "validation_w1_nocov_s": round(bare, 2),
            "validation_w2_s": round(par, 2), "coverage_measured": measured,
            "ratio": round(seq / direct, 3), "ratio_nocov": round(bare / direct, 3),
            "budget_s": round(budget, 2), "within_target": seq <= budget,
            "overhead_per_proposal_s": round((seq - direct) / proposals, 3),
            "speedup_w2": round(seq / par, 3), "failed_validations": bad[:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proposals", type=int, default=4)
    parser.add_argument("--project", choices=["billing", "pypi", "all"], default="all")
    parser.add_argument("--sdist", default=DEFAULT_SDIST)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="suture-bench-") as tmp:
        work = Path(tmp)
        if args.project in ("billing", "all"):
            results.append(bench("examples/billing", ROOT / "examples" / "billing", args.proposals, work))
        if args.project in ("pypi", "all"):
            source = fetch_sdist(args.sdist, work / "sdist")
            results.append(bench(source.name, source, args.proposals, work))
    header = ("project", "tests", "N", "direct s", "suture w=1 s", "ratio", "w=1 no coverage s", "ratio",
              "budget s", "ok", "w=2 s", "speed-up")
    print(f"network isolation: {network_isolation().note}")
    print(" | ".join(header))
    for r in results:
        print(" | ".join(str(x) for x in (r["project"], r["tests"], r["proposals"], r["direct_s"],
                                          r["validation_w1_s"], r["ratio"], r["validation_w1_nocov_s"],
                                          r["ratio_nocov"], r["budget_s"], r["within_target"],
                                          r["validation_w2_s"], r["speedup_w2"])))
    print(json.dumps({"network": network_isolation().note, "results": results}, indent=2))


if __name__ == "__main__":
    main()
