"""Review use cases: the queue (filtered, counted, sorted by risk), one proposal in full, and the decisions a
named reviewer makes on it. The CLI (`suture review`) and the web UI call these same functions.

The rules of a decision (who may approve what, when an override is needed, races with another reviewer) live in
agent.review.service and the store; these functions resolve the reviewer's name and return views.
"""

from __future__ import annotations

from typing import Literal

from agent.app.session import Session, reviewer_identity
from agent.app.views import Decision, ProposalDetail, ProposalRow, ReviewQueue, Risk, proposal_state
from agent.errors import SutureError
from agent.models import Finding, Proposal

Sort = Literal["created", "risk"]


def _finding_or_none(session: Session, finding_id: str, seen: dict[str, Finding | None]) -> Finding | None:
    if finding_id not in seen:
        try:
            seen[finding_id] = session.store.get_finding(finding_id)
        except SutureError:
            seen[finding_id] = None
    return seen[finding_id]


def rows_of(session: Session, proposals: list[Proposal], risks: dict[str, Risk] | None = None
            ) -> list[ProposalRow]:
    """Each proposal with its finding (None if the store no longer has it) and, if given, its finding's risk."""
    seen: dict[str, Finding | None] = {}
    return [ProposalRow(proposal=p, finding=_finding_or_none(session, p.finding_id, seen),
                        risk=None if risks is None else risks.get(p.finding_id, Risk()))
            for p in proposals]


def risks(session: Session, findings: list[Finding]) -> dict[str, Risk]:
    """Risk by finding id: triage's score, lane and due date for open findings (every member of a group gets its
    group's), and the owning team (agent.triage.ownership) for every finding, open or not. Like `suture
    triage`, this re-opens expired risk acceptances first."""
    from agent.triage.config import parse_triage_config
    from agent.triage.ownership import OwnerIndex
    from agent.triage.service import triage_store

    result = triage_store(session.store, session.settings.triage, session.ws.project_dir, session.ws.state_dir)
    found: dict[str, Risk] = {}
    for row in result.rows:
        d = row.decision
        risk = Risk(score=row.rank.score, team=row.team, lane=d.lane, due=d.due.date().isoformat() if d.due else None)
        for member in [row.finding, *(m for m, _ in row.group.members)]:
            found.setdefault(member.id, risk)
    owners = OwnerIndex(parse_triage_config(session.settings.triage, session.ws.project_dir),
                        session.ws.project_dir)
    for f in findings:
        if f.id not in found:
            found[f.id] = Risk(team=owners.resolve(f.location.path)[1].team)
    return found


def review_queue(session: Session, states: list[str] | None = None, team: str | None = None,
                 lane: str | None = None, engine: str | None = None, sort: Sort = "created",
                 with_risk: bool = False) -> ReviewQueue:
    """Proposals of the session's repository, newest last (or, with `sort="risk"`, highest triage score first,
    proposals of findings that are no longer open last), with counts by state over the rows kept.

    Filters: `states` (stored states: drafted, validated, unproven, failed, approved, rejected, exported), `team` (owning team of the finding), `lane` (now, batch,
    defer: open findings only), `engine` (the engine's name, e.g. `builtin:yaml_load`, or its prefix
    `builtin`/`llm`). Risk (triage) is computed only when a team, lane, risk sort or `with_risk` asks for it."""
    proposals = session.store.list_proposals(states=states)
    if engine is not None:
        proposals = [p for p in proposals if p.engine == engine or p.engine.split(":", 1)[0] == engine]
    need_risk = with_risk or team is not None or lane is not None or sort == "risk"
    rows = rows_of(session, proposals)
    if need_risk:
        known = risks(session, [r.finding for r in rows if r.finding is not None])
        rows = [r.model_copy(update={"risk": known.get(r.proposal.finding_id, Risk())}) for r in rows]
        rows = [r for r in rows if r.risk is not None and (team is None or r.risk.team == team)
                and (lane is None or r.risk.lane == lane)]  # every row has its risk now
    if sort == "risk":
        rows.sort(key=lambda r: -(r.risk.score if r.risk and r.risk.score is not None else -1.0))
    return ReviewQueue.of(rows)


def show(session: Session, proposal_id: str) -> ProposalDetail:
    """One proposal (id or unique prefix) with its finding and its review history, oldest first."""
    p = session.store.get_proposal(proposal_id)
    return ProposalDetail(proposal=p, finding=session.store.get_finding(p.finding_id),
                          history=session.store.transitions(p.id))


def approve(session: Session, proposal_id: str, reviewer: str | None = None, comment: str | None = None,
            override: bool = False, reason: str | None = None) -> Decision:
    """Approve a proposal awaiting review as `reviewer` (None: git's user.name <user.email>). A patch whose
    validation failed needs `override` and a `reason`; see agent.review.service for every rule."""
    from agent.review import service

    if override and not (reason or "").strip():
        raise SutureError("--override needs --reason: say why a patch that failed validation should be approved")
    who = reviewer_identity(session.ws.project.git_root, reviewer)
    p = service.approve(session.store, proposal_id, who, comment, override=override, reason=reason)
    return Decision(proposal=p, reviewer=who, override=override)


def reject(session: Session, proposal_id: str, reason: str, reviewer: str | None = None,
           retract: bool = False) -> Decision:
    """Reject a proposal awaiting review with the `reason` (or, with `retract`, withdraw an approval that was not
    exported yet), as `reviewer` (None: git's user.name <user.email>)."""
    from agent.review import service

    who = reviewer_identity(session.ws.project.git_root, reviewer)
    return Decision(proposal=service.reject(session.store, proposal_id, who, reason, retract=retract), reviewer=who)


__all__ = ["approve", "proposal_state", "reject", "review_queue", "risks", "rows_of", "show"]
