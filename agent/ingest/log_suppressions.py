"""Results a SARIF log itself suppresses: recorded, not dropped, so `suture sarif` can say them again.

A result whose log suppresses it (SARIF §3.27.23, status `accepted` or none) becomes a finding like any other,
with the suppressions kept on it (Finding.suppressions). When it is new to the store it is recorded as
`dismissed` (or `risk_accepted` until the date suture itself wrote in an earlier export), with an event saying
the log suppressed it. A suppression never changes a finding the store already has: an open finding stays open
(closing it takes a person's approval or a scan that no longer reports it, DESIGN.md rule 9).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time

from agent.errors import SutureError
from agent.models import Finding, utcnow

LOG_ACTOR = "SARIF log"


def new_findings(store, findings: Iterable[Finding]) -> tuple[list[Finding], int]:
    """(the findings the store does not hold yet, how many of the others are open there). Looked up one by one:
    suppressed results are few."""
    fresh, still_open = [], 0
    for finding in findings:
        try:
            stored = store.get_finding(finding.id)
        except SutureError:
            fresh.append(finding)
        else:
            still_open += stored.status == "open"
    return fresh, still_open


def open_note(count: int) -> str:
    return (f"{count} open finding(s) are suppressed by this log; they stay open until a person dismisses them or "
            "accepts the risk (a suppression in a log closes nothing)")


def _accepted(finding: Finding) -> list[dict[str, str]]:
    return [s for s in finding.suppressions if s.get("status", "accepted") == "accepted"]


def _until(suppression: dict[str, str]) -> datetime | None:
    """The end of a risk acceptance suture wrote (`until`: an ISO date), when it is still in the future."""
    try:
        day = datetime.fromisoformat(suppression.get("until", ""))
    except ValueError:
        return None
    until = day if day.tzinfo else datetime.combine(day.date(), time(), tzinfo=UTC)
    return until if until > utcnow() else None


def record_log_suppressions(store, findings: list[Finding], source: str) -> None:
    """Mark `findings` (new in the store, just recorded as open) as the log's suppressions say."""
    for finding in findings:
        accepted = _accepted(finding)
        if not accepted:
            continue
        first = accepted[0]
        why = first.get("justification") or "no justification given"
        until = next((u for s in accepted if (u := _until(s)) is not None), None)
        if until is not None:
            store.accept_risk(finding.id, until, f"suppressed by the log {source}: {why}", LOG_ACTOR)
        else:
            store.set_finding_status(finding.id, "dismissed", LOG_ACTOR,
                                     f"suppressed by the log {source} ({first['kind']}): {why}", expected="open")


def reopen_unsuppressed(store, findings: Iterable[Finding], source: str) -> int:
    """Re-open findings that only a log's suppression had closed (their last status change is LOG_ACTOR's) and
    that this log reports without one: an earlier log's suppression is no evidence against a later scan. A
    dismissal or acceptance by a person stays. Returns how many were re-opened."""
    held = {f.id: f for f in store.list_findings(["dismissed", "risk_accepted"]) if f.suppressions}
    if not held:  # nothing to re-open: `findings` (a streamed log's are read back from disk) is not read
        return 0
    reopened = 0
    for finding in findings:
        stored = held.get(finding.id)
        if stored is None:
            continue
        events = store.finding_events(stored.id)
        if not events or events[-1]["actor"] != LOG_ACTOR or events[-1]["to_status"] != stored.status:
            continue
        store.set_finding_status(stored.id, "open", "scanner", f"reported without a suppression by {source}",
                                 expected=stored.status)
        reopened += 1
    return reopened


def reopen_note(count: int) -> str:
    return (f"{count} finding(s) that an earlier log's suppression had closed are reported without one: "
            "re-opened")
