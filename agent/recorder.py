"""How one finding's attempt becomes a stored proposal: `ProposalRecorder`, one per finding and engine.

The recorder holds what every record of the attempt shares (store, validation environment with its commit,
finding, engine) and what the attempt learns on the way (the engine's verdict, the model usage so far), so the
loop in agent.attempt says only what is new: a patch with its validation, a failed attempt with its reason, a
dismissal, or a finding without a draft. Patches are added as `drafted` and moved by the store's state rules to
validated / unproven / failed with the reason as the comment; a dismissal waits as `drafted`; a finding without
a draft is never stored (`is_no_draft`; agent.outcomes keeps its reason). Nothing here approves anything.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from agent.engines.base import Draft, Engine
from agent.models import Finding, Proposal, Usage, Validation, Verdict
from agent.store import Store
from agent.validate.env import ValidationEnv


def proposal_id(finding_id: str, engine: str, content: str) -> str:
    return hashlib.sha256(f"{finding_id}\0{engine}\0{content}".encode()).hexdigest()[:16]


def is_no_draft(proposal: Proposal) -> bool:
    """True for `ProposalRecorder.no_draft`'s result (Proposal.without_draft): never stored, nothing to review."""
    return proposal.without_draft


@dataclass
class ProposalRecorder:
    """Records the proposals of one finding's attempt with one engine (see the module docstring)."""

    store: Store
    env: ValidationEnv
    finding: Finding
    engine: Engine
    verdict: Verdict | None = None  # the engine's verdict on the finding, once it gave one
    usage: Usage | None = None  # model usage so far; None while nothing was metered

    def spent(self, usage: Usage) -> None:
        """Add `usage` to the attempt's total."""
        self.usage = usage if self.usage is None else self.usage.add(usage)

    def patch(self, draft: Draft, validation: Validation, diff: str, attempts: int,
              notes: list[str] | None = None) -> Proposal:
        """A validated patch, stored and moved to its validation state (validated | unproven | failed)."""
        pid = proposal_id(self.finding.id, self.engine.name, diff or draft.raw_reply or "")
        proposal = Proposal(id=pid, kind="patch", rationale=draft.rationale, edits=draft.edits, diff=diff,
                            **self._base(draft, attempts, notes))
        stored = self.store.add_proposal(proposal)
        if stored.state != "drafted":
            return stored
        stored = stored.model_copy(update={"validation": validation})
        self.store.update_proposal(stored)
        target = validation.state  # validated | unproven | failed (DESIGN.md)
        comment = {"validated": "all checks passed; tests executing the change: " + ", ".join(
            validation.covering_tests[:5]),
                   "unproven": "all checks passed, but " + validation.unproven_reason,
                   "failed": "; ".join(validation.reasons) or "validation failed"}[target]
        return self.store.transition(pid, target, "suture", comment)

    def failed(self, error: str, draft: Draft | None = None, attempts: int = 1,
               notes: list[str] | None = None) -> Proposal:
        """A failed attempt with its reason (classification or drafting failed, no usable edits…), stored."""
        draft = draft or Draft()
        pid = proposal_id(self.finding.id, self.engine.name, "error:" + error)
        proposal = Proposal(id=pid, kind="patch", rationale=draft.rationale, error=error,
                            **self._base(draft, attempts, notes))
        stored = self.store.add_proposal(proposal)
        if stored.state != "drafted":
            return stored
        return self.store.transition(pid, "failed", "suture", error)

    def dismissal(self) -> Proposal:
        """The false-positive verdict as a dismissal proposal awaiting a person; the finding stays open."""
        if self.verdict is None:
            raise ValueError("a dismissal needs the engine's verdict")
        pid = proposal_id(self.finding.id, self.engine.name, "dismiss:" + self.verdict.rationale)
        proposal = Proposal(id=pid, kind="dismissal", rationale=self.verdict.rationale,
                            **self._base(Draft(), 1, None))
        return self.store.add_proposal(proposal)

    def no_draft(self, error: str, draft: Draft) -> Proposal:
        """The finding without a draft, as an unsaved proposal carrying the reason (`is_no_draft` is true of it)."""
        return Proposal(id=proposal_id(self.finding.id, self.engine.name, "no-draft:" + error), kind="patch",
                        error=error, rationale=draft.rationale, **self._base(draft, 1, [f"no draft: {error}"]))

    def _base(self, draft: Draft, attempts: int, notes: list[str] | None) -> dict:
        return {
            "notes": list(notes or []),
            "finding_id": self.finding.id, "engine": self._engine_label(draft), "verdict": self.verdict,
            "prompt_hash": draft.prompt_hash, "model": self.engine.model,
            "model_params": draft.model_params, "usage": self.usage or draft.usage, "attempts": attempts,
            "commit": self.env.commit,
        }

    def _engine_label(self, draft: Draft) -> str:
        """The engine name, with the fixer for a deterministic fixer's draft ("builtin:yaml_load")."""
        fixer = draft.model_params.get("fixer") if draft.model_params else None
        return f"{self.engine.name}:{fixer}" if fixer and not self.engine.calls_model else self.engine.name
