"""`audit verify`: walk the hash-chained review history for changes made behind suture's back."""

from __future__ import annotations

from agent.app.session import Session
from agent.app.views import AuditReport


def verify(session: Session) -> AuditReport:
    """Every edited, deleted or reordered history row, edited diff, validation or approver name, and proposal
    without history; `ok` when there is none."""
    problems = session.store.audit()
    return AuditReport(rows=session.store.transitions_count(), problems=[p.as_dict() for p in problems])


__all__ = ["verify"]
