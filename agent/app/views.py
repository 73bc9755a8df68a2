"""Typed views the use cases return: what the CLI renders and the web UI shows, each with its JSON form.

A view holds records (pydantic models from agent.models) plus what a reader needs next to them (counts, the
finding of a proposal, its risk). `to_json()` is the one JSON shape of a view: `--format json` prints it and the
web UI serves it. This module is light (pydantic and agent.models only), so renderers may import it at start-up.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.models import NO_TEST_COVERS, Finding, Proposal, Transition


def proposal_state(p: Proposal) -> str:
    """The state a reader sees: `no_draft` for a proposal the engine could not draft, else the stored state."""
    return "no_draft" if p.without_draft else p.state


def proposal_summary(p: Proposal) -> str:
    """One line: what this proposal is and why it is in its state."""
    if p.kind == "dismissal":
        verdict = p.verdict
        return f"false positive ({verdict.confidence:.0%}): {p.rationale}" if verdict else p.rationale
    if p.without_draft:
        return f"no draft: {p.error}"
    if p.error:
        return f"no patch: {p.error}"
    v = p.validation
    if v is None:
        return "not validated yet"
    if not v.applied:
        return f"did not apply: {v.apply_error}"
    if v.passed:
        tests = f"{v.patched.passed} tests pass" if v.patched and v.patched.ran else "no tests ran"
        gone = {True: "finding gone on re-scan", None: v.rescan_note or "not re-scanned", False: ""}[v.finding_gone]
        proof = (f"executed by {len(v.covering_tests)} passing test(s)" if v.state == "validated"
                 else NO_TEST_COVERS)
        return f"{proof}; {tests}, {gone}"
    return "; ".join(v.reasons) or "validation failed"


class Risk(BaseModel):
    """Where triage puts a finding: its score, owning team, lane and due date (None when it is not open)."""

    score: float | None = None
    team: str | None = None
    lane: str | None = None
    due: str | None = None


class ProposalRow(BaseModel):
    """One proposal in a queue, with its finding (None if the finding is gone) and, when asked for, its risk."""

    proposal: Proposal
    finding: Finding | None = None
    risk: Risk | None = None

    @property
    def summary(self) -> str:
        return proposal_summary(self.proposal)

    def to_json(self) -> dict[str, Any]:
        p, finding = self.proposal, self.finding
        row: dict[str, Any] = {
            "id": p.id, "short_id": p.short_id, "finding_id": p.finding_id, "kind": p.kind, "engine": p.engine,
            "state": proposal_state(p), "summary": proposal_summary(p), "created_at": p.created_at.isoformat(),
            "usage": p.usage.model_dump()}
        if finding is not None:
            row.update(rule_id=finding.rule_id, path=finding.location.path, line=finding.location.start_line,
                       severity=finding.severity)
        if self.risk is not None:
            row.update(risk=self.risk.model_dump())
        return row


class ReviewQueue(BaseModel):
    """Proposals as asked for (filtered, in order), with counts by state over the rows shown."""

    rows: list[ProposalRow]
    counts: dict[str, int] = Field(default_factory=dict)

    @classmethod
    def of(cls, rows: list[ProposalRow]) -> ReviewQueue:
        counts: dict[str, int] = {}
        for row in rows:
            key = proposal_state(row.proposal)
            counts[key] = counts.get(key, 0) + 1
        return cls(rows=rows, counts=counts)

    def to_json(self) -> list[dict[str, Any]]:
        return [row.to_json() for row in self.rows]


class ProposalDetail(BaseModel):
    """Everything a reviewer decides on: the proposal (rationale, diff, validation evidence), its finding and
    its history, oldest first."""

    proposal: Proposal
    finding: Finding
    history: list[Transition]

    def to_json(self) -> dict[str, Any]:
        return {"proposal": self.proposal.model_dump(mode="json"), "finding": self.finding.model_dump(mode="json"),
                "history": [t.model_dump(mode="json") for t in self.history]}


class Decision(BaseModel):
    """A recorded review decision: the proposal after it, who decided and whether it overrode validation."""

    proposal: Proposal
    reviewer: str
    override: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"id": self.proposal.id, "state": self.proposal.state, "kind": self.proposal.kind,
                "reviewer": self.reviewer, "override": self.override}


class Exported(BaseModel):
    """One exported proposal: the branch or the patch file, the fix's commit and the regression test's."""

    proposal_id: str
    branch: str | None = None
    commit: str
    test_commit: str | None = None  # the security regression test's own commit, when exported with it
    patch: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump()


class Acceptance(BaseModel):
    """A risk accepted until a date by a named person."""

    finding: Finding
    until: str
    by: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.finding.id, "status": self.finding.status, "until": self.until, "by": self.by,
                "reason": self.reason}


class AuditReport(BaseModel):
    """`audit verify`: whether the hash-chained history is intact, over how many rows, and every problem."""

    rows: int
    problems: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": self.rows, "problems": self.problems}


class TriageView(BaseModel):
    """Ranked open finding groups (agent.triage.service rows), after filters, with what triage noticed."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    rows: list[Any]  # agent.triage.service.TriageRow, best first
    total: int  # groups before the filters
    reopened: list[str] = Field(default_factory=list)  # findings whose risk acceptance expired
    notes: list[str] = Field(default_factory=list)
    overflow: list[Any] = Field(default_factory=list)  # agent.triage.decide.Overflow

    def to_json(self) -> list[dict[str, Any]]:
        from agent.triage.report import row_dict

        return [row_dict(i, r) for i, r in enumerate(self.rows, 1)]


class Verdicts(BaseModel):
    """`classify`: one row per finding (its verdict, or why none), the engine's name and its spend notes."""

    rows: list[dict[str, Any]]
    engine: str
    skipped: int = 0
    notes: list[str] = Field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return self.rows
