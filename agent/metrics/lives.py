"""The records remediation metrics are computed from: the life of a finding and the life of a proposal.

They are plain, immutable facts with times (UTC, timezone-aware). The application layer builds them from the
store (first-seen and fixed-at times, events) and from triage (asset tier, team, lane, due date); the metrics
never read the store themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

FixedBy = Literal["suture", "manual"]


@dataclass(frozen=True)
class FindingLife:
    """One finding from first seen to fixed (or still open).

    `due`: when its SLA ends (first seen + the SLA days of its triage decision and asset tier), None when no SLA
    applies. `fixed_by`: "suture" when an approved suture patch for it was exported before it was fixed, "manual"
    when it was fixed otherwise, None while open. `first_proposal_at` / `first_review_at`: when suture first
    proposed something for it and when a person first approved or rejected one of those proposals."""

    finding_id: str
    first_seen: datetime
    severity: str = "medium"
    repo: str | None = None
    tier: int | None = None
    team: str | None = None
    lane: str | None = None
    fixed_at: datetime | None = None
    due: datetime | None = None
    fixed_by: FixedBy | None = None
    first_proposal_at: datetime | None = None
    first_review_at: datetime | None = None

    def group_value(self, key: str) -> str:
        """The value of a breakdown key ("severity", "tier", "team", "lane", "repo") as text."""
        value = getattr(self, key)
        if key == "tier":
            return f"tier {value}" if value is not None else "no tier"
        return str(value) if value is not None else f"no {key}"


@dataclass(frozen=True)
class ProposalLife:
    """One suture proposal: who drafted it (engine, model, prompt hash), whether a person accepted it, and how far
    it went (exported as a branch or patch; merged into the default branch)."""

    proposal_id: str
    finding_id: str
    engine: str
    created_at: datetime
    model: str | None = None
    prompt_hash: str | None = None
    decision: Literal["approved", "rejected"] | None = None
    decided_at: datetime | None = None
    exported: bool = False
    merged: bool = False

    def group_value(self, key: str) -> str:
        value = getattr(self, key)
        return str(value) if value is not None else f"no {key}"
