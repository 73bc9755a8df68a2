"""Remediation metrics from finding and proposal lives: MTTR, velocity, SLA compliance, response times,
proposal acceptance and merge rates, and who fixed what.

Definitions (each number in a report follows exactly one of these, so it can be checked by hand):
- time to remediate: fixed_at - first_seen, in days, for findings fixed inside the window [since, until);
  MTTR is its mean; the median is `statistics.median`; p90 is the linear-interpolation 90th percentile
  (`statistics.quantiles(..., n=10, method="inclusive")[8]`, the value itself when there is one).
- velocity per ISO week (Monday 00:00 UTC): new = first seen in the week, fixed = fixed in the week, backlog =
  first seen before the week's end and not fixed by then.
- SLA: a finding with a due date is *met* when fixed on or before it, *missed* when fixed after it or still open
  after it (as of `until`), *open* when still open inside it; compliance = met / (met + missed).
- acceptance rate = approved / (approved + rejected); merge rate = merged / exported.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeGuard

from pydantic import BaseModel

from agent.metrics.lives import FindingLife, ProposalLife

FINDING_KEYS = ("severity", "tier", "team", "lane", "repo")
PROPOSAL_KEYS = ("engine", "model", "prompt_hash")
DAY = 86400.0


class Spread(BaseModel):
    """Durations in days."""

    count: int
    mean: float | None = None
    median: float | None = None
    p90: float | None = None


class MttrRow(BaseModel):
    group: dict[str, str]
    fixed: int
    open: int
    days: Spread


class WeekRow(BaseModel):
    week: str  # ISO date of the Monday
    new: int
    fixed: int
    backlog: int


class SlaRow(BaseModel):
    group: dict[str, str]
    met: int
    missed: int
    open: int
    compliance: float | None


class ProposalRow(BaseModel):
    group: dict[str, str]
    proposals: int
    approved: int
    rejected: int
    exported: int
    merged: int
    acceptance_rate: float | None
    merge_rate: float | None


class MetricsReport(BaseModel):
    since: datetime | None
    until: datetime
    by: list[str]
    findings: int
    mttr: list[MttrRow]
    velocity: list[WeekRow]
    sla: list[SlaRow]
    time_to_first_proposal: Spread
    time_to_first_review: Spread
    proposals: list[ProposalRow]
    fixed_by: dict[str, int]

    def to_json(self) -> dict:
        return self.model_dump(mode="json")


def spread(days: Sequence[float]) -> Spread:
    """Count, mean, median and p90 of durations in days (rounded to 0.01 day)."""
    if not days:
        return Spread(count=0)
    ordered = sorted(days)
    p90 = ordered[0] if len(ordered) == 1 else statistics.quantiles(ordered, n=10, method="inclusive")[8]
    return Spread(count=len(ordered), mean=round(statistics.fmean(ordered), 2),
                  median=round(statistics.median(ordered), 2), p90=round(p90, 2))


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / DAY


def _inside(at: datetime | None, since: datetime | None, until: datetime) -> TypeGuard[datetime]:
    return at is not None and (since is None or at >= since) and at < until


def _group(life: FindingLife | ProposalLife, by: Sequence[str]) -> tuple[str, ...]:
    return tuple(life.group_value(key) for key in by)


def mttr(lives: Iterable[FindingLife], by: Sequence[str], since: datetime | None, until: datetime) -> list[MttrRow]:
    """Time to remediate per group, for findings fixed in the window; `open` counts findings still open at
    `until` (first seen before it)."""
    fixed: dict[tuple[str, ...], list[float]] = defaultdict(list)
    still_open: dict[tuple[str, ...], int] = defaultdict(int)
    for life in lives:
        key = _group(life, by)
        if _inside(life.fixed_at, since, until):
            fixed[key].append(_days(life.first_seen, life.fixed_at))
        elif life.first_seen < until and (life.fixed_at is None or life.fixed_at >= until):
            still_open[key] += 1
    keys = sorted(set(fixed) | set(still_open))
    return [MttrRow(group=dict(zip(by, key)), fixed=len(fixed[key]), open=still_open[key], days=spread(fixed[key]))
            for key in keys]


def velocity(lives: Sequence[FindingLife], since: datetime | None, until: datetime) -> list[WeekRow]:
    """New, fixed and backlog per ISO week from the week of `since` (or of the first finding) to `until`."""
    if not lives:
        return []
    start = since or min(life.first_seen for life in lives)
    monday = (start - timedelta(days=start.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    while monday < until:
        end = monday + timedelta(days=7)
        rows.append(WeekRow(
            week=monday.date().isoformat(),
            new=sum(monday <= life.first_seen < end for life in lives),
            fixed=sum(life.fixed_at is not None and monday <= life.fixed_at < end for life in lives),
            backlog=sum(life.first_seen < end and (life.fixed_at is None or life.fixed_at >= end) for life in lives),
        ))
        monday = end
    return rows


def sla(lives: Iterable[FindingLife], by: Sequence[str], until: datetime) -> list[SlaRow]:
    counts: dict[tuple[str, ...], dict[str, int]] = defaultdict(lambda: {"met": 0, "missed": 0, "open": 0})
    for life in lives:
        if life.due is None or life.first_seen >= until:
            continue
        fixed = life.fixed_at if life.fixed_at is not None and life.fixed_at < until else None
        if fixed is not None:
            outcome = "met" if fixed <= life.due else "missed"
        else:
            outcome = "missed" if until > life.due else "open"
        counts[_group(life, by)][outcome] += 1
    rows = []
    for key in sorted(counts):
        c = counts[key]
        judged = c["met"] + c["missed"]
        rows.append(SlaRow(group=dict(zip(by, key)), **c,
                           compliance=round(c["met"] / judged, 4) if judged else None))
    return rows


def proposal_rates(proposals: Iterable[ProposalLife], by: Sequence[str], since: datetime | None,
                   until: datetime) -> list[ProposalRow]:
    groups: dict[tuple[str, ...], list[ProposalLife]] = defaultdict(list)
    for p in proposals:
        if _inside(p.created_at, since, until):
            groups[_group(p, by)].append(p)
    rows = []
    for key in sorted(groups):
        items = groups[key]
        approved = sum(p.decision == "approved" for p in items)
        rejected = sum(p.decision == "rejected" for p in items)
        exported = sum(p.exported for p in items)
        merged = sum(p.merged for p in items)
        rows.append(ProposalRow(
            group=dict(zip(by, key)), proposals=len(items), approved=approved, rejected=rejected,
            exported=exported, merged=merged,
            acceptance_rate=round(approved / (approved + rejected), 4) if approved + rejected else None,
            merge_rate=round(merged / exported, 4) if exported else None))
    return rows


def report(lives: Sequence[FindingLife], proposals: Sequence[ProposalLife], until: datetime,
           since: datetime | None = None, by: Sequence[str] = ("severity", "tier"),
           proposals_by: Sequence[str] = ("engine", "model", "prompt_hash")) -> MetricsReport:
    """Every metric over the window [since, until) (since=None: all history)."""
    bad = [key for key in by if key not in FINDING_KEYS] + [k for k in proposals_by if k not in PROPOSAL_KEYS]
    if bad:
        raise ValueError(f"unknown breakdown {bad[0]!r}; findings: {', '.join(FINDING_KEYS)}; "
                         f"proposals: {', '.join(PROPOSAL_KEYS)}")
    in_window = [life for life in lives if life.first_seen < until]
    to_proposal = [_days(life.first_seen, life.first_proposal_at) for life in in_window
                   if _inside(life.first_proposal_at, since, until)]
    to_review = [_days(life.first_seen, life.first_review_at) for life in in_window
                 if _inside(life.first_review_at, since, until)]
    fixed_by: dict[str, int] = {"suture": 0, "manual": 0}
    for life in in_window:
        if _inside(life.fixed_at, since, until) and life.fixed_by is not None:
            fixed_by[life.fixed_by] += 1
    return MetricsReport(
        since=since, until=until, by=list(by), findings=len(in_window),
        mttr=mttr(in_window, by, since, until), velocity=velocity(in_window, since, until),
        sla=sla(in_window, by, until), time_to_first_proposal=spread(to_proposal),
        time_to_first_review=spread(to_review),
        proposals=proposal_rates(proposals, proposals_by, since, until), fixed_by=fixed_by)
