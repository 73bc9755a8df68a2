"""The seam between the pipeline and whatever produces verdicts and fixes.

An engine is anything with `classify` and `draft`: the builtin engine (deterministic fixers and static checks,
no model) and the LLM engine (prompts + a model through litellm) both implement this protocol, and so do the
reference engines of the eval harness. Engines are looked up by name and imported lazily, so `suture --help`
never pays for litellm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from agent.models import Context, Edit, Finding, Usage, Verdict


@dataclass
class Draft:
    """An engine's answer for one finding: edits to make, or the reason it has none."""

    edits: list[Edit] = field(default_factory=list)
    rationale: str = ""
    usage: Usage = field(default_factory=Usage)
    prompt_hash: str | None = None
    model_params: dict = field(default_factory=dict)
    raw_reply: str | None = None
    error: str | None = None  # set when no edits could be produced, in words a reviewer understands


@dataclass
class Feedback:
    """Why the previous attempt failed, for a repair round (apply error, failing tests, finding still present)."""

    attempt: int
    previous_reply: str | None
    failure: str
    coverage: str | None = None  # which tests execute the changed lines, which lines none executes (or why unknown)
    regression: str | None = None  # what the proposed security regression test showed before/after the patch


@runtime_checkable
class Engine(Protocol):
    name: str  # e.g. "builtin" or "llm:openai/gpt-4.1"

    def classify(self, finding: Finding, context: Context, project_root: Path) -> Verdict | None:
        """A verdict on whether the finding is real, or None when the engine has no opinion."""
        ...

    def draft(
        self, finding: Finding, context: Context, project_root: Path, feedback: Feedback | None = None
    ) -> Draft:
        """Edits that fix the finding, relative to `project_root` (a clean checkout, never the user's tree)."""
        ...
