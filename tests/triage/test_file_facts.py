"""The per-run file-facts layer: each file read and parsed once per triage, facts reused by content digest, and
the stdlib-`ast` evidence reading the same facts the libcst reading did on the shapes where they could differ."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.code.file_facts import FactsIndex
from agent.engines.builtin.evidence import collect_evidence
from agent.models import Finding, Location
from agent.triage.config import TriageConfig
from agent.triage.rank import ScoringContext, score_finding
from agent.triage.reachability import ReachabilityIndex
from agent.triage.service import triage_findings

VIEWS = '''import os
from flask import Flask
app = Flask(__name__)
LISTING = "ls -l"


@app.route("/a")
def a(name):
    os.system(LISTING)
    os.system("echo " + name)
    if False:
        os.system(name)
    return name
'''


def finding(path: str, line: int, n: int, rule: str = "B605") -> Finding:
    return Finding(id=f"f{n:04d}", tool="bandit", rule_id=rule, message="m", cwe=[78],
                   location=Location(path=path, start_line=line))


def write_project(root: Path) -> None:
    (root / "app").mkdir(parents=True)
    (root / "app" / "views.py").write_text(VIEWS)
    (root / "app" / "other.py").write_text(VIEWS.replace("/a", "/b"))


def interleaved() -> list[Finding]:
    """40 findings over two files, alternating, so a per-file cache that only remembers the last file would parse
    each file again and again."""
    return [finding("app/views.py" if n % 2 else "app/other.py", (9, 10, 12)[n % 3], n) for n in range(40)]


def test_each_file_is_read_and_parsed_once_per_triage(tmp_path):
    write_project(tmp_path)
    code = ReachabilityIndex(tmp_path)
    result = triage_findings(interleaved(), TriageConfig(), tmp_path, code=code)
    assert code.files.parses == 2 and code.files.reads == 2 and result.rows
    reasons = {line: reason_at(code, "app/views.py", line) for line in (9, 10, 12)}
    assert "likely false positive" in reasons[9] and "constant `LISTING`" in reasons[9]
    assert "only runs when `False` is true" in reasons[12]
    assert "static evidence it is real" in reasons[10] and "web handler `a`" in reasons[10]
    assert code.files.parses == 2  # scoring again reads the facts, not the files


def reason_at(code: ReachabilityIndex, path: str, line: int) -> str:
    return "; ".join(f.reason for f in score_finding(finding(path, line, 0), ScoringContext(code=code)).factors)


class DictCache:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, int], dict[str, Any]] = {}

    def get_file_facts(self, path: str, digest: str, version: int) -> dict[str, Any] | None:
        return self.rows.get((path, digest, version))

    def put_file_facts(self, path: str, digest: str, version: int, facts: dict[str, Any]) -> None:
        self.rows[(path, digest, version)] = facts


def test_cached_facts_skip_parsing_unchanged_files_and_give_the_same_ranking(tmp_path):
    write_project(tmp_path)
    cache = DictCache()
    first = ReachabilityIndex(tmp_path, cache)
    before = triage_findings(interleaved(), TriageConfig(), tmp_path, code=first)
    assert first.files.parses == 2 and len(cache.rows) == 2

    again = ReachabilityIndex(tmp_path, cache)
    same = triage_findings(interleaved(), TriageConfig(), tmp_path, code=again)
    assert again.files.parses == 0 and again.files.cached == 2
    assert [r.group.rank for r in same.rows] == [r.group.rank for r in before.rows]
    assert reason_at(again, "app/views.py", 12) == reason_at(first, "app/views.py", 12)

    # a small change to one file: only that file is parsed again, and its new facts are used
    (tmp_path / "app" / "other.py").write_text(VIEWS.replace("/a", "/b").replace('LISTING = "ls -l"',
                                                                                 "LISTING = input()"))
    changed = ReachabilityIndex(tmp_path, cache)
    triage_findings(interleaved(), TriageConfig(), tmp_path, code=changed)
    assert changed.files.parses == 1 and changed.files.cached == 1
    assert "likely false positive" not in reason_at(changed, "app/other.py", 9)
    assert "likely false positive" in reason_at(changed, "app/views.py", 9)
    assert changed.files.parses == 1


def test_a_query_the_cache_has_not_seen_parses_the_file_once_more(tmp_path):
    write_project(tmp_path)
    cache = DictCache()
    FactsIndex(tmp_path, cache).prepare([("app/views.py", 9, 9)])
    index = FactsIndex(tmp_path, cache)
    facts = index.facts("app/views.py")
    assert index.parses == 0 and facts.sink(9, 9).constant
    assert facts.dead_code(12) is not None and index.parses == 1
    assert facts.dead_code(13) is None and index.parses == 1


def test_paths_outside_the_project_and_unreadable_files_have_no_facts(tmp_path):
    write_project(tmp_path)
    (tmp_path.parent / "outside.py").write_text(VIEWS)
    (tmp_path / "app" / "latin1.py").write_bytes(b"x = '\xe9'\n")
    index = FactsIndex(tmp_path)
    for path in ("../outside.py", "app/latin1.py", "app/missing.py", "app/views.txt"):
        assert not index.facts(path).source_known
    assert index.parses == 0


def test_symbolic_links_are_read_where_they_lead_and_only_inside_the_project(tmp_path):
    root = tmp_path / "project"
    write_project(root)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "views.py").write_text(VIEWS)
    links = {"app/inside.py": "views.py", "app/out.py": "../../outside/views.py", "app/dangling.py": "gone.py",
             "linked": "../outside", "app/same": "."}
    for link, target in links.items():
        (root / link).symlink_to(target)
    index = FactsIndex(root)
    known = {path: index.facts(path).source_known for path in (
        "app/inside.py", "app/out.py", "app/dangling.py", "linked/views.py", "app/same/views.py",
        "app/./views.py", "app//views.py", "app/../app/views.py", "app/views.py")}
    assert known == {"app/inside.py": True, "app/out.py": False, "app/dangling.py": False, "linked/views.py": False,
                     "app/same/views.py": True, "app/./views.py": True, "app//views.py": True,
                     "app/../app/views.py": True, "app/views.py": True}


def kinds_details(source: str, line: int, last: int | None = None) -> list[tuple[str, str]]:
    found = Finding(id="x", tool="bandit", rule_id="B602", message="m", cwe=[78],
                    location=Location(path="app/a.py", start_line=line, end_line=last))
    return [(e.kind, e.detail) for e in collect_evidence(source, found, "app/a.py")]


def test_ast_reading_keeps_the_shapes_the_libcst_reading_had():
    # TYPE_CHECKING through an alias is dead code; a local import of it does not reach module level
    assert kinds_details("import typing as t\nif t.TYPE_CHECKING:\n    os.system('a' + x)\n", 3)[0][0] == "dead_code"
    assert kinds_details("def f():\n    from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                         "    os.system('a' + x)\n", 4)[0][0] == "interpolated_input"
    # a statement sharing its `if False:` line is judged by the `if` itself (never dead)
    assert kinds_details("if False: os.system(x)\n", 1) == []
    # parentheses around a condition are part of its text
    assert kinds_details("if (False):\n    os.system(x)\n", 2)[0][1] == (
        "line 2 only runs when `(False)` is true, which it never is at run time")
    # implicitly concatenated literals: constant, not "interpolated", not "without fields"
    assert kinds_details("os.system('a' f'{b}')\n", 1) == []
    assert kinds_details("os.system(f'a' 'b')\n", 1) == [
        ("constant_input", "the input to `os.system` on line 1 is the constant `f'a' 'b'`")]
    # a multi-line constant shows without its block's indentation
    source = "def f():\n    if x:\n        log.error(\"a \"\n                  \"b\")\n"
    assert kinds_details(source, 3)[0][1].endswith("constant `\"a \"\n          \"b\"`")
    # a name bound twice is not a constant; match captures and `del` are not bindings
    assert kinds_details("c = 'ls'\nc = input()\nos.system(c)\n", 3) == []
    assert kinds_details("c = 'ls'\nmatch v:\n    case c:\n        pass\nos.system(c)\n", 5)[0][0] == (
        "constant_input")


def test_the_store_keeps_file_facts_by_content_digest(tmp_path):
    from agent.code.facts_store import StoreFactsCache
    from agent.store import Store

    write_project(tmp_path / "repo")
    store = Store(f"sqlite:///{tmp_path / 'suture.db'}")
    first = FactsIndex(tmp_path / "repo", StoreFactsCache(store.engine))
    first.prepare([("app/views.py", 9, 9), ("app/other.py", 12, 12)])
    assert first.parses == 2
    reopened = Store(f"sqlite:///{tmp_path / 'suture.db'}")  # a new run: nothing in memory
    again = FactsIndex(tmp_path / "repo", StoreFactsCache(reopened.engine))
    again.prepare([("app/views.py", 9, 9), ("app/other.py", 12, 12)])
    assert again.parses == 0 and again.cached == 2
    assert again.facts("app/views.py").sink(9, 9).constant and again.facts("app/other.py").dead_code(12)
