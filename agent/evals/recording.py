"""What an engine saw and how long it took, plus the line arithmetic behind diff size and context recall.

`RecordingEngine` wraps any Engine: it forwards every call and attribute, and keeps the contexts the engine was
given and, for every model-facing call the orchestrator makes (`classify`, `draft`, and `classify_with_usage` /
`draft_candidates` / `regression_test`, which agent.attempt calls on every engine: agent.engines.base), its kind,
wall time and token usage (`CallRecord`). `changed_lines` finds the lines of the original files a case's reference fix
changes; `context_recall` is the share of those lines that were inside the snippets sent to the engine.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.engines.base import Draft, Engine, Feedback, RegressionDraft
from agent.evals.cases import EvalCase
from agent.models import Context, Finding, Usage, Verdict

_OPTIONAL = {"classify_with_usage": "classify", "draft_candidates": "draft", "regression_test": "regression_test"}


@dataclass
class CallRecord:
    kind: str  # "classify", "draft" or "regression_test"
    latency_s: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    failed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RecordingEngine:
    """Engine protocol pass-through that records contexts, and latency and tokens of every engine call."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.name = inner.name
        self.contexts: list[Context] = []
        self.records: list[CallRecord] = []
        self._lock = threading.Lock()

    @property
    def calls(self) -> list[tuple[str, float]]:
        return [(r.kind, r.latency_s) for r in self.records]

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self.inner, attr)
        if attr in _OPTIONAL and callable(value):
            return self._timed(_OPTIONAL[attr], value, context_at=1)
        return value

    def classify(self, finding: Finding, context: Context, project_root: Path) -> Verdict | None:
        return self._timed("classify", self.inner.classify, context_at=1)(finding, context, project_root)

    def draft(self, finding: Finding, context: Context, project_root: Path,
              feedback: Feedback | None = None) -> Draft:
        return self._timed("draft", self.inner.draft, context_at=1)(finding, context, project_root, feedback)

    def _timed(self, kind: str, call: Callable[..., Any], context_at: int) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            context = args[context_at] if len(args) > context_at else kwargs.get("context")
            with self._lock:
                if context is not None:
                    self.contexts.append(context)
            start = time.perf_counter()
            result, failed = None, True
            try:
                result = call(*args, **kwargs)
                failed = False
                return result
            finally:
                record = CallRecord(kind, round(time.perf_counter() - start, 6), failed=failed)
                usage = _usage_of(result)
                if usage is not None:
                    record.prompt_tokens, record.completion_tokens = usage.prompt_tokens, usage.completion_tokens
                    record.cached = usage.cached_calls > 0 and usage.calls == 0  # all answers replayed
                with self._lock:
                    self.records.append(record)
        return wrapper


def _usage_of(result: Any) -> Usage | None:
    """The token usage an engine call returned, when its result carries one (drafts, (verdict, usage, hash))."""
    if isinstance(result, Draft | RegressionDraft):
        return result.usage
    if isinstance(result, list) and result and all(isinstance(d, Draft) for d in result):
        total = Usage()
        for d in result:
            total = total.add(d.usage)
        return total
    if isinstance(result, tuple) and len(result) >= 2 and isinstance(result[1], Usage):
        return result[1]
    return None


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
