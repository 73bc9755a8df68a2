"""Reachability hints from the code around a finding: is it in an entry point, or in code that never ships?

Handles Python source of any project (other languages get the path-based hints only). The facts come from the
per-run file-facts layer (`agent.code.file_facts`: each file read once and parsed once with stdlib `ast`):

* entry points, found by structure rather than names (`agent.code.entry_points`): web routes and handlers, CLI
  commands, task handlers, methods of class-based views, serverless handlers, modules that run as scripts;
* code kind by path (test, example, vendored, generated) and the builtin static false-positive evidence
  (`agent.engines.builtin.evidence`: constant input to an injection sink, dead code...).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from pathlib import Path

from agent.code.entry_points import EntryPoint, entry_points
from agent.code.file_facts import FactsCache, FactsIndex, FileFacts
from agent.engines.builtin.evidence import Evidence, file_evidence
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
        """Read, parse and query the files of the `wanted` findings once each, before they are scored."""
        self.files.prepare(((f.location.path, f.location.start_line, f.location.last_line)
                            for f in findings if wanted(f)), progress)

    def entry_point(self, finding: Finding) -> EntryPoint | None:
        return self.facts(finding.location.path).entry_point_at(finding.location.start_line)

    def evidence(self, finding: Finding) -> list[Evidence]:
        """Builtin static evidence (the same facts the builtin engine uses), parsing each file at most once."""
        return file_evidence(self.facts(finding.location.path), finding)
