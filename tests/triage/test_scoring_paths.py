"""Triage's own path (`rank.ranked_members` → `group.group_parts` → `decide` with each group's extras) must give
what the public functions give (`rank_findings` → `group_findings` → `decide` reading through the context), on
findings that exercise every factor, every grouping rule and every decision input; and what depends on a
finding's spot only is worked out once per spot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.models import Finding, FlowStep, Location, Verdict
from agent.triage.config import parse_triage_config
from agent.triage.decide import decide
from agent.triage.feeds import Feeds
from agent.triage.group import group_findings, group_parts
from agent.triage.ownership import OwnerIndex
from agent.triage.rank import ScoringContext, rank_findings, ranked_members
from agent.triage.reachability import ReachabilityIndex

NOW = datetime(2025, 3, 1, tzinfo=UTC)
VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
APP = '''import os
import pickle
import subprocess
from flask import Flask, request
app = Flask(__name__)
KEY = "AKIAZ3MXQ7PLR2TNB4KD"


@app.route("/run")
def run():
    cmd = "ls " + request.args["d"]
    subprocess.run(cmd, shell=True)
    query = "SELECT * FROM t WHERE id = " + request.args["id"]
    os.system(query)
    if False:
        os.system("rm -rf /")
    return pickle.loads(request.data)


def helper(name):
    os.system("echo " + name)
'''


def fd(fid: str, line: int, tool: str = "bandit", rule: str = "B602", cwe: tuple[int, ...] = (78,),
       path: str = "app/views.py", sev: str = "high", **kw) -> Finding:
    return Finding(id=fid, tool=tool, rule_id=rule, message=kw.pop("message", "m"), severity=sev, cwe=list(cwe),
                   location=Location(path=path, start_line=line, end_line=kw.pop("end", None),
                                     snippet=kw.pop("snippet", None)),
                   first_seen=kw.pop("first_seen", NOW - timedelta(days=3)), **kw)


def findings() -> list[Finding]:
    flow = [FlowStep(location=Location(path="app/views.py", start_line=n)) for n in (11, 12)]
    return [
        fd("shell", 12), fd("shell-semgrep", 12, tool="semgrep", rule="dangerous-subprocess", sev="medium"),
        fd("build", 13, rule="B608", cwe=(89,)), fd("run", 14, tool="semgrep", rule="sqli", cwe=(89,), flow=flow),
        fd("dead", 16), fd("pickle", 17, rule="B301", cwe=(502,), cve=["CVE-2021-1"], tags=[VECTOR]),
        fd("helper", 21, tool="codeql", rule="py/command-line-injection", security_severity=9.1,
           first_seen=NOW - timedelta(days=200)),
        fd("key", 6, rule="B105", cwe=(798,), sev="low"), fd("key-test", 1, path="tests/test_x.py",
                                                            snippet='KEY = "AKIAZ3MXQ7PLR2TNB4KD"\n'),
        fd("import", 2, rule="B403", cwe=(502,), sev="low", snippet="import pickle\n"),
        fd("import-alone", 1, rule="B404", cwe=(78,), sev="low", path="app/other.py"),
        fd("long", 9, tool="codeql", rule="py/long", cwe=(400,), end=30, message=f"see {VECTOR}"),
        fd("near-long", 10, tool="gosec", rule="G1", cwe=(400,), path="vendor/x.py"),
        fd("vendor", 10, tool="semgrep", rule="v", cwe=(400,), path="vendor/x.py", end=12),
        fd("verdict", 21, tool="semgrep", rule="x", cwe=(20,), sev="low", confidence="low"),
    ]


def both_ways(root: Path | None) -> tuple[list, list]:
    config = parse_triage_config({"assets": [{"name": "web", "paths": ["app/**"], "tier": 1,
                                              "internet_facing": True}]})
    feeds = Feeds(epss={"CVE-2021-1": (0.4, 0.9)}, kev={"CVE-2021-1": {"dateAdded": "2021-01-01"}})
    verdicts = {"verdict": Verdict(verdict="false_positive", confidence=0.8, rationale="r")}
    results = []
    for fast in (False, True):
        code = ReachabilityIndex(root) if root is not None else None
        if code is not None:  # as triage does: every query answered while each file is parsed
            code.prepare(findings(), lambda f: not f.location.path.startswith(("tests/", "vendor/")))
        ctx = ScoringContext(config=config, owners=OwnerIndex(config, root), code=code, feeds=feeds,
                             verdicts=verdicts, now=NOW)
        if fast:
            groups = group_parts(ranked_members(findings(), ctx), 2.0)
        else:
            groups = group_findings(rank_findings(findings(), ctx), 2.0, ctx.import_only,
                                    ctx.statement if code is not None else None)
        rows = []
        for group in groups:
            decision = decide(group, config, feeds, 1, True, "internal", ctx)
            rows.append((group.rank.model_dump(), [(m.id, how) for m, how in group.members], group.tools,
                         sorted(group.cwes), decision.decision, decision.lane, decision.due, decision.why,
                         group.rank_for("team", decision.lane, decision.due).model_dump()))
        results.append(rows)
    return results[0], results[1]


def test_triage_path_gives_what_the_public_functions_give_with_the_facts(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text(APP)
    public, fast = both_ways(tmp_path)
    assert fast == public
    joined = {how.split(" (")[0] for row in public for _, how in row[1]}
    assert len(joined) >= 2  # the spot and import rules both joined something
    assert any(row[0]["finding_id"] == "key" and row[4] == "act" for row in public)  # the credential decides


def test_triage_path_gives_what_the_public_functions_give_without_the_facts() -> None:
    public, fast = both_ways(None)
    assert fast == public


def test_what_a_spot_decides_is_worked_out_once_per_spot(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text(APP)
    ctx = ScoringContext(code=ReachabilityIndex(tmp_path), now=NOW)
    same = [fd(f"s{n}", 12, tool=tool, rule=f"r{n}") for n, tool in enumerate(("bandit", "semgrep", "codeql"))]
    other = [fd("line", 14), fd("end", 12, end=13), fd("snippet", 12, snippet="x\n"), fd("path", 12, path="app/b.py")]
    spots = [ctx._read(f)[0] for f in same + other]
    assert spots[0] is spots[1] is spots[2]  # one spot: its code kind, credentials, entry point... worked out once
    assert len({id(spot) for spot in spots}) == 1 + len(other)
    assert spots[1].path is spots[-2].path  # one copy of a path's text (sorting compares it by identity)
