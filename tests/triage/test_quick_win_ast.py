"""Triage's quick-win answer is read off the `ast` tree the facts layer parsed: libcst is not used for code the
fixers' ast predicates are sure about, and where one is not sure, libcst answers (the same answer as
`rewriting_fixer`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.engines.builtin.fixers import quick_win, rewriting_fixer
from agent.models import Finding, Location
from agent.triage.reachability import ReachabilityIndex

APP = '''import hashlib
import sqlite3
import subprocess

import yaml


def find_user(name):
    cur = sqlite3.connect("app.db").cursor()
    cur.execute(f"SELECT id FROM users WHERE name = '{name}'")
    return cur.fetchall()


def store_password(password):
    return hashlib.md5(password.encode()).hexdigest()


def archive(name):
    subprocess.run(f"tar czf /tmp/{name}.tgz /srv/data", shell=True, check=False)
    subprocess.run(f"ls {name} | wc -l", shell=True)


def settings(path):
    with open(path) as handle:
        return yaml.load(handle, Loader=yaml.SafeLoader), yaml.load(handle)
'''

XML = '''import xml.sax


def titles(path):
    parser = xml.sax.make_parser()
    parser.parse(path)
    return xml.sax.parseString(open(path).read(), handler)
'''


def finding(fid: str, path: str, line: int, tool: str, rule: str, cwe: tuple[int, ...] = ()) -> Finding:
    return Finding(id=fid, tool=tool, rule_id=rule, message="m", severity="high", cwe=list(cwe),
                   location=Location(path=path, start_line=line))


def line(source: str, needle: str) -> int:
    return next(n for n, text in enumerate(source.splitlines(), 1) if needle in text)


def app_findings() -> list[Finding]:
    return [
        finding("sqli", "app.py", line(APP, "cur.execute"), "bandit", "B608"),
        finding("sqli-semgrep", "app.py", line(APP, "cur.execute"), "semgrep", "sqli", (89,)),
        finding("md5", "app.py", line(APP, "hashlib.md5"), "bandit", "B324"),
        finding("tar", "app.py", line(APP, "tar czf"), "bandit", "B602"),
        finding("pipe", "app.py", line(APP, "| wc"), "bandit", "B602"),
        finding("yaml", "app.py", line(APP, "yaml.load(handle, Loader"), "bandit", "B506"),
        finding("unnamed", "app.py", line(APP, "tar czf"), "trivy", "CVE-2024-1"),
    ]


def test_common_findings_are_answered_without_libcst(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "app.py").write_text(APP)
    expected = {f.id: rewriting_fixer(f, APP) for f in app_findings()}
    assert expected == {"sqli": "sql_parameterize", "sqli-semgrep": "sql_parameterize", "md5": None,
                        "tar": "shell_command", "pipe": None, "yaml": "yaml_load", "unnamed": "shell_command"}

    def no_libcst(text: str):
        raise AssertionError("the quick-win check parsed the file with libcst")

    monkeypatch.setattr(quick_win, "parse_source", no_libcst)
    before = quick_win.QUICK_WIN_STATS["ast"]
    code = ReachabilityIndex(tmp_path)
    code.prepare(app_findings())
    assert {f.id: code.fixer(f) for f in app_findings()} == expected
    # one answer per question: the bandit and the semgrep SQL findings ask the same fixer about the same line
    assert quick_win.QUICK_WIN_STATS["ast"] - before == len(expected) - 1
    assert code.files.parses == 1


def test_an_unsure_predicate_hands_the_question_to_libcst(tmp_path: Path) -> None:
    (tmp_path / "rss.py").write_text(XML)
    findings = [finding("import", "rss.py", 1, "bandit", "B406"),
                finding("parser", "rss.py", line(XML, "make_parser"), "bandit", "B317"),
                finding("string", "rss.py", line(XML, "parseString"), "bandit", "B317")]
    before = quick_win.QUICK_WIN_STATS["libcst"]
    code = ReachabilityIndex(tmp_path)
    code.prepare(findings)
    assert {f.id: code.fixer(f) for f in findings} == {f.id: rewriting_fixer(f, XML) for f in findings}
    assert code.fixer(findings[1]) == "xml_parser"
    assert quick_win.QUICK_WIN_STATS["libcst"] - before == 1  # the import finding: its uses decide, in libcst


def test_text_that_does_not_parse_has_no_quick_win(tmp_path: Path) -> None:
    broken = "def f(:\n    yaml.load(x)\n"
    (tmp_path / "bad.py").write_text(broken)
    code = ReachabilityIndex(tmp_path)
    item = finding("yaml", "bad.py", 2, "bandit", "B506")
    code.prepare([item])
    assert code.fixer(item) is None and rewriting_fixer(item, broken) is None


RANDOM_TOKEN = '''"""Jetons de session (café)."""
import {module}


def token():
    return {call}.random()
'''


@pytest.mark.parametrize(("module", "call"), [("ｒａｎｄｏｍ", "ｒａｎｄｏｍ"), ("random", "ｒａｎｄｏｍ"),
                                              ("ｒａｎｄｏｍ", "random")])
def test_names_python_reads_nfkc_normalized_are_judged_as_the_fixer_sees_them(tmp_path: Path, module: str,
                                                                             call: str) -> None:
    """`ast` reports `ｒａｎｄｏｍ` as `random`, libcst as spelled: the quick win is the fixer's own answer."""
    source = RANDOM_TOKEN.format(module=module, call=call)
    (tmp_path / "tokens.py").write_text(source)
    item = finding("random", "tokens.py", line(source, ".random()"), "bandit", "B311")
    before = quick_win.QUICK_WIN_STATS["respelled"]
    code = ReachabilityIndex(tmp_path)
    code.prepare([item])
    assert code.fixer(item) == rewriting_fixer(item, source)
    assert quick_win.QUICK_WIN_STATS["respelled"] - before == 1


@pytest.mark.parametrize("comment", ["café", "wait…", "a\u00a0b", "价格，（税）", "Acme™ 2026", "①"])
def test_other_non_ascii_text_is_still_answered_on_the_ast_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              comment: str) -> None:
    """Text NFKC changes outside names ("…" -> "...", a no-break space, full-width punctuation, a sign that is
    no name) leaves the names as spelled: the ast tree answers."""
    source = f"# {comment}\n" + RANDOM_TOKEN.format(module="random", call="random")
    (tmp_path / "tokens.py").write_text(source)
    item = finding("random", "tokens.py", line(source, ".random()"), "bandit", "B311")
    assert rewriting_fixer(item, source) == "insecure_random"

    def no_libcst(text: str):
        raise AssertionError("the quick-win check parsed the file with libcst")

    monkeypatch.setattr(quick_win, "parse_source", no_libcst)
    code = ReachabilityIndex(tmp_path)
    code.prepare([item])
    assert code.fixer(item) == "insecure_random"
