"""How far a campaign has come: per repo and per team, how many of its findings reached each step, and the
burn-down against its due date.

Steps count an item once it reached them (an exported proposal was also approved and drafted): selected (every
item), drafted (it has a proposal), validated / unproven (the proposal's evidence says so: a passing test
executes the change, or every check passed without one), approved (approved or exported), exported, merged (an
exported branch reached the default branch: a `merge` event about the proposal) and fixed (the finding is
`fixed`: a later full scan no longer reports it). Burn-down: remaining = selected findings not fixed, dismissed
or risk-accepted; with a due date, the days left and the pace needed (remaining / days left), and one point per
day since the campaign began (remaining at the end of that day, from when each finding was fixed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

STEPS = ("selected", "drafted", "validated", "unproven", "approved", "exported", "merged", "fixed")
CLOSED_STATUSES = ("fixed", "dismissed", "risk_accepted")


def steps_of(proposal: Any, merged: bool, finding_status: str | None) -> set[str]:
    """The steps an item reached, from its proposal (None if it has none) and its finding's status."""
    reached = {"selected"}
    if finding_status == "fixed":
        reached.add("fixed")
    if proposal is None:
        return reached
    reached.add("drafted")
    evidence = proposal.validation.state if proposal.validation is not None else None
    if proposal.state in ("validated", "unproven"):
        reached.add(proposal.state)
    elif proposal.state in ("approved", "exported") and evidence in ("validated", "unproven"):
        reached.add(evidence)
    if proposal.state in ("approved", "exported"):
        reached.add("approved")
    if proposal.state == "exported":
        reached.add("exported")
    if merged:
        reached.add("merged")
    return reached


def tally(rows: Iterable[tuple[str, set[str]]]) -> dict[str, dict[str, int]]:
    """{key: {step: count}} from (key, steps reached) pairs, keys sorted."""
    out: dict[str, dict[str, int]] = {}
    for key, reached in rows:
        counts = out.setdefault(key, dict.fromkeys(STEPS, 0))
        for step in reached:
            counts[step] += 1
    return dict(sorted(out.items()))


def burn_down(start: datetime, now: datetime, due: datetime | None, closed_at: list[datetime | None]
              ) -> dict[str, Any]:
    """Remaining now and per day since `start` (`closed_at`: when each item's finding was closed, None while
    open); with `due`, days left (whole days, 0 once past) and the pace needed per day."""
    remaining = sum(1 for at in closed_at if at is None)
    days: list[dict[str, Any]] = []
    day = start.date()
    while day <= now.date() and len(days) < 3660:
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=start.tzinfo)
        days.append({"date": day.isoformat(),
                     "remaining": sum(1 for at in closed_at if at is None or at >= end)})
        day += timedelta(days=1)
    result: dict[str, Any] = {"remaining": remaining, "total": len(closed_at), "series": days,
                              "due": due.isoformat() if due else None, "days_left": None, "per_day_needed": None,
                              "overdue": False}
    if due is not None:
        left = (due - now).total_seconds() / 86400
        result["days_left"] = max(0, math.ceil(left))
        result["overdue"] = left < 0 and remaining > 0
        result["per_day_needed"] = round(remaining / left, 2) if left > 0 else (float(remaining) if remaining else 0.0)
    return result
