"""`Fixer.text_needs`: triage's quick-win question passes a fixer over in a module whose text has none of its words.
That must never change the answer: a fixer rewrites nothing in such a module (libcst or ast), whatever the import
style (`import x as y`, `from x import y`, attribute chains, NFKC identifiers), and the answer of a list with a
fixer passed over is the one asking each fixer in turn gives (`quick_win._ask`), unsure fixers and text libcst
cannot parse included.
"""

from __future__ import annotations

import ast

import pytest

import agent.engines.builtin.fixers.quick_win as quick_win_module
from agent.engines.builtin.fixers import FIXERS, _fixers_to_ask
from agent.engines.builtin.fixers.ast_view import AstView
from agent.engines.builtin.fixers.base import Fixer, ParsedSource, SourceParseError
from agent.engines.builtin.fixers.quick_win import quick_win
from tests.engines.builtin.test_would_rewrite import corpus, spans


def _lines(*lines: str) -> str:
    return "".join(f"{line}\n" for line in lines)


# modules each fixer rewrites, reached by aliases, from-imports, attribute chains and NFKC-normalised identifiers
REWRITTEN = {
    "insecure_random": ["from random import choice as pick\ntoken = pick(alphabet)\n",
                        "import random as r\nsecret = r.randint(0, 10)\n",
                        # (joined here: ast reads `ｒａｎｄｏｍ` as `random`, libcst does not, and test_would_rewrite's
                        # corpus takes every code string of this file)
                        _lines("import ｒａｎｄｏｍ", "secret = ｒａｎｄｏｍ.randint(0, 10)")],
    "yaml_load": ["from yaml import load as ld\ndata = ld(text)\n", "import yaml as y\ndata = y.load(text)\n"],
    "requests_timeout": ["from requests import get as fetch\nfetch(url)\n", "import requests as rq\nrq.post(url)\n"],
    "shell_command": ["from subprocess import call as c\nc('ls ' + path, shell=True)\n",
                      "from os import system as run\nrun('ls ' + path)\n", "import os as o\no.system('ls ' + path)\n"],
    "temp_file": ["from tempfile import mktemp as mk\npath = mk()\n", "import tempfile as t\npath = t.mktemp()\n"],
    "weak_hash": ["from hashlib import md5 as h\netag = h(body).hexdigest()\n",
                  "import hashlib as hl\nd = hl.new('sha1', token)\n"],
    "jinja2_autoescape": ["from jinja2 import Environment as E\nenv = E(loader=loader)\n",
                          "import jinja2 as j\nenv = j.Environment(autoescape=False)\n"],
    "tls_verify": ["import requests as rq\nrq.get(url, verify=False)\n",
                   "import httpx\nclient = httpx.Client()\nclient.verify = False\n"],
    "sql_parameterize": [("from sqlite3 import connect as c\ndef f(name):\n    cur = c(':memory:').cursor()\n"
                          "    cur.execute(\"SELECT id FROM users WHERE name = '\" + name + \"'\")\n")],
    "tar_extract": ["import tarfile as tf\nwith tf.open(path) as archive:\n    archive.extractall(dest)\n"],
    "xml_parser": ["from xml.etree.ElementTree import parse as p\ntree = p(source)\n",
                   "import xml.dom.minidom as md\ndoc = md.parseString(data)\n",
                   ("import xml.sax\nparser = xml.sax.make_parser()\n"
                    "parser.setFeature(xml.sax.handler.feature_external_ges, True)\n")],
}


def _fixer(name: str) -> Fixer:
    return next(f for f in FIXERS if f.name == name)


def test_every_fixer_that_passes_over_text_has_modules_here_it_rewrites() -> None:
    assert {f.name for f in FIXERS if f.text_needs} == set(REWRITTEN)


@pytest.mark.parametrize(("name", "source"), [(n, s) for n, sources in REWRITTEN.items() for s in sources])
def test_a_module_a_fixer_rewrites_holds_one_of_its_words(name: str, source: str) -> None:
    fixer = _fixer(name)
    tree = ast.parse(source)
    last = len(source.splitlines())
    assert fixer.rewrites(ParsedSource(source), 1, last) or fixer.would_rewrite(AstView(source, tree), 1, last)
    assert AstView(source, tree).mentions(fixer.text_needs)


def test_words_are_found_as_ast_reads_identifiers() -> None:
    source = "import ｒａｎｄｏｍ\n"
    assert AstView(source, ast.parse(source)).mentions(("random",))
    assert not AstView("import os\n", ast.parse("import os\n")).mentions(("random",))


def _outcome(call, *args):
    try:
        return call(*args)
    except Exception as exc:  # noqa: BLE001 - an error is an answer too: the same one either way
        return type(exc).__name__


def _texts() -> list[str]:
    found = []
    for _, source in corpus("fixer tests"):
        try:
            ast.parse(source)
            ParsedSource(source)
        except (SyntaxError, ValueError, SourceParseError, NotImplementedError):  # libcst: module-level nonlocal
            continue
        found.append(source)
    return found


def test_no_fixer_rewrites_in_a_module_without_its_words() -> None:
    checked = 0
    for source in _texts():
        tree = ast.parse(source)
        view = AstView(source, tree)
        parsed = ParsedSource(source)
        for fixer in FIXERS:
            if not fixer.text_needs or view.mentions(fixer.text_needs):
                continue
            for first, last in spans(tree):
                assert not fixer.rewrites(parsed, first, last), (fixer.name, first, last, source)
                checked += 1
    assert checked > 1000


def test_passing_fixers_over_never_changes_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    lists = {tuple(_fixers_to_ask(tool, rule, ())) for f in FIXERS for rule in f.rule_ids
             for tool in ("bandit", "semgrep")} | {tuple(FIXERS)}
    questions = [(source, first, last) for source in _texts() for first, last in spans(ast.parse(source))]

    def answers() -> list[object]:
        found = []
        for source, first, last in questions:
            tree = ast.parse(source)  # a fresh view: nothing remembered from the other run
            found += [_outcome(quick_win, source, tree, fixers, first, last) for fixers in lists]
        return found

    passing = answers()
    for fixer in FIXERS:
        monkeypatch.setattr(fixer, "text_needs", ())
    asking = answers()
    assert passing == asking
    assert sum(a in {f.name for f in FIXERS} for a in asking) > 30  # the corpus has rewrites, not only "no fixer"


class _Unsure(Fixer):
    """Unsure on the ast tree; rewrites nothing in libcst. Its words are in no module here."""

    name = "unsure_stub"
    text_needs = ("no_module_here_spells_this",)

    def detects(self, parsed, first_line, last_line):  # pragma: no cover - not asked
        return False

    def fix_parsed(self, parsed, first_line, last_line):  # pragma: no cover - not asked
        raise AssertionError

    def rewrites(self, parsed, first_line, last_line):
        return False

    def would_rewrite(self, view, first_line, last_line):
        return None


SHELL = "import os\nos.system('ls ' + path)\n"


@pytest.mark.parametrize("libcst_parses", [True, False])
def test_a_passed_over_fixer_that_is_unsure_leaves_the_answer_to_libcst(monkeypatch: pytest.MonkeyPatch,
                                                                       libcst_parses: bool) -> None:
    """Asked in turn, the unsure fixer sends the question to libcst; text libcst cannot parse has no answer then,
    even though a later fixer would rewrite on the ast tree."""
    shell = _fixer("shell_command")
    fixers = (_Unsure(), shell)
    if not libcst_parses:
        def refuse(text: str) -> ParsedSource:
            raise SourceParseError("libcst cannot parse this text")
        monkeypatch.setattr(quick_win_module, "parse_source", refuse)
    expected = "shell_command" if libcst_parses else None
    assert quick_win(SHELL, ast.parse(SHELL), fixers, 2, 2) == expected
    monkeypatch.setattr(_Unsure, "text_needs", ())  # asked, not passed over: the same answer
    assert quick_win(SHELL, ast.parse(SHELL), fixers, 2, 2) == expected


def test_a_passed_over_fixer_after_the_one_that_rewrites_is_never_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str) -> ParsedSource:
        raise SourceParseError("libcst cannot parse this text")
    monkeypatch.setattr(quick_win_module, "parse_source", refuse)
    assert quick_win(SHELL, ast.parse(SHELL), (_fixer("shell_command"), _Unsure()), 2, 2) == "shell_command"

