"""Review use cases: a named person approves or rejects a proposal that awaits review.

A decision is about the proposal as the reviewer saw it awaiting review (validated, unproven, failed or a drafted
dismissal). Validated and unproven patches are approved as they are; only a failed one needs an override. If someone else decided first — even a moment before, from another process — the decision is
refused with who decided and when; withdrawing an approval is its own, explicit step (`retract`).
"""

from __future__ import annotations

from agent.errors import SutureError
from agent.models import Proposal
from agent.review.identity import check_reviewer, escape_text
from agent.store import Store, StoreError

_VERB = {"approved": "approved", "rejected": "rejected", "exported": "exported", "validated": "validated",
         "unproven": "marked as unproven", "failed": "marked as failed"}


def _awaiting(p: Proposal) -> tuple[str, ...]:
    return ("drafted",) if p.kind == "dismissal" else ("validated", "unproven", "failed")


def _decided_already(store: Store, p: Proposal) -> StoreError:
    history = store.transitions(p.id)
    last = history[-1] if history else None
    if last is None or last.to_state != p.state:
        return StoreError(f"proposal {p.short_id} is {p.state}; it no longer awaits review")
    return StoreError(f"proposal {p.short_id} is no longer {last.from_state or 'drafted'}: "
                      f"{escape_text(last.actor)} {_VERB.get(p.state, p.state)} it at {last.at:%Y-%m-%d %H:%M:%S} UTC")


def approve(store: Store, proposal_id: str, reviewer: str, comment: str | None = None, override: bool = False,
            reason: str | None = None) -> Proposal:
    """Approve a proposal awaiting review. `override` (a patch whose validation failed) needs a `reason`."""
    reviewer = check_reviewer(reviewer)
    if override and not (reason or "").strip():
        raise SutureError("--override needs --reason: say why a patch that failed validation should be approved")
    p = store.get_proposal(proposal_id)
    if p.state not in _awaiting(p):
        raise _decided_already(store, p)
    if override and p.state != "failed":
        raise StoreError(f"proposal {p.short_id} is {p.state}: --override is only for approving a patch whose "
                         "validation failed")
    note = comment.strip() if comment and comment.strip() else None
    if override:
        note = (reason or "").strip() + (f" ({note})" if note else "")
    elif reason and reason.strip():
        note = f"{note}; {reason.strip()}" if note else reason.strip()
    return store.transition(p.id, "approved", reviewer, note, override=override, expected=p.state)

def reject(store: Store, proposal_id: str, reviewer: str, reason: str, retract: bool = False) -> Proposal:
    """Reject a proposal awaiting review, with the reason; `retract` withdraws an approval not yet exported."""
    reviewer = check_reviewer(reviewer)
    if not (reason or "").strip():
        raise SutureError("a rejection needs --reason")
    p = store.get_proposal(proposal_id)
    if retract:
        if p.state != "approved":
            raise StoreError(f"proposal {p.short_id} is {p.state}, not approved: there is no approval to retract")
        return store.transition(p.id, "rejected", reviewer, reason.strip(), expected="approved")
    if p.state not in _awaiting(p):
        error = _decided_already(store, p)
        if p.state == "approved":
            error = StoreError(f"{error}; to withdraw that approval: `suture review reject {p.short_id} --retract "
                               "--reason …`")
        raise error
    return store.transition(p.id, "rejected", reviewer, reason.strip(), expected=p.state)
