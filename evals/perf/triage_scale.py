"""Benchmark: ingest + dedup + rank 100,000 findings on 5,000 real source files, next to a bare `json.load`.

Writes a synthetic monorepo (services/, libs/, tests/, vendor/, migrations/...) of real Python modules of ~80
lines each: Flask routes, click commands, a class-based view, helpers, and sinks (SQL built with %, shell=True,
os.system, pickle.loads, yaml.load), some fed constants, some in dead `if False:` branches, some modules run as
scripts. Then SARIF 2.1.0 logs shaped like Bandit (issue_severity/issue_confidence properties, CWE tags, no
security-severity), Semgrep (CWE strings in tags, confidence tags, no partialFingerprints), CodeQL (ruleIndex,
security-severity, precision, codeFlows, %SRCROOT%), Trivy (CVE rule ids, CVSS vectors in tags) and gosec
(severity tags, CWE taxonomy), whose results point at those files: mostly at their sink lines (what scanners
flag), with 30% of spots reported by two tools. So the facts layer does its real work: every source file read
and parsed once (entry points, dead code, the sink's input). Each phase runs in its own child process so peak
memory (ru_maxrss) is its own:

  json      json.load of every SARIF file (the baseline)
  pipeline  `suture ingest` of every log as the CLI runs it (agent.app.ingest.ingest_files: HEAD's files from git,
            load, schema warnings, parse_sarif placed in that tree, Store.record_scan in .suture/suture.db), then
            `suture triage` (agent.app.triage.triage: list the open findings, source facts (read + parse every
            flagged file, facts cached in the store) reported apart from scoring/grouping/deciding); then a
            second triage with the facts cached. The source tree is committed to git first, outside the clock.

Usage: python evals/perf/triage_scale.py [--findings 100000] [--files 5000] [--keep DIR]. CI runs it small
(`--findings 400 --files 24`, tests/perf). Prints a table and, last, one line of JSON. Goals on this 2-core machine
(issue 12), reported, never asserted: ingest + rank <= 3x json.load + 2 s and <= 1 GiB; rank <= 2x ingest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = ("bandit", "semgrep", "codeql", "trivy", "gosec")
CWES = (78, 89, 22, 502, 79, 327, 330, 295, 798, 703, 20, 611, 918)
TOP_DIRS = ("services/payments", "services/orders", "services/auth", "libs/common", "libs/db", "tests/unit",
            "tests/integration", "vendor/thirdparty", "app/migrations", "tools/scripts", "examples/demo")
SINK = "  # sink"  # marks the lines scanners flag; stripped from the written source


def _paths(n_files: int, rng: random.Random) -> list[str]:
    return [f"{rng.choice(TOP_DIRS)}/pkg{i % 97}/mod_{i}.py" for i in range(n_files)]


def module_source(i: int, rng: random.Random) -> tuple[str, list[int]]:
    """A realistic ~80-line module and the (1-based) lines of its sinks."""
    table = rng.choice(("orders", "invoices", "customers", "refunds"))
    lines = [
        f'"""{table.title()} handling, part {i}: routes, a CLI command, helpers and storage."""',
        "",
        "from __future__ import annotations",
        "",
        "import os",
        "import pickle",
        "import sqlite3",
        "import subprocess",
        "",
        "import click",
        "import yaml",
        "from flask import Flask, request",
        "from flask.views import MethodView",
        "",
        "app = Flask(__name__)",
        'DB_PATH = os.environ.get("DB_PATH", "app.db")',
        f'REPORT_QUERY = "SELECT id, total FROM {table} WHERE total > %d"',
        "DEBUG = False",
        "",
        "",
        "def _connect() -> sqlite3.Connection:",
        "    return sqlite3.connect(DB_PATH)",
        "",
        "",
        f"def normalise_{i}(value: object) -> str:",
        "    text = str(value).strip()",
        "    if not text:",
        '        raise ValueError("empty value")',
        "    return text.lower()",
        "",
        "",
        f'@app.route("/{table}/{i}/<item_id>")',
        f"def show_{table}_{i}(item_id: str):",
        "    cursor = _connect().cursor()",
        f"    cursor.execute(\"SELECT id, total FROM {table} WHERE id = '%s'\" % item_id){SINK}",
        "    row = cursor.fetchone()",
        '    return {"id": row[0], "total": row[1]} if row else ({}, 404)',
        "",
        "",
        f'@app.route("/export/{i}", methods=["POST"])',
        f"def export_{i}():",
        f'    name = normalise_{i}(request.form["name"])',
        f'    subprocess.run(f"tar czf /tmp/{{name}}.tgz /srv/data", shell=True, check=False){SINK}',
        '    return {"ok": True}',
        "",
        "",
        f"def load_profile_{i}(blob: bytes) -> dict:",
        f"    return pickle.loads(blob){SINK}",
        "",
        "",
        f"def read_config_{i}(path: str) -> dict:",
        '    with open(path, encoding="utf-8") as handle:',
        f"        return yaml.load(handle, Loader=yaml.Loader){SINK}",
        "",
        "",
        f"def monthly_report_{i}() -> list:",
        "    cursor = _connect().cursor()",
        f"    cursor.execute(REPORT_QUERY % 42){SINK}",
        "    return cursor.fetchall()",
        "",
        "",
        f"def legacy_cleanup_{i}() -> None:",
        "    if False:",
        f'        os.system("rm -rf /tmp/cache_{i}"){SINK}',
        "",
        "",
        f"class {table.title()}Search{i}View(MethodView):",
        "    def get(self):",
        '        term = request.args.get("q", "")',
        f'        os.system("grep -r " + term + " /srv/{table}"){SINK}',
        '        return {"ok": True}',
        "",
        "",
        "@click.command()",
        '@click.argument("target")',
        f"def purge_{i}(target: str) -> None:",
        f'    subprocess.call("rm -rf " + target, shell=True){SINK}',
        "",
    ]
    if i % 3 == 0:
        lines += ["", 'if __name__ == "__main__":', f"    purge_{i}()"]
    sinks = [n for n, text in enumerate(lines, 1) if text.endswith(SINK)]
    return "\n".join(text.removesuffix(SINK) for text in lines) + "\n", sinks


def write_sources(root: Path, paths: list[str], rng: random.Random) -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    """Write one module per path; return each file's sink lines and its lines (for snippets)."""
    sinks: dict[str, list[int]] = {}
    texts: dict[str, list[str]] = {}
    for i, path in enumerate(paths):
        source, lines = module_source(i, rng)
        file = root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(source, encoding="utf-8")
        sinks[path], texts[path] = lines, source.splitlines()
    return sinks, texts


def _result(tool: str, rule_index: int, path: str, line: int, snippet: str, rng: random.Random) -> dict:
    region = {"startLine": line, "startColumn": 5, "snippet": {"text": snippet + "\n"}}
    loc = {"physicalLocation": {"artifactLocation": {"uri": path, **({"uriBaseId": "%SRCROOT%"} if tool == "codeql"
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
                {"location": {"physicalLocation": {"artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
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


def generate(out: Path, total: int, n_files: int = 5000, seed: int = 7) -> tuple[Path, list[Path]]:
    """The source tree (out/src) and one SARIF log per tool whose `total` results point into it."""
    rng = random.Random(seed)
    src = out / "src"
    paths = _paths(n_files, rng)
    sinks, texts = write_sources(src, paths, rng)

    def spot() -> tuple[str, int]:
        path = rng.choice(paths)
        line = rng.choice(sinks[path]) if rng.random() < 0.85 else rng.randint(1, len(texts[path]))
        return path, line

    per_tool = total // len(TOOLS)
    shared = [spot() for _ in range(per_tool)]
    files = []
    for t_index, tool in enumerate(TOOLS):
        results = []
        for i in range(per_tool):
            # 30% of each tool's results land on a spot another tool also reports (cross-tool duplicates)
            path, line = shared[i] if rng.random() < 0.3 else spot()
            results.append(_result(tool, (i + t_index) % 40, path, line, texts[path][line - 1].strip(), rng))
        run = {"tool": {"driver": {"name": tool, "rules": _rules(tool, 40)}}, "results": results}
        if tool == "codeql":
            run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": src.as_uri() + "/"}}
        file = out / f"{tool}.sarif"
        file.write_text(json.dumps({"version": "2.1.0", "runs": [run]}))
        files.append(file)
    return src, files


def phase_json(files: list[Path]) -> dict:
    start = time.perf_counter()
    count = 0
    for f in files:
        with open(f, encoding="utf-8") as handle:
            count += len(json.load(handle)["runs"][0]["results"])
    return {"seconds": time.perf_counter() - start, "results": count}


TRIAGE_CONFIG = """[triage.teams.payments]
capacity = 20

[[triage.assets]]
name = "payments"
paths = ["services/payments/**"]
tier = 1
internet_facing = true
team = "payments"
"""


def commit_source(src: Path) -> None:
    """Make the source tree a git repository (with the triage config) and commit it: `suture ingest` places the
    logs' paths in the files of HEAD, as it does in any repository."""
    (src / "suture.toml").write_text(TRIAGE_CONFIG)
    env = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@example.invalid", "PATH": "/usr/bin:/bin"}
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "app"]):
        subprocess.run(command, cwd=src, check=True, env=env, capture_output=True)


class _Clock:
    """Seconds spent inside wrapped callables, by name (behaviour unchanged)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, name: str, function):
        def timed(*args, **kwargs):
            begin = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - begin
        return timed

    def wrap_context(self, name: str, manager):
        """`manager` (a context manager factory) with the time of entering and leaving it counted."""
        clock = self

        @contextlib.contextmanager
        def timed(*args, **kwargs):
            begin = time.perf_counter()
            with manager(*args, **kwargs) as value:
                clock.spent[name] = clock.spent.get(name, 0.0) + time.perf_counter() - begin
                yield value
                begin = time.perf_counter()
            clock.spent[name] += time.perf_counter() - begin
        return timed


def _triage(session, clock: _Clock) -> dict:
    """One `suture triage` (agent.app.triage.triage, every row ranked), source facts timed apart from the rest up
    to their last progress report (storing the new facts in the cache counts in score); with the work its source
    facts index did (files read, parsed, served from the store's cache)."""
    from agent.app import triage as triaging
    from agent.triage import service

    made = []

    class Counted(service.ReachabilityIndex):  # the index triage makes, kept to read its counters
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    service.ReachabilityIndex = Counted

    clock.spent.pop("list_findings", None)
    heard: list[float] = []
    counts: list[int] = []

    def progress(done: int, total: int) -> None:  # the source facts step reports its progress; its last word ends it
        heard.append(time.perf_counter())
        counts[:] = [total]

    t0 = time.perf_counter()
    try:
        view = triaging.triage(session, progress=progress)
    finally:
        service.ReachabilityIndex = Counted.__base__
    t3 = time.perf_counter()
    files = made[0].files
    listed = clock.spent.get("list_findings", 0.0)
    t2 = heard[-1] if heard else t0 + listed
    return {"list_findings": listed, "facts": t2 - t0 - listed, "score": t3 - t2, "groups": view.total,
            "files": counts[0] if counts else 0, "files_read": files.reads, "files_parsed": files.parses,
            "files_cached": files.cached}


def phase_pipeline(files: list[Path], workdir: Path) -> dict:
    """`suture ingest` of every log, then `suture triage` twice (the second with the facts cached), as the CLI
    runs them (agent.app: HEAD's files listed from git, schema warnings, placement, store writes), timed by step."""
    from agent.app import ingest as ingesting
    from agent.app.session import open_session
    from agent.triage import service  # noqa: F401  (imported before the clock starts, as in a running CLI)

    src = workdir / "src"
    clock = _Clock()
    for name in ("schema_problems", "load_sarif", "parse_sarif"):
        setattr(ingesting, name, clock.wrap(name, getattr(ingesting, name)))
    ingesting.head_files = clock.wrap_context("head", ingesting.head_files)
    warmed = _time_warm_up(ingesting, clock)
    start = time.perf_counter()
    session = clock.wrap("open", open_session)(src)
    session.store.record_scan = clock.wrap("record_scan", session.store.record_scan)
    session.store.list_findings = clock.wrap("list_findings", session.store.list_findings)
    reports = ingesting.ingest_files(session, files)
    ingested = time.perf_counter()
    ingest_steps = dict(clock.spent)
    first = _triage(session, clock)
    end = time.perf_counter()
    again = _triage(session, clock)
    session.close()
    ingest = ingested - start
    named = sum(ingest_steps.get(k, 0.0) for k in ("open", "head", "schema_problems", "load_sarif", "parse_sarif",
                                                     "record_scan", "warm_start", "warm_wait"))
    return {"seconds": end - start, "ingest": ingest, "ingest_schema": ingest_steps.get("schema_problems", 0.0),
            "ingest_parse": ingest_steps.get("load_sarif", 0.0) + ingest_steps.get("parse_sarif", 0.0),
            "ingest_store": ingest_steps.get("record_scan", 0.0),
            "ingest_open": ingest_steps.get("open", 0.0),  # open the repository's store (created: the schema made)
            "ingest_head": ingest_steps.get("head", 0.0),  # HEAD's files listed (git ls-tree), its cat-file stopped
            "ingest_warm_start": ingest_steps.get("warm_start", 0.0),  # the questions, files read, workers started
            "ingest_warm_wait": ingest_steps.get("warm_wait", 0.0),  # the workers' last files, their facts stored
            "ingest_files_warmed": sum(warmed),
            "ingest_other": ingest - named,  # suppressions, reports
            "skipped": sum(len(r.skipped) for r in reports), "findings": sum(r.new for r in reports),
            "rank": end - ingested, "list_findings": first["list_findings"], "facts": first["facts"],
            "score": first["score"], "groups": first["groups"], "files_ranked": first["files"],
            "files_read": first["files_read"], "files_parsed": first["files_parsed"],
            "retriage": sum(again[k] for k in ("list_findings", "facts", "score")), "retriage_facts": again["facts"],
            "retriage_files_parsed": again["files_parsed"], "retriage_files_cached": again["files_cached"]}


def _time_warm_up(ingesting, clock: _Clock) -> list[int]:
    """Time ingest's source-facts warm-up (agent.app.ingest._warm_facts): starting it, and waiting for its
    workers at the end; returns the list that gets the count of files whose facts it stored."""
    warm_facts, warmed = ingesting._warm_facts, []

    def timed(*args):
        begin = time.perf_counter()
        finish = warm_facts(*args)
        clock.spent["warm_start"] = clock.spent.get("warm_start", 0.0) + time.perf_counter() - begin
        if finish is None:
            return None

        def finish_timed(keep: bool) -> int:
            begin = time.perf_counter()
            try:
                warmed.append(finish(keep))
                return warmed[-1]
            finally:
                clock.spent["warm_wait"] = clock.spent.get("warm_wait", 0.0) + time.perf_counter() - begin
        return finish_timed

    ingesting._warm_facts = timed
    return warmed


def _child(phase: str, files: list[Path], workdir: Path) -> dict:
    code = (f"import json, resource, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import triage_scale as b; from pathlib import Path; "
            f"files = [Path(p) for p in {[str(f) for f in files]!r}]; "
            f"r = b.phase_{phase}(files{', Path(' + repr(str(workdir)) + ')' if phase == 'pipeline' else ''}); "
            f"r['peak_rss_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
            f"r['peak_worker_rss_mib'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024; "
            f"print(json.dumps(r))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"phase {phase} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=5000, help="source files the findings point at")
    parser.add_argument("--keep", type=Path, help="keep the generated source, SARIF and database here")
    args = parser.parse_args(argv)
    if args.findings < len(TOOLS) or args.files < 1:
        parser.error("need at least 5 findings and 1 file")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        if (work / "src").exists():
            shutil.rmtree(work / "src")  # a kept folder from an earlier run: made again, store included
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        src, files = generate(work, args.findings, args.files)
        commit_source(src)
        size = sum(f.stat().st_size for f in files) / 2**20
        print(f"generated {args.files} source files and {args.findings} results in {len(files)} SARIF files "
              f"({size:.0f} MiB) in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        baseline = _child("json", files, work)
        pipeline = _child("pipeline", files, work)
    goal = 3 * baseline["seconds"] + 2
    ratio = pipeline["seconds"] / baseline["seconds"]
    rank_ratio = pipeline["rank"] / pipeline["ingest"]
    p = pipeline
    print(f"{'phase':<10} {'seconds':>8} {'peak MiB':>9}")
    print(f"{'json.load':<10} {baseline['seconds']:>8.2f} {baseline['peak_rss_mib']:>9.0f}")
    print(f"{'pipeline':<10} {p['seconds']:>8.2f} {p['peak_rss_mib']:>9.0f}   "
          f"(ingest {p['ingest']:.2f} = schema check {p['ingest_schema']:.2f} + parse {p['ingest_parse']:.2f} + "
          f"store {p['ingest_store']:.2f} + open store {p['ingest_open']:.2f} + HEAD's file list "
          f"{p['ingest_head']:.2f} + source facts warm-up {p['ingest_warm_start']:.2f} to start, "
          f"{p['ingest_warm_wait']:.2f} waited for [{p['ingest_files_warmed']} files parsed by workers while the "
          f"findings were stored] + other {p['ingest_other']:.2f}; "
          f"rank {p['rank']:.2f} = list {p['list_findings']:.2f} + source facts {p['facts']:.2f} "
          f"[{p['files_read']} files read, {p['files_parsed']} parsed] + score/group/decide {p['score']:.2f}; "
          f"{p['findings']} findings → {p['groups']} groups, {p['skipped']} results skipped)")
    print(f"re-triage with facts cached: {p['retriage']:.2f} s (facts {p['retriage_facts']:.2f} s, "
          f"{p['retriage_files_parsed']} parsed, {p['retriage_files_cached']} from the cache)")
    print(f"ingest + rank {p['seconds']:.2f} s vs goal 3 x json.load + 2 s = {goal:.2f} s ({ratio:.1f}x json.load); "
          f"peak {p['peak_rss_mib']:.0f} MiB vs 1024 (largest source-facts worker process: "
          f"{p['peak_worker_rss_mib']:.0f} MiB, much of it pages shared with the parent); "
          f"rank / ingest {rank_ratio:.2f}x vs goal 2x")
    print(json.dumps({"baseline": baseline, "pipeline": pipeline, "ratio": ratio, "goal_seconds": goal,
                      "rank_over_ingest": rank_ratio}))


if __name__ == "__main__":
    main()
