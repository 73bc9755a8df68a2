"""Reachability through helpers (issue 13): a finding in a function a web route calls, directly or through a few
helpers in other modules, is reachable from that route, and a reachable injection is decided into the `now` lane
unless the asset is configured as not mattering (tier 4). The walk is bounded, ends on cycles, and follows only
calls it can resolve."""

from __future__ import annotations

from pathlib import Path

from agent.models import Finding, Location
from agent.triage.config import TriageConfig, parse_triage_config
from agent.triage.reachability import ReachabilityIndex
from agent.triage.service import triage_findings

VIEWS = '''from flask import Flask, request

from app.db import load_user

app = Flask(__name__)


@app.route("/users", methods=["GET"])
def show_user():
    return load_user(request.args["name"])
'''

DB = '''import sqlite3


def load_user(name):
    return run_query(name)


def run_query(name):
    cur = sqlite3.connect("app.db").cursor()
    cur.execute(f"SELECT * FROM users WHERE name = '{name}'")
    return cur.fetchall()


def report_query(name):
    cur = sqlite3.connect("app.db").cursor()
    cur.execute(f"SELECT * FROM reports WHERE owner = '{name}'")
    return cur.fetchall()
'''


def sqli(fid: str, path: str, line: int) -> Finding:
    return Finding(id=fid, tool="semgrep", rule_id="python.sqlalchemy.security.sqli", message="SQL injection",
                   severity="high", cwe=[89], location=Location(path=path, start_line=line))


def project(root: Path, views: str = VIEWS, db: str = DB) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "views.py").write_text(views)
    (root / "app" / "db.py").write_text(db)
    return root


def rows_by_id(root: Path, findings: list[Finding], config: TriageConfig | None = None):
    result = triage_findings(findings, config or TriageConfig(), root, code=ReachabilityIndex(root))
    return {f.id: row for row in result.rows for f in row.group.findings}


def reach(row) -> list[str]:
    return [f.reason for f in row.group.rank.factors if f.name == "reachability"]


def test_injection_in_a_helper_a_route_calls_is_reachable_and_lands_in_now(tmp_path: Path) -> None:
    root = project(tmp_path)
    rows = rows_by_id(root, [sqli("called", "app/db.py", 10), sqli("orphan", "app/db.py", 16)])
    called, orphan = rows["called"], rows["orphan"]
    assert reach(called) == [
        "reachable from route GET /users (web handler `show_user`) via load_user → run_query"]
    assert called.decision.lane == "now" and called.decision.decision == "attend"
    assert any("injection reachable from a web entry point" in w for w in called.decision.why)
    # the same kind of helper in the same file, called by no route: not reachable, not in now
    assert reach(orphan) == [] and orphan.decision.lane != "now"


def test_helper_not_called_from_any_route_is_not_reachable(tmp_path: Path) -> None:
    root = project(tmp_path / "a", views=VIEWS.replace('return load_user(request.args["name"])', "return 'hello'"))
    row = rows_by_id(root, [sqli("called", "app/db.py", 10)])["called"]
    assert reach(row) == [] and row.decision.lane != "now"
    # control: with the call in place the very same finding is reachable
    other = rows_by_id(project(tmp_path / "b"), [sqli("called", "app/db.py", 10)])["called"]
    assert reach(other) and other.decision.lane == "now"


def test_asset_configured_as_not_mattering_keeps_it_out_of_now(tmp_path: Path) -> None:
    root = project(tmp_path)
    config = parse_triage_config({"assets": [{"name": "legacy-admin", "paths": ["app/**"], "tier": 4}]}, root)
    row = rows_by_id(root, [sqli("called", "app/db.py", 10)], config)["called"]
    assert reach(row) and "via load_user → run_query" in reach(row)[0]
    assert row.decision.lane != "now" and row.decision.tier == 4


CYCLE = '''from flask import Flask

app = Flask(__name__)


@app.get("/walk/{n}")
def walk(n):
    return ping(n)


def ping(n):
    return pong(n - 1) if n else ping(0)


def pong(n):
    eval(str(n))
    return ping(n)
'''


def test_recursion_and_cycles_terminate_and_reach_the_helper(tmp_path: Path) -> None:
    root = project(tmp_path, views=CYCLE)
    code = ReachabilityIndex(root)
    finding = Finding(id="ev", tool="bandit", rule_id="B307", message="eval", severity="medium", cwe=[94],
                      location=Location(path="app/views.py", start_line=16))
    assert code.web_path(finding) == "reachable from route GET /walk/{n} (web handler `walk`) via ping → pong"


def chain(depth: int) -> str:
    """A route calling h1 → h2 → … → h{depth}, each helper holding an os.system call on its second line."""
    text = ["import os", "from flask import Flask", "app = Flask(__name__)", "", "", "@app.post('/run')",
            "def run(cmd):", "    return h1(cmd)", ""]
    for i in range(1, depth + 1):
        call = f"h{i + 1}(cmd)" if i < depth else "None"
        text += [f"def h{i}(cmd):", "    os.system('sh -c ' + cmd)", f"    return {call}", ""]
    return "\n".join(text) + "\n"


def test_the_walk_stops_at_max_depth(tmp_path: Path) -> None:
    root = project(tmp_path, views=chain(6))
    code = ReachabilityIndex(root)
    line = {i: 11 + 4 * (i - 1) for i in range(1, 7)}  # the os.system line of h{i}

    def via(i: int) -> str | None:
        return code.web_path(Finding(id=f"h{i}", tool="bandit", rule_id="B605", message="m", cwe=[78],
                                     location=Location(path="app/views.py", start_line=line[i])))

    assert via(1) == "reachable from route POST /run (web handler `run`) via h1"
    assert via(4) == "reachable from route POST /run (web handler `run`) via h1 → h2 → h3 → h4"
    assert via(5) is None and via(6) is None  # five and six calls deep: beyond the bound, not claimed


AMBIGUOUS = '''from flask import Flask

app = Flask(__name__)


@app.route("/hook")
def hook(handler):
    return handler.handle()
'''


def test_dynamic_dispatch_to_an_ambiguous_name_is_not_followed(tmp_path: Path) -> None:
    db = DB.replace("def run_query", "def handle").replace("return run_query(name)", "return handle(name)")
    root = project(tmp_path, views=AMBIGUOUS, db=db)
    (root / "app" / "other.py").write_text("def handle():\n    return 1\n")
    row = rows_by_id(root, [sqli("h", "app/db.py", 10)])["h"]
    assert reach(row) == [] and row.decision.lane != "now"
    # with one project function of that name, `handler.handle()` is followed (the documented heuristic)
    (root / "app" / "other.py").unlink()
    row = rows_by_id(root, [sqli("h", "app/db.py", 10)])["h"]
    assert reach(row) == ["reachable from route GET /hook (web handler `hook`) via handle"]


class DictCache:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, int], dict] = {}

    def get_file_facts(self, path: str, digest: str, version: int) -> dict | None:
        return self.rows.get((path, digest, version))

    def put_file_facts(self, path: str, digest: str, version: int, facts: dict) -> None:
        self.rows[(path, digest, version)] = facts


def test_each_project_file_is_read_and_parsed_once_and_cached(tmp_path: Path) -> None:
    root = project(tmp_path)
    cache = DictCache()
    first = ReachabilityIndex(root, cache)
    before = triage_findings([sqli("a", "app/db.py", 10), sqli("b", "app/db.py", 16)], TriageConfig(), root,
                             code=first)
    # db.py and views.py once each; the empty __init__.py holds no handler and defines nothing: not parsed
    assert first.files.reads == 2 and first.files.parses == 2
    again = ReachabilityIndex(root, cache)
    same = triage_findings([sqli("a", "app/db.py", 10), sqli("b", "app/db.py", 16)], TriageConfig(), root,
                           code=again)
    assert again.files.parses == 0 and again.files.cached == 2
    assert [(r.group.rank, r.decision.lane) for r in same.rows] == [(r.group.rank, r.decision.lane)
                                                                   for r in before.rows]
