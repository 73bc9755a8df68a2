"""The fixers' ast-level `would_rewrite` predicates (triage's quick-win check without libcst) agree with libcst.

A differential test: over real Python — every code string in the fixer tests, examples/, the eval cases (and the
real-package cases' sources when they are on disk), tests/data, the modules evals/perf/triage_scale.py writes, and
a sample of installed packages (werkzeug, jinja2, requests, ...) — for every statement's and call's line span and
every fixer, the ast answer equals the libcst one (`Fixer.rewrites`, itself checked against `fix_parsed(...).fixed`).
"Unsure" answers are left to libcst by the caller; they are counted and must stay rare.
"""

from __future__ import annotations

import ast
import random
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

import agent.engines.builtin.fixers as fixers_pkg
from agent.engines.builtin.fixers import FIXERS, has_ast_predicate, rewriting_fixer
from agent.engines.builtin.fixers.ast_view import AstView, Unsure
from agent.engines.builtin.fixers.base import CallFixer, Decline, ParsedSource, SourceParseError
from agent.engines.builtin.fixers.quick_win import quick_win_fixer
from agent.models import Finding, Location

ROOT = Path(__file__).resolve().parents[3]
SITE = Path(ast.__file__).parent / "site-packages"


def _code_strings(path: Path) -> list[str]:
    """The multi-line string constants of a test module that parse as Python (the fixers' test sources)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value:
            source = textwrap.dedent(node.value)
            try:
                ast.parse(source)
            except (SyntaxError, ValueError):
                continue
            found.append(source)
    return found


def _files(folder: Path, pattern: str = "*.py") -> list[Path]:
    return sorted(folder.rglob(pattern)) if folder.is_dir() else []


def _sample(files: list[Path], count: int, max_lines: int = 600) -> list[Path]:
    small = [f for f in files if f.stat().st_size < max_lines * 40]
    return random.Random(12).sample(small, min(count, len(small)))


def corpus(group: str) -> list[tuple[str, str]]:
    if group == "fixer tests":
        modules = _files(ROOT / "tests" / "engines") + _files(ROOT / "tests" / "triage")
        return [(f"{p.name}#{i}", s) for p in modules for i, s in enumerate(_code_strings(p))]
    if group == "examples and eval cases":
        paths = _files(ROOT / "examples") + _files(ROOT / "evals" / "cases") + _files(ROOT / "tests" / "data")
        return [(str(p), p.read_text(encoding="utf-8", errors="replace")) for p in paths]
    if group == "triage_scale modules":
        sys.path.insert(0, str(ROOT / "evals" / "perf"))
        try:
            import triage_scale
        finally:
            sys.path.remove(str(ROOT / "evals" / "perf"))
        rng = random.Random(5)
        return [(f"triage_scale module {i}", triage_scale.module_source(i, rng)[0]) for i in range(3)]
    paths = _sample(_files(ROOT / "evals" / "real"), 4)
    for package in ("werkzeug", "jinja2", "requests", "urllib3", "click", "yaml"):
        paths += _sample(_files(SITE / package), 2)
    return [(str(p), p.read_text(encoding="utf-8", errors="replace")) for p in paths]


def spans(tree: ast.Module) -> list[tuple[int, int]]:
    """The line spans a scanner reports: each statement's first line and whole extent, each call's extent."""
    found: set[tuple[int, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.stmt, ast.Call)):
            found.update({(node.lineno, node.lineno), (node.lineno, node.end_lineno or node.lineno)})
    return sorted(found)


def compare(texts: list[tuple[str, str]]) -> tuple[Counter[str], list[str]]:
    stats: Counter[str] = Counter()
    mismatches: list[str] = []
    for name, source in texts:
        try:
            tree = ast.parse(source)
            parsed = ParsedSource(source)
        except (SyntaxError, ValueError, SourceParseError):
            continue
        view = AstView(source, tree)
        stats["texts"] += 1
        for first, last in spans(tree):
            for fixer in FIXERS:
                try:
                    answer = fixer.would_rewrite(view, first, last)
                except Unsure:
                    answer = None
                truth = fixer.rewrites(parsed, first, last)
                stats["asked"] += 1
                stats["rewrites"] += truth
                if answer is None:
                    stats["unsure"] += 1
                elif answer != truth:
                    mismatches.append(f"{name} lines {first}-{last}: {fixer.name} ast={answer} libcst={truth}")
    return stats, mismatches


@pytest.mark.parametrize("group", ["fixer tests", "examples and eval cases", "triage_scale modules",
                                   "real packages"])
def test_the_ast_answer_is_libcsts_on_real_code(group: str) -> None:
    stats, mismatches = compare(corpus(group))
    assert stats["texts"] >= 3 and stats["asked"] > 1000
    assert mismatches == []
    assert stats["unsure"] <= 0.01 * stats["asked"], stats  # measured: 0.04% over 258k questions
    if group in {"fixer tests", "triage_scale modules"}:
        assert stats["rewrites"] > 30  # the corpus exercises rewrites, not only "no target here"


def test_the_cheap_libcst_check_is_fix_parsed_without_rendering() -> None:
    texts = corpus("fixer tests")
    checked = 0
    for _, source in texts[::3]:
        try:
            parsed = ParsedSource(source)
        except SourceParseError:
            continue
        for first, last in spans(ast.parse(source)):
            for fixer in FIXERS:
                assert fixer.rewrites(parsed, first, last) == fixer.fix_parsed(parsed, first, last).fixed
                checked += 1
    assert checked > 1000


QUERIES = [("bandit", "B608", ()), ("bandit", "B506", ()), ("bandit", "B602", ()), ("bandit", "B324", ()),
           ("bandit", "B311", ()), ("bandit", "B105", ()), ("semgrep", "python.sqli", (89,)),
           ("semgrep", "some.rule", (327,)), ("semgrep", "x", (502,)), ("codeql", "py/x", (78,)),
           ("trivy", "CVE-2024-1", ()), ("gosec", "G1", (703,))]


def test_quick_win_fixer_is_rewriting_fixer() -> None:
    """The triage entry point: fixers asked in `fixers_for`'s order, first rewrite wins, unsure asks libcst."""
    answers: Counter[str] = Counter()
    for name, source in corpus("fixer tests")[::3] + corpus("triage_scale modules"):
        tree = ast.parse(source)
        for first, last in spans(tree)[::3]:
            for tool, rule, cwe in QUERIES:
                finding = Finding(id="f", tool=tool, rule_id=rule, message="m", cwe=list(cwe),
                                  location=Location(path="m.py", start_line=first, end_line=last))
                expected = rewriting_fixer(finding, source)
                assert quick_win_fixer(source, tree, tool, rule, cwe, first, last) == expected, (name, first, rule)
                answers[expected or "none"] += 1
    assert len(answers) >= 6  # several fixers answered, not only "none"


def test_every_fixer_has_an_ast_predicate_and_a_fixer_without_one_is_refused() -> None:
    assert all(has_ast_predicate(f) for f in FIXERS)

    class NoPredicate(CallFixer):
        name = "no_predicate"

        def is_target(self, parsed, call):
            return False

        def plan(self, parsed, call):
            return Decline("never")

    assert not has_ast_predicate(NoPredicate())
    with pytest.raises(NotImplementedError):
        NoPredicate().would_rewrite(AstView("f(x)\n", ast.parse("f(x)\n")), 1, 1)


def test_every_predicate_lives_where_the_cache_key_digest_reads() -> None:
    """`fixers_digest` hashes the fixers package's files: a predicate defined elsewhere could change without
    invalidating cached quick-win answers."""
    folder = Path(fixers_pkg.__file__).parent
    for fixer in FIXERS:
        for method in ("would_rewrite", "ast_plan", "ast_is_target"):
            function = getattr(type(fixer), method, None)
            if function is not None:
                assert Path(function.__code__.co_filename).parent == folder, (fixer.name, method)


SCOPE_CASES = {
    "module-level name that shadows an import": "import yaml\nyaml = make()\nyaml.load(x)\n",
    "a local assignment named like the module": "def f(yaml):\n    return yaml.load(x)\n",
    "an import inside the function after the call": "def f():\n    load(x)\n    from yaml import load\n",
    "an import before the call": "def f():\n    from yaml import load\n    return load(x)\n",
    "an aliased dotted import": "import xml.etree.ElementTree as ET\nET.parse(p)\nET.fromstring(d)\n",
    "a plain dotted import": "import xml.etree.ElementTree\nxml.etree.ElementTree.parse(p)\n",
    "a global declaration": "import yaml\ndef f():\n    global yaml\n    yaml = other\n    yaml.load(s)\n",
    "a nonlocal declaration": ("def outer():\n    import subprocess as sp\n    def inner():\n        nonlocal sp\n"
                               "        sp.run(f'ls {x}', shell=True)\n    return inner\n"),
    "a class body hides its names": ("from yaml import load\nclass C:\n    load = staticmethod(len)\n"
                                     "    def m(self):\n        return load(s)\n"),
    "a call through a call": "from yaml import load\nload(s)(t)\n",
    "a comprehension": "import random\ntokens = [random.choice(ABC) for _ in range(8)]\n",
    "a with-bound tar file": "import tarfile\nwith tarfile.open(p) as tar:\n    tar.extractall(d)\n",
    "a zip file": "import tarfile, zipfile\nz = zipfile.ZipFile(p)\nz.extractall(d)\n",
    "a parameter annotated TarFile": "import tarfile\ndef f(t: tarfile.TarFile):\n    t.extractall(d)\n",
    "two-line SQL": ("import sqlite3\ndef f(c, name):\n    q = f\"SELECT * FROM t WHERE n = '{name}'\"\n"
                     "    c.execute(q)\n"),
    "SQL through format in parentheses": ("import sqlite3\nc.execute(\"SELECT * FROM t WHERE n = {}\".format((name)))\n"),
    "a shell command in parts": "import os\nos.system('ls ' + path + ' | wc')\nos.system('rm -- ' + path)\n",
    "an f-string debugging field": "import subprocess\nsubprocess.run(f'echo {x=}', shell=True)\n",
    "implicitly concatenated SQL": ("import sqlite3\nc.execute('SELECT a FROM t ' f\"WHERE n = '{n}'\" ' AND 1')\n"),
    "a hard-coded secret": "API_KEY = 'a8f5f167f44f4964e6c998dee827110c'\nconnect(password='changeme')\n",
}


@pytest.mark.parametrize("case", sorted(SCOPE_CASES))
def test_name_resolution_follows_libcst(case: str) -> None:
    stats, mismatches = compare([(case, SCOPE_CASES[case])])
    assert mismatches == [] and stats["asked"] > 0
