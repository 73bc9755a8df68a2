"""Reachability hints from the code around a finding: is it in an entry point, or in code that never ships?

Handles Python source of any project (other languages get the path-based hints only). The facts come from the
per-run file-facts layer (`agent.code.file_facts`: each file read once and parsed once with stdlib `ast`):

* entry points, found by structure rather than names (`agent.code.entry_points`): web routes and handlers, CLI
  commands, task handlers, methods of class-based views, serverless handlers, modules that run as scripts;
* code kind by path (test, example, vendored, generated) and the builtin static false-positive evidence
  (`agent.engines.builtin.evidence`: constant input to an injection sink, dead code...);
* whether a builtin fixer would actually rewrite the finding (`agent.engines.builtin.fixers.rewriting_fixer` on
  the text the facts layer read: no second read, one libcst parse per file), cached with the facts under the
  fixers' own source digest, so a changed fixer never serves a stale answer.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import agent.engines.builtin.fixers as fixers_pkg
from agent.code.entry_points import EntryPoint, entry_points
from agent.code.file_facts import FactsCache, FactsIndex, FileFacts
from agent.engines.builtin.evidence import Evidence, file_evidence
from agent.engines.builtin.fixers import candidate_fixers, rewriting_fixer
from agent.models import Finding

__all__ = ["EntryPoint", "FileFacts", "ReachabilityIndex", "analyse_source"]


def analyse_source(source: str) -> FileFacts:
    """The entry-point facts of one module's source (no facts when it does not parse)."""
    facts = FileFacts(digest="", header="\n".join(source.splitlines()[:5]))
    try:
        tree = ast.parse(source)
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

    def facts(self, path: str) -> FileFacts:
        return self.files.facts(path)

    def prepare(self, findings: Iterable[Finding], wanted: Callable[[Finding], bool] = lambda f: True,
                progress: Callable[[int, int], None] | None = None) -> None:
        """Read, parse and query the files of the `wanted` findings once each, before they are scored (the
        fixer question too, while the file's text is at hand)."""
        chosen = [f for f in findings if wanted(f)]
        extra: dict[str, list[Callable[[FileFacts], object]]] = {}
        for finding in chosen:
            if _may_have_fixer(finding):
                extra.setdefault(finding.location.path, []).append(
                    lambda facts, f=finding: _fixer_answer(facts, f))
        self.files.prepare(((f.location.path, f.location.start_line, f.location.last_line) for f in chosen),
                           progress, extra)

    def entry_point(self, finding: Finding) -> EntryPoint | None:
        return self.facts(finding.location.path).entry_point_at(finding.location.start_line)

    def fixer(self, finding: Finding) -> str | None:
        """The builtin fixer that would rewrite `finding` in its file, or None (no readable source, no candidate,
        or every candidate declines)."""
        if not _may_have_fixer(finding):
            return None
        return _fixer_answer(self.facts(finding.location.path), finding)

    def evidence(self, finding: Finding) -> list[Evidence]:
        """Builtin static evidence (the same facts the builtin engine uses), parsing each file at most once."""
        return file_evidence(self.facts(finding.location.path), finding)


@lru_cache(maxsize=1)
def fixers_digest() -> str:
    """A digest of the builtin fixers' source: part of every cached fixer answer's key."""
    digest = hashlib.sha256()
    for file in sorted(Path(fixers_pkg.__file__).parent.glob("*.py")):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def _may_have_fixer(finding: Finding) -> bool:
    """Cheap pre-filter: some fixer knows the rule or a CWE, or nothing names the flaw (the code decides)."""
    return bool(candidate_fixers(finding)) or (not finding.cwe and finding.tool.lower() != "bandit")


def _fixer_answer(facts: FileFacts, finding: Finding) -> str | None:
    loc = finding.location
    key = (f"fix:{fixers_digest()}:{finding.tool}:{finding.rule_id}:{','.join(map(str, finding.cwe))}:"
           f"{loc.start_line}:{loc.last_line}")
    return facts.answer(key, lambda text: rewriting_fixer(finding, text))
