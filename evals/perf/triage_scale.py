"""Benchmark: ingest + dedup + rank 100,000 findings from five scanner shapes, next to a bare `json.load`.

Generates SARIF 2.1.0 logs shaped like Bandit (issue_severity/issue_confidence properties, CWE tags, no
security-severity), Semgrep (CWE strings in tags, confidence tags, no partialFingerprints), CodeQL (ruleIndex,
security-severity, precision, codeFlows, %SRCROOT%), Trivy (CVE rule ids, CVSS vectors in tags, security-severity)
and gosec (severity tags, CWE taxonomy) over a synthetic monorepo layout (services/, libs/, tests/, vendor/,
migrations/...), with duplicates across tools on the same lines. Then, each phase in its own child process so peak
memory (ru_maxrss) is its own:

  json      json.load of every file (the baseline)
  pipeline  load + parse_sarif + Store.record_scan (SQLite) + list_findings + triage (rank, group, decide)

Usage: python evals/perf/triage_scale.py [--findings 100000] [--keep DIR]. Prints a table and JSON. Targets on a
2-core machine: pipeline <= 10 s, <= 1 GiB, <= 3x the json baseline — reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = ("bandit", "semgrep", "codeql", "trivy", "gosec")
CWES = (78, 89, 22, 502, 79, 327, 330, 295, 798, 703, 20, 611, 918)
TOP_DIRS = ("services/payments", "services/orders", "services/auth", "libs/common", "libs/db", "tests/unit",
            "tests/integration", "vendor/thirdparty", "app/migrations", "tools/scripts", "examples/demo")


def _paths(n_files: int, rng: random.Random) -> list[str]:
    return [f"{rng.choice(TOP_DIRS)}/pkg{i % 97}/mod_{i}.py" for i in range(n_files)]


def _result(tool: str, rule_index: int, path: str, line: int, rng: random.Random) -> dict:
    region = {"startLine": line, "endLine": line + rng.choice((0, 0, 0, 2)), "startColumn": 5,
              "snippet": {"text": f"    cursor.execute(query_{line} % value)\n"}}
    uri = f"%SRCROOT%/{path}" if tool == "codeql" else path
    loc = {"physicalLocation": {"artifactLocation": {"uri": uri, **({"uriBaseId": "%SRCROOT%"} if tool == "codeql"
                                                                    else {})}, "region": region}}
    result: dict = {"ruleId": f"{tool.upper()}-{rule_index:03d}", "message": {"text": f"{tool} finding at {line}"},
                    "locations": [loc]}
    if tool == "bandit":
        result["properties"] = {"issue_severity": rng.choice(("LOW", "MEDIUM", "HIGH")),
                                "issue_confidence": rng.choice(("LOW", "MEDIUM", "HIGH"))}
        result["level"] = rng.choice(("note", "error"))
    elif tool == "codeql":
        result["ruleIndex"] = rule_index
        result["partialFingerprints"] = {"primaryLocationLineHash": f"{rng.getrandbits(64):016x}:1"}
        if rule_index % 3 == 0:
            result["codeFlows"] = [{"threadFlows": [{"locations": [
                {"location": {"physicalLocation": {"artifactLocation": {"uri": path},
                                                   "region": {"startLine": max(1, line - k)}}}} for k in (5, 2, 0)]}]}]
    elif tool == "trivy":
        result["ruleId"] = f"CVE-20{rng.randint(10, 24)}-{rng.randint(1000, 99999)}"
        result["level"] = "warning"
    elif tool == "gosec":
        result["level"] = rng.choice(("warning", "error"))
    return result


def _rules(tool: str, n: int) -> list[dict]:
    rules = []
    for i in range(n):
        cwe = CWES[i % len(CWES)]
        props: dict = {"tags": ["security", f"external/cwe/cwe-{cwe}"]}
        if tool == "semgrep":
            props["tags"] = [f"CWE-{cwe}: weakness", "HIGH CONFIDENCE" if i % 2 else "MEDIUM CONFIDENCE"]
        elif tool == "codeql":
            props.update({"security-severity": str(3.0 + (i % 7)), "precision": "high"})
        elif tool == "gosec":
            props["tags"] = ["security", ("HIGH", "MEDIUM", "LOW")[i % 3], f"CWE-{cwe}"]
        elif tool == "trivy":
            props.update({"security-severity": str(4.0 + i % 6),
                          "tags": ["vulnerability", "security", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"]})
        rules.append({"id": f"{tool.upper()}-{i:03d}", "name": f"rule{i}", "properties": props})
    return rules


def generate(out: Path, total: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    paths = _paths(max(1000, total // 20), rng)
    per_tool = total // len(TOOLS)
    spots = [(rng.choice(paths), rng.randint(1, 800)) for _ in range(per_tool)]
    files = []
    for t_index, tool in enumerate(TOOLS):
        results = []
        for i in range(per_tool):
            # 30% of each tool's results land on a spot another tool also reports (cross-tool duplicates)
            path, line = spots[i] if rng.random() < 0.3 else (rng.choice(paths), rng.randint(1, 800))
            results.append(_result(tool, (i + t_index) % 40, path, line, rng))
        run = {"tool": {"driver": {"name": tool, "rules": _rules(tool, 40)}}, "results": results}
        if tool == "codeql":
            run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": "file:///src/"}}
        file = out / f"{tool}.sarif"
        file.write_text(json.dumps({"version": "2.1.0", "runs": [run]}))
        files.append(file)
    return files


def phase_json(files: list[Path]) -> dict:
    start = time.perf_counter()
    count = 0
    for f in files:
        with open(f, encoding="utf-8") as handle:
            count += len(json.load(handle)["runs"][0]["results"])
    return {"seconds": time.perf_counter() - start, "results": count}


def phase_pipeline(files: list[Path], workdir: Path) -> dict:
    from agent.ingest.sarif import load_sarif, parse_sarif
    from agent.store import Store
    from agent.triage.config import parse_triage_config
    from agent.triage.service import triage_findings

    timings: dict[str, float] = {}
    start = time.perf_counter()
    store = Store.open(workdir / "bench.db")
    for f in files:
        t0 = time.perf_counter()
        parsed = parse_sarif(load_sarif(f), None, source_name=str(f))
        t1 = time.perf_counter()
        for run in parsed.runs:
            store.record_scan(tool=run.tool, scope=run.scope, source=str(f), content=f.read_bytes(),
                              findings=run.findings, full=True)
        timings["parse"] = timings.get("parse", 0) + t1 - t0
        timings["record_scan"] = timings.get("record_scan", 0) + time.perf_counter() - t1
    t2 = time.perf_counter()
    findings = store.list_findings("open")
    t3 = time.perf_counter()
    config = parse_triage_config({"teams": {"payments": {"capacity": 20}}, "assets": [
        {"name": "payments", "paths": ["services/payments/**"], "tier": 1, "internet_facing": True,
         "team": "payments"}]})
    result = triage_findings(findings, config, project_dir=None, state_dir=None)
    t4 = time.perf_counter()
    store.close()
    return {"seconds": t4 - start, "ingest_parse": timings["parse"], "ingest_store": timings["record_scan"],
            "list_findings": t3 - t2, "triage": t4 - t3, "findings": len(findings), "groups": len(result.rows)}


def _child(phase: str, files: list[Path], workdir: Path) -> dict:
    code = (f"import json, resource, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import triage_scale as b; from pathlib import Path; "
            f"files = [Path(p) for p in {[str(f) for f in files]!r}]; "
            f"r = b.phase_{phase}(files{', Path(' + repr(str(workdir)) + ')' if phase == 'pipeline' else ''}); "
            f"r['peak_rss_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; print(json.dumps(r))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="keep the generated SARIF and database here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        files = generate(work, args.findings)
        size = sum(f.stat().st_size for f in files) / 2**20
        print(f"generated {args.findings} results in {len(files)} files ({size:.0f} MiB) in "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
        baseline = _child("json", files, work)
        pipeline = _child("pipeline", files, work)
    ratio = pipeline["seconds"] / baseline["seconds"]
    print(f"{'phase':<10} {'seconds':>8} {'peak MiB':>9}")
    print(f"{'json.load':<10} {baseline['seconds']:>8.2f} {baseline['peak_rss_mib']:>9.0f}")
    print(f"{'pipeline':<10} {pipeline['seconds']:>8.2f} {pipeline['peak_rss_mib']:>9.0f}   "
          f"(parse {pipeline['ingest_parse']:.2f}, store {pipeline['ingest_store']:.2f}, "
          f"list {pipeline['list_findings']:.2f}, triage {pipeline['triage']:.2f}; "
          f"{pipeline['findings']} findings → {pipeline['groups']} groups)")
    print(f"ratio pipeline / json.load: {ratio:.1f}x   targets: <= 10 s, <= 1024 MiB, <= 3x")
    print(json.dumps({"baseline": baseline, "pipeline": pipeline, "ratio": ratio}))


if __name__ == "__main__":
    main()
