"""Reachability hints from the code around a finding: is it in an entry point, or in code that never ships?

Handles Python source of any project (other languages get the path-based hints only). The facts come from the
per-run file-facts layer (`agent.code.file_facts`: each file read once and parsed once with stdlib `ast`):

* entry points, found by structure rather than names (`agent.code.entry_points`): web routes and handlers, CLI
  commands, task handlers, methods of class-based views, serverless handlers, modules that run as scripts;
* reachability through helpers: a finding in a function that a web handler calls, directly or through at most
  `agent.code.calls.MAX_DEPTH` calls, is reachable from that route (`ReachabilityIndex.web_path`). The call graph
  is built once per index, on first use, over the production Python files of the project (at most
  `MAX_GRAPH_FILES` files, in path order; test, example, vendored and generated code and tool folders such as
  `.venv`/`node_modules` are skipped), and walked as it is built: only the files that may hold a web handler or
  define a name the walk resolves are parsed (each at most once, as for any other fact, and cached with them),
  which gives the walk of the whole project's graph (see `call_graph`). What the walk cannot resolve it does not
  follow, so "not reachable" only ever means "not shown reachable";
* code kind by path (test, example, vendored, generated) and the builtin static false-positive evidence
  (`agent.engines.builtin.evidence`: constant input to an injection sink, dead code...);
* whether a builtin fixer would actually rewrite the finding (`agent.engines.builtin.fixers.rewriting_fixer`'s
  answer, read by `quick_win.quick_win_fixer` off the `ast` tree the facts layer parsed: no second read, and
  libcst only where a fixer's ast predicate cannot be sure), cached with the facts under the fixers' own source
  digest (predicates included), so a changed fixer never serves a stale answer.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from functools import lru_cache, partial
from importlib import metadata
from pathlib import Path

import agent.engines.builtin.fixers as fixers_pkg
from agent.code import nodes
from agent.code.calls import CallGraph, Outline, outline
from agent.code.entry_points import EntryPoint, entry_points
from agent.code.file_facts import READ_AHEAD, FactsCache, FactsIndex, FileFacts, decode_source
from agent.code.pyparse import parse_python
from agent.engines.builtin.evidence import Evidence, credential_kinds, file_evidence
from agent.engines.builtin.fixers import FIXERS, Fixer, candidate_fixers
from agent.engines.builtin.fixers.quick_win import fixers_to_ask, quick_win
from agent.gc_pause import paused_gc
from agent.models import Finding
from agent.triage.code_kind import path_kind

__all__ = ["EntryPoint", "FileFacts", "ReachabilityIndex", "analyse_source"]

MAX_GRAPH_FILES = 20_000  # files the call graph reads; beyond, helpers in later files are not shown reachable
_SKIP_DIRS = frozenset({"node_modules", "site-packages", "__pycache__", "venv", "env", "build", "dist"})


def analyse_source(source: str) -> FileFacts:
    """The entry-point facts of one module's source (no facts when it does not parse)."""
    facts = FileFacts(digest="", header="\n".join(source.splitlines()[:5]))
    try:
        tree = parse_python(source)
    except (SyntaxError, ValueError):
        return facts
    facts.parsed = True
    facts.spans, facts.script = entry_points(tree)
    return facts


class ReachabilityIndex:
    """Per-file facts for a project folder, each file read and parsed at most once per index (files that do not
    exist have no facts). `prepare(findings)` answers every finding's line queries up front, file by file."""

    def __init__(self, root: Path | None, cache: FactsCache | None = None) -> None:
        self.root = root
        self.files = FactsIndex(root, cache)
        self._graph: CallGraph | None = None
        self._prepared: set[str] = set()  # paths whose facts `prepare` loaded

    def facts(self, path: str) -> FileFacts:
        return self.files.facts(path)

    def prepare(self, findings: Iterable[Finding], wanted: Callable[[Finding], bool] = lambda f: True,
                progress: Callable[[int, int], None] | None = None) -> None:
        """Read, parse and query the files of the `wanted` findings once each, before they are scored (the
        fixer question too, while the file's text is at hand)."""
        chosen = [f for f in findings if wanted(f)]
        self._prepared.update(f.location.path for f in chosen)
        spans, extra = _questions(chosen)
        self.files.prepare(spans, progress, extra)

    def warm(self, findings: Iterable[Finding], wanted: Callable[[Finding], bool] = lambda f: True
             ) -> Callable[[bool], int] | None:
        """Start answering, in worker processes, the questions `prepare` would ask about the `wanted` findings'
        files that the cache lacks (`FactsIndex.warm`: what it returns waits for them and stores the facts in the
        cache; None when nothing was started)."""
        with paused_gc():  # (many small objects, no cycles: see agent.gc_pause)
            spans, extra = _questions([f for f in findings if wanted(f)])
            return self.files.warm(spans, extra)

    def entry_point(self, finding: Finding) -> EntryPoint | None:
        return self.facts(finding.location.path).entry_point_at(finding.location.start_line)

    def web_path(self, finding: Finding) -> str | None:
        """How the function holding `finding` is reached from a web handler of the project, through calls (see
        `CallGraph.path_to`), or None: no readable source, not inside a function, a web handler itself, or not
        reached within the bound."""
        facts = self.facts(finding.location.path)
        qual = facts.calls.function_at(finding.location.start_line) if facts.parsed else None
        if qual is None or self.files.root is None:
            return None
        return self.call_graph().path_to(finding.location.path, qual)

    def call_graph(self) -> CallGraph:
        """The project's call graph, walked (built on first use; see the module docstring). Only the modules that
        can change the walk are parsed (their facts come from the cache when it has them): every module that may
        hold a web handler, up front in path order, then, each time the walk resolves a callee named `n`, every
        module that may define a function or class `n` (`agent.code.calls.outline`, a superset read off the
        text). Modules that hold no handler and define none of the names the walk looks up add no root, no
        function the walk reaches and no candidate to any resolution, so the walk is the whole project's."""
        if self._graph is None:
            paths = _python_files(self.files.root, path_kind)
            outlines = [_facts_outline(self.facts(path)) if path in self._prepared else _outline(self.files.root, path)
                        for path in paths]
            by_name: dict[str, list[int]] = {}  # modules not added up front (names None: web, added up front)
            for index, found in enumerate(outlines):
                for name in found.names or ():
                    by_name.setdefault(name, []).append(index)
            added: set[int] = set()

            def add(indexes: Iterable[int]) -> None:
                todo = sorted(set(indexes) - added)
                added.update(todo)
                for start in range(0, len(todo), READ_AHEAD):  # read and look up in the cache a batch at a time
                    batch = todo[start:start + READ_AHEAD]
                    self.files.read_ahead(paths[i] for i in batch)
                    for index in batch:
                        facts = self.facts(paths[index])
                        if facts.parsed:
                            graph.add_module(paths[index], facts.calls, {
                                first: ep.name for first, _, ep in facts.spans if ep.kind == "web handler"}, index)
                        facts.module = None  # keep the facts, not the tree

            graph = CallGraph(demand=(lambda name: add(by_name.pop(name, ()))) if by_name else None)
            add(i for i, found in enumerate(outlines) if found.web)
            graph.walk()
            self.files.save()
            self._graph = graph
        return self._graph

    def fixer(self, finding: Finding) -> str | None:
        """The builtin fixer that would rewrite `finding` in its file, or None (no readable source, no candidate,
        or every candidate declines)."""
        question = _fixer_question(finding.tool, finding.rule_id, tuple(finding.cwe))
        if question is None:
            return None
        loc = finding.location
        return _fixer_answer(self.facts(loc.path), question[0], question[1], loc.start_line, loc.last_line)

    def evidence(self, finding: Finding) -> list[Evidence]:
        """Builtin static evidence (the same facts the builtin engine uses), parsing each file at most once."""
        return file_evidence(self.facts(finding.location.path), finding)


def _outline(root: Path | None, path: str) -> Outline:
    """`outline` of the file at `path` (files that cannot be read as UTF-8 have no facts: no handler, no name)."""
    try:
        return outline(decode_source((root / path).read_bytes())) if root is not None else _NOTHING
    except (OSError, UnicodeDecodeError):
        return _NOTHING


_NOTHING = Outline(False, frozenset())


def _facts_outline(facts: FileFacts) -> Outline:
    """The outline of a file whose facts are at hand (exact: its web handlers, and every part of its functions'
    qualified names, which holds every function name and the class of every method)."""
    if not facts.parsed:
        return _NOTHING
    if any(ep.kind == "web handler" for _, _, ep in facts.spans):
        return Outline(True, None)
    return Outline(False, frozenset(part for fn in facts.calls.functions for part in fn[2].split(".")))


def _python_files(root: Path | None, path_kind: Callable[[str], str | None]) -> list[str]:
    """Project-relative paths of the production Python files under `root`, in path order, at most
    MAX_GRAPH_FILES (hidden and tool folders are skipped, symlinked folders not followed)."""
    found: list[str] = []
    if root is None:
        return found
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        rel = Path(folder).relative_to(root).as_posix()
        for name in sorted(files):
            path = name if rel == "." else f"{rel}/{name}"
            if name.endswith((".py", ".pyw")) and path_kind(path) is None:
                found.append(path)
                if len(found) >= MAX_GRAPH_FILES:
                    return found
    return found


@lru_cache(maxsize=1)
def fixers_digest() -> str:
    """A digest of what the builtin fixers' answers depend on besides the file: their source (the ast predicates
    included), the node tables their ast view walks by (`agent.code.nodes`) and libcst's version; part of every
    cached fixer answer's key (the Python version is in the facts' own, `file_facts.STORE_VERSION`)."""
    digest = hashlib.sha256()
    for file in [*sorted(Path(fixers_pkg.__file__).parent.glob("*.py")), Path(nodes.__file__)]:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    digest.update(b"libcst " + metadata.version("libcst").encode())
    return digest.hexdigest()[:16]


def may_have_fixer(finding: Finding) -> bool:
    """Cheap pre-filter: some fixer knows the rule or a CWE, or nothing names the flaw (the code decides)."""
    return bool(candidate_fixers(finding)) or (not finding.cwe and finding.tool.lower() != "bandit")


def _questions(findings: list[Finding]) -> tuple[dict[tuple[str, int, int], None],
                                                 dict[str, list[Callable[[FileFacts], object]]]]:
    """What `FactsIndex.prepare` is asked about `findings`: their distinct (path, first line, last line) spans,
    and each file's further questions (the distinct quick-win questions, then the credential question scoring
    asks of each span)."""
    questions: dict[str, dict[tuple[str, int, int], tuple[Fixer, ...]]] = {}  # path -> the distinct questions
    spans: dict[tuple[str, int, int], None] = {}
    ask = _fixer_question
    for finding in findings:
        loc = finding.location
        path, first, last = span = loc.path, loc.start_line, loc.last_line
        spans[span] = None
        question = ask(finding.tool, finding.rule_id, tuple(finding.cwe))
        if question is not None:
            asked = questions.get(path)
            if asked is None:
                asked = questions[path] = {}
            asked.setdefault((question[0], first, last), question[1])
    extra: dict[str, list[Callable[[FileFacts], object]]] = {
        path: [partial(_fixer_answers, questions=asked)] for path, asked in questions.items()}
    for path, first, last in spans:  # the credential question scoring asks, while the file's text is at hand
        extra.setdefault(path, []).append(partial(credential_kinds, first=first, last=last))
    return spans, extra


@lru_cache(maxsize=65536)
def _fixer_question(tool: str, rule_id: str, cwe: tuple[int, ...]) -> tuple[str, tuple[Fixer, ...]] | None:
    """What the quick-win question asks for findings of `tool` / `rule_id` / `cwe`: the fixers to ask, in order
    (`fixers_to_ask`: all the answer depends on besides the file and the lines), and the start of its answers'
    cache key, which names them (by place in `FIXERS`) and the fixers' source digest. None when `may_have_fixer`
    is False (no fixer to ask). Findings of different tools and rules that ask the same fixers share answers."""
    fixers = fixers_to_ask(tool, rule_id, cwe)
    return _fixers_question(fixers) if fixers else None


@lru_cache(maxsize=4096)
def _fixers_question(fixers: tuple[Fixer, ...]) -> tuple[str, tuple[Fixer, ...]]:
    """`_fixer_question`'s answer for the fixers it asks (one per distinct list of fixers, however many rules
    ask it)."""
    return f"fixer:{fixers_digest()}:{'.'.join(str(FIXERS.index(f)) for f in fixers)}:", fixers


def _fixer_answers(facts: FileFacts, questions: dict[tuple[str, int, int], tuple[Fixer, ...]]) -> None:
    """`_fixer_answer` for each of a file's distinct questions: (key start, first line, last line) -> fixers."""
    for (prefix, first, last), fixers in questions.items():
        _fixer_answer(facts, prefix, fixers, first, last)


def _fixer_answer(facts: FileFacts, prefix: str, fixers: tuple[Fixer, ...], first: int, last: int) -> str | None:
    """`quick_win` of `fixers` on lines first..last of the file's text and its already-parsed `ast` tree (libcst
    only where a fixer's ast predicate cannot be sure), cached with the facts under `prefix` and the lines."""
    return facts.answer(f"{prefix}{first}:{last}", partial(_quick_win, facts, fixers, first, last))


def _quick_win(facts: FileFacts, fixers: tuple[Fixer, ...], first: int, last: int, text: str) -> str | None:
    """`quick_win` on `text`, the file's text, with its `ast` tree (None when it did not parse)."""
    module = facts.parsed_module()
    tree = module.tree if module is not None and (module.source is text or module.source == text) else None
    return quick_win(text, tree, fixers, first, last)
