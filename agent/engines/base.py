"""The seam between the pipeline and whatever produces verdicts and fixes.

An engine answers `classify` and `draft`; the builtin engine (deterministic fixers and static checks, no model),
the LLM engine (prompts + a model through litellm) and the eval harness's reference engines all do. `Engine`
declares every ability the orchestrator (agent.attempt, agent.classify, agent.outcomes, the regression-test step
and the eval runner) uses, so nothing probes an engine with getattr or by its name; `BaseEngine` gives each
ability the default of an engine without a model, so a new engine overrides only what it does differently.
Engines are built by name in agent.engines.registry and imported lazily, so `suture --help` never pays for litellm.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

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


@dataclass
class RegressionDraft:
    """An engine's security regression test for a patch it drafted (issue 14), or why it has none.

    Exactly one of three: `edits` from a model's reply (untrusted: agent.validate.regression accepts them only as
    one new file at the path asked for), `content` the engine vouches for (the builtin fixers' templates), or
    `reason` saying why there is no test."""

    edits: list[Edit] | None = None
    content: str | None = None
    source: str = ""  # who wrote it, as recorded on the test: the engine name, or "builtin:<fixer>"
    reason: str | None = None
    usage: Usage = field(default_factory=Usage)


@runtime_checkable
class Engine(Protocol):
    """What the orchestrator asks of an engine. Inherit `BaseEngine` for the defaults of an engine without a model."""

    name: str  # e.g. "builtin" or "llm:openai/gpt-4.1"; recorded on every proposal
    calls_model: bool  # answers come from a model: k candidates and repair rounds can differ, calls run in parallel

    @property
    def model(self) -> str | None:
        """The model answering, None for engines without one."""
        ...

    def classify(self, finding: Finding, context: Context, project_root: Path) -> Verdict | None:
        """A verdict on whether the finding is real, or None when the engine has no opinion."""
        ...

    def classify_with_usage(self, finding: Finding, context: Context,
                            project_root: Path) -> tuple[Verdict | None, Usage | None, str | None]:
        """(verdict, usage or None when unmetered, prompt hash or None); safe to call from several threads."""
        ...

    def draft(
        self, finding: Finding, context: Context, project_root: Path, feedback: Feedback | None = None
    ) -> Draft:
        """Edits that fix the finding, relative to `project_root` (a clean checkout, never the user's tree)."""
        ...

    def draft_candidates(self, finding: Finding, context: Context, project_root: Path,
                         feedback: Feedback | None = None, k: int = 1) -> list[Draft]:
        """Up to `k` drafts (at least one) for the same finding."""
        ...

    def regression_test(self, finding: Finding, context: Context, diff: str, path: str, project_root: Path,
                        draft: Draft) -> RegressionDraft:
        """A security regression test at `path` for `draft` (its unified `diff`), or why there is none.
        `project_root` is the clean, unpatched checkout."""
        ...

    def spend_notes(self) -> list[str]:
        """Things about this run's spend to tell the user once (e.g. a model without a known price)."""
        ...

    def fingerprint(self) -> dict[str, Any]:
        """Everything about the engine that decides its answers (agent.outcomes keys on it): name, model, API
        base and its instructions (prompt hashes, or a hash of its own code)."""
        ...

    def repeats_itself(self) -> bool:
        """Would the same question get the same answer again (deterministic code, or a model's cached replies)?"""
        ...


class BaseEngine:
    """The defaults of an engine without a model: one candidate, no spend, deterministic answers, no regression
    tests, instructions = a hash of the module that defines the engine class."""

    name: str = "base"
    model: str | None = None
    calls_model: bool = False

    def classify(self, finding: Finding, context: Context, project_root: Path) -> Verdict | None:
        return None

    def classify_with_usage(self, finding: Finding, context: Context,
                            project_root: Path) -> tuple[Verdict | None, Usage | None, str | None]:
        return self.classify(finding, context, project_root), None, None

    def draft(
        self, finding: Finding, context: Context, project_root: Path, feedback: Feedback | None = None
    ) -> Draft:
        return Draft(error=f"the engine {self.name} makes no edits")

    def draft_candidates(self, finding: Finding, context: Context, project_root: Path,
                         feedback: Feedback | None = None, k: int = 1) -> list[Draft]:
        return [self.draft(finding, context, project_root, feedback)]

    def regression_test(self, finding: Finding, context: Context, diff: str, path: str, project_root: Path,
                        draft: Draft) -> RegressionDraft:
        return RegressionDraft(reason=f"the engine {self.name} writes no regression tests")

    def spend_notes(self) -> list[str]:
        return []

    def fingerprint(self) -> dict[str, Any]:
        return {"engine": self.name, "model": self.model, "api_base": None, "instructions": self.instructions()}

    def instructions(self) -> str:
        """What tells this engine how to answer, as a hash: here the code of the module defining its class."""
        source = inspect.getsourcefile(type(self))
        data = Path(source).read_bytes() if source else type(self).__qualname__.encode()
        return "code:" + hashlib.sha256(data).hexdigest()

    def repeats_itself(self) -> bool:
        return True
