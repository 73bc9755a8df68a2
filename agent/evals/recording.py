"""What an engine saw and how long it took, plus the line arithmetic behind diff size and context recall.

`RecordingEngine` wraps any Engine: it forwards every call and attribute, and keeps the contexts the engine was
given and the wall time of each call. `changed_lines` finds the lines of the original files a case's reference fix
changes; `context_recall` is the share of those lines that were inside the snippets sent to the engine.
"""

from __future__ import annotations

import difflib
import time
from pathlib import Path
from typing import Any

from agent.engines.base import Draft, Engine, Feedback
from agent.evals.cases import EvalCase
from agent.models import Context, Finding, Verdict


class RecordingEngine:
    """Engine protocol pass-through that records contexts and call latency."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.name = inner.name
        self.contexts: list[Context] = []
        self.calls: list[tuple[str, float]] = []

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def classify(self, finding: Finding, context: Context, project_root: Path) -> Verdict | None:
        self.contexts.append(context)
        start = time.perf_counter()
        try:
            return self.inner.classify(finding, context, project_root)
        finally:
            self.calls.append(("classify", time.perf_counter() - start))

    def draft(self, finding: Finding, context: Context, project_root: Path,
              feedback: Feedback | None = None) -> Draft:
        self.contexts.append(context)
        start = time.perf_counter()
        try:
            return self.inner.draft(finding, context, project_root, feedback)
        finally:
            self.calls.append(("draft", time.perf_counter() - start))


def changed_lines(case: EvalCase) -> dict[str, set[int]]:
    """Per file, the 1-based lines of the original that the reference fix replaces or deletes (for a pure
    insertion, the line it follows)."""
    result: dict[str, set[int]] = {}
    for path, fixed in case.reference_files().items():
        original = case.repo / path
        old = original.read_text(encoding="utf-8").splitlines() if original.is_file() else []
        lines: set[int] = set()
        for tag, i1, i2, _, _ in difflib.SequenceMatcher(a=old, b=fixed.splitlines(), autojunk=False).get_opcodes():
            if tag in ("replace", "delete"):
                lines.update(range(i1 + 1, i2 + 1))
            elif tag == "insert":
                lines.add(max(1, i1))
        if lines:
            result[path] = lines
    return result


def context_recall(reference: dict[str, set[int]], contexts: list[Context]) -> float | None:
    """Share of the reference fix's changed lines inside any snippet of the first context an engine saw."""
    total = sum(len(v) for v in reference.values())
    if not total or not contexts:
        return None
    snippets = contexts[0].snippets
    covered = sum(1 for path, lines in reference.items() for n in lines
                  if any(s.path == path and s.start_line <= n <= s.end_line for s in snippets))
    return round(covered / total, 4)


def diff_size(diff: str) -> int:
    """Added + removed lines of a unified diff."""
    return sum(1 for line in diff.splitlines()
               if (line.startswith("+") and not line.startswith("+++"))
               or (line.startswith("-") and not line.startswith("---")))
