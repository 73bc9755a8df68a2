"""Benchmark: what a second `suture fix --top 12` costs when nothing changed since the first (issue 12).

On a fresh git repository holding a copy of examples/billing: a real `suture scan` (the default scanners that are
installed), then `suture fix --top 12` twice through the real CLI (builtin engine: real worktrees, tests, re-scans,
SQLite store), each timed as a whole process. The second run should skip every finding whose last outcome at
this commit, engine, prompt and settings is final (agent/outcomes.py) and say so. Goal: second <= 15% of first.

    python evals/perf/fix_rerun.py [--top 12] [--keep DIR]

Prints both times, the ratio, what the second run said it skipped, and, last, one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "billing"


def git_repo(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".suture", "__pycache__", ".pytest_cache"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b",
                                                               "commit", "-q", "-m", "bench"]):
        subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)
    return dest


def suture(repo: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    where = [str(repo)] if args[0] == "scan" else ["--repo", str(repo)]
    proc = subprocess.run([sys.executable, "-m", "agent", *args, *where], capture_output=True, text=True, cwd=repo,
                          check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"suture {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed, proc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--keep", type=Path, help="make the repository here (must not exist) and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        repo = git_repo(EXAMPLE, args.keep or Path(tmp) / "billing")
        scan_s, _ = suture(repo, "scan", "--format", "json")
        first_s, first = suture(repo, "fix", "--top", str(args.top), "--format", "json")
        second_s, second = suture(repo, "fix", "--top", str(args.top))
    ratio = second_s / first_s
    states: dict[str, int] = {}
    for row in json.loads(first.stdout):
        state = "dismissal" if row.get("kind") == "dismissal" else row.get("state", "?")
        states[state] = states.get(state, 0) + 1
    said = [line for line in (second.stderr + second.stdout).splitlines() if "skipped" in line]
    print(f"scan {scan_s:.1f} s; first fix --top {args.top}: {first_s:.1f} s "
          f"({', '.join(f'{n} {s}' for s, n in sorted(states.items()))}); second: {second_s:.1f} s; "
          f"ratio {ratio:.0%} (goal <= 15%)")
    for line in said:
        print(f"  second run: {line.strip()}")
    print(json.dumps({"scan_s": scan_s, "first_s": first_s, "second_s": second_s, "ratio": ratio,
                      "first_states": states, "second_said": said}))


if __name__ == "__main__":
    main()
