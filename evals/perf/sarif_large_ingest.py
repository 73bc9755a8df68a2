"""Benchmark: `suture ingest` of one ~200 MB SARIF log, in time and peak memory, next to `json.load` of the same file.

Generates a git repository of real Python source files and one SARIF 2.1.0 log (CodeQL-shaped: rules with CWE
tags and security-severity, %SRCROOT% paths, snippets, code flows on a third of the results) whose results all
point at real lines of those files. Then, each in its own child process so its peak RSS (ru_maxrss, from wait4)
is its own:

  json     json.load of the log (the floor any whole-file reader pays)
  ingest   `suture ingest LOG --repo REPO` (the real command: streamed parse, placement, store)
  triage   `suture triage -n 5 --format json` afterwards (the store stays usable)
  review   `suture review list` afterwards

Usage: python evals/perf/sarif_large_ingest.py [--mb 200] [--keep DIR] [--skip-triage]. Prints a table and JSON.
Target: ingest <= 1 GiB peak RSS. Reported, not asserted. A log of 64 MiB or more is streamed (sarif_stream.py),
its parsed results wait in a temporary file (sarif_spill.py) and the store merges them a batch at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILES = 400
LINES = 200
REPO_ROOT = Path(__file__).resolve().parents[2]


def make_repo(root: Path) -> list[str]:
    paths = []
    for i in range(FILES):
        rel = f"services/svc{i % 20}/mod_{i}.py"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"def handler_{i}_{n}(request):\n    cursor.execute('SELECT * FROM t WHERE id=' + request.args['id_{n}'])\n"
                 for n in range(LINES // 2)]
        path.write_text("import sqlite3\n" + "".join(lines))
        paths.append(rel)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-q", "-m", "code"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    return paths


def result(rng: random.Random, paths: list[str], index: int) -> dict:
    path = rng.choice(paths)
    line = 2 * rng.randrange(LINES // 2) + 3  # a cursor.execute line
    rule = index % 40
    loc = {"physicalLocation": {"artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
                                "region": {"startLine": line, "startColumn": 5, "endColumn": 60,
                                           "snippet": {"text": "    cursor.execute('SELECT * FROM t WHERE id=' + "
                                                               "request.args[...])"}}}}
    out: dict = {"ruleId": f"py/sql-injection-{rule}", "ruleIndex": rule,
                 "message": {"text": f"This SQL query depends on a [user-provided value](1) (result {index})."},
                 "locations": [loc],
                 "partialFingerprints": {"primaryLocationLineHash": f"{rng.getrandbits(64):016x}:1"}}
    if index % 3 == 0:
        out["codeFlows"] = [{"threadFlows": [{"locations": [
            {"location": {"physicalLocation": {"artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
                                               "region": {"startLine": max(1, line - k)}},
                          "message": {"text": f"step {k}"}}} for k in (1, 0)]}]}]
    return out


def make_log(path: Path, paths: list[str], megabytes: int) -> int:
    """Write the log result by result (the generator itself stays small); returns the result count."""
    rng = random.Random(7)
    rules = [{"id": f"py/sql-injection-{i}", "name": f"SqlInjection{i}",
              "properties": {"tags": ["security", "external/cwe/cwe-089"], "security-severity": "8.8",
                             "precision": "high"}} for i in range(40)]
    head = json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "CodeQL", "rules": rules}},
                                                     "results": []}]})
    prefix, suffix = head.split('"results": []')
    target = megabytes * 1024 * 1024
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(prefix + '"results": [')
        written = len(prefix)
        while written < target:
            text = ("," if count else "") + json.dumps(result(rng, paths, count))
            out.write(text)
            written += len(text)
            count += 1
        out.write("]" + suffix)
    return count


def measure_rss(cmd: list[str], cwd: Path) -> dict:
    """Run `cmd` as a child; its wall time, exit code and peak RSS (MiB) from wait4's rusage."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace")[-300:]
    return {"seconds": round(elapsed, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "exit": proc.returncode, "stderr_tail": tail.strip()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--skip-triage", action="store_true")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="suture-large-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        repo = work / "repo"
        if repo.exists():
            shutil.rmtree(repo)
        repo.mkdir()
        paths = make_repo(repo)
        log = work / "large.sarif"
        t0 = time.perf_counter()
        count = make_log(log, paths, args.mb)
        size_mib = log.stat().st_size / 2**20
        print(f"generated {size_mib:.0f} MiB, {count} results over {FILES} files in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
        env_python = [sys.executable]
        phases = {
            "json": measure_rss(env_python + ["-c", f"import json; json.load(open({str(log)!r}, 'rb'))"], work),
            "ingest": measure_rss(env_python + ["-m", "agent", "ingest", str(log), "--repo", str(repo)], REPO_ROOT),
        }
        if not args.skip_triage:
            phases["triage"] = measure_rss(env_python + ["-m", "agent", "triage", "-n", "5", "--format", "json",
                                                         "--repo", str(repo)], REPO_ROOT)
            phases["review"] = measure_rss(env_python + ["-m", "agent", "review", "list", "--repo", str(repo)],
                                           REPO_ROOT)
        print(f"{'phase':8} {'seconds':>9} {'peak MiB':>9} exit")
        for name, row in phases.items():
            print(f"{name:8} {row['seconds']:9.1f} {row['peak_rss_mib']:9.0f} {row['exit']}")
            if row["exit"]:
                print(f"  {row['stderr_tail']}")
        ingest, base = phases["ingest"], phases["json"]
        print(json.dumps({"log_mib": round(size_mib, 1), "results": count, "phases": phases,
                          "ingest_vs_json_time": round(ingest["seconds"] / max(base["seconds"], 1e-3), 1),
                          "ingest_vs_json_rss": round(ingest["peak_rss_mib"] / max(base["peak_rss_mib"], 1), 2),
                          "target_rss_mib": 1024, "met": ingest["peak_rss_mib"] <= 1024 and ingest["exit"] == 0}))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
