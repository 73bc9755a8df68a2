"""What the pages show, assembled from use-case records: the queue of every served repository with its filters
and counts. Presentation only (which rows match the filters, in which order); every fact, risk included, comes
from agent.app's review queue through agent.web.usecases, and which proposals belong to a campaign from
agent.app.campaign's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from agent.app.campaign import UnknownCampaign
from agent.models import SEVERITY_ORDER, Finding, Proposal
from agent.web import campaigns, usecases
from agent.web.usecases import Project

AWAITING = "awaiting"  # the default state filter: what a reviewer can decide on now
STATES = ("validated", "unproven", "failed", "drafted", "approved", "rejected", "exported")
SORTS = {"risk": "highest risk first", "newest": "newest first", "oldest": "oldest first"}
FILTERS = ("repo", "team", "lane", "state", "engine", "campaign")


def awaits_review(p: Proposal) -> bool:
    """A proposal a reviewer can approve or reject now (agent.review.service's rule)."""
    return p.state == "drafted" if p.kind == "dismissal" else p.state in ("validated", "unproven", "failed")


def state_label(p: Proposal) -> str:
    if p.kind == "dismissal" and p.state == "drafted":
        return "dismissal?"
    return "no draft" if p.without_draft else p.state


@dataclass
class QueueRow:
    project: str
    proposal: Proposal
    finding: Finding | None
    score: float | None  # triage's risk score (None: the finding is not open)
    team: str
    lane: str
    summary: str

    @property
    def engine(self) -> str:
        return self.proposal.engine

    @property
    def label(self) -> str:
        return state_label(self.proposal)

    @property
    def awaiting(self) -> bool:
        return awaits_review(self.proposal)

    @property
    def approvable(self) -> bool:
        """Approvable in one step (a failed patch needs an override with a reason, on its own page)."""
        return self.awaiting and self.proposal.state != "failed"

    def risk_key(self) -> tuple:
        severity = SEVERITY_ORDER.get(self.finding.severity, 0) if self.finding else -1
        return (self.score if self.score is not None else -1.0, severity)


@dataclass
class Queue:
    rows: list[QueueRow]
    total: int
    counts: Counter
    choices: dict[str, list[str]]
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = "risk"
    notice: str | None = None  # why nothing can match (an unknown campaign)


def queue(projects: list[Project], filters: dict[str, str], sort: str) -> Queue:
    """The proposals of every served project matching `filters` (empty value: any; state `awaiting` by default),
    sorted by `sort`. Counts per state are over the rows matching every filter but the state. A `campaign`
    keeps the proposals of findings that campaign selected; a name no served store holds shows nothing and
    says so (`notice`)."""
    rows: list[QueueRow] = []
    campaign = filters.get("campaign") or None
    asked = lacking = 0
    for project in projects:
        if filters.get("repo") and filters["repo"] != project.key:
            continue
        asked += 1
        try:
            found = usecases.queue(project, campaign)
        except UnknownCampaign:
            lacking += 1
            continue
        for row in found:
            risk = row.risk
            rows.append(QueueRow(project.key, row.proposal, row.finding, risk.score if risk else None,
                                 (risk.team if risk else None) or "-", (risk.lane if risk else None) or "-",
                                 row.summary))
    choices = {"repo": [p.key for p in projects], "team": sorted({r.team for r in rows}),
               "lane": sorted({r.lane for r in rows}), "engine": sorted({r.engine for r in rows}),
               "state": [AWAITING, "all", *STATES], "campaign": campaigns.names(projects)}
    notice = None
    if campaign is not None and asked and lacking == asked:
        notice = (f"no campaign named {campaign!r} in the store of "
                  f"{'the repository' if asked == 1 else 'any repository'} shown: nothing to show "
                  "(the campaigns are listed under Campaigns & metrics)")
    if campaign is not None and campaign not in choices["campaign"]:
        choices["campaign"].append(campaign)  # the form shows the filter it was given
    matching = [r for r in rows if all(not filters.get(name) or getattr(r, name) == filters[name]
                                       for name in ("team", "lane", "engine"))]
    counts: Counter[str] = Counter(r.proposal.state for r in matching)
    counts[AWAITING] = sum(r.awaiting for r in matching)
    state = filters.get("state") or AWAITING
    shown = [r for r in matching if state == "all" or (r.awaiting if state == AWAITING else r.proposal.state == state)]
    if sort == "newest":
        shown.sort(key=lambda r: r.proposal.created_at, reverse=True)
    elif sort == "oldest":
        shown.sort(key=lambda r: r.proposal.created_at)
    else:
        shown.sort(key=QueueRow.risk_key, reverse=True)
    return Queue(shown, len(matching), counts, choices, {**filters, "state": state}, sort if sort in SORTS else "risk",
                 notice)
