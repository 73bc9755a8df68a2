"""Proposals in the store: their state rules, their history as a hash chain, and the check of that chain.

State rules (DESIGN.md):
- a patch moves drafted → validated | unproven | failed → approved | rejected → exported; only `approved` can be
  exported; an unproven patch (every check passed, but no test executes the change) is approved like a validated
  one; a failed patch can be approved only with an explicit override and a reason, both written into the history;
- a dismissal (false-positive verdict) is never validated by tests: drafted → approved | rejected, and only an
  approved dismissal marks its finding `dismissed`.

Every state change is one compare-and-set in one transaction with its history row: `UPDATE proposals … WHERE
id = :id AND state = :from`, the row count checked, the history row appended to the chain and the chain head
moved with another compare-and-set (`UPDATE audit_heads … WHERE seq = :seq`). Of concurrent conflicting changes
exactly one wins; the others are told who changed the proposal and when. On SQLite the transaction takes the
write lock first (BEGIN IMMEDIATE), elsewhere a lost compare-and-set is retried from a fresh read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agent.errors import SutureError
from agent.models import Proposal, ProposalState, Transition, utcnow
from agent.review.audit import CHAIN, FIXED_FACTS, Problem, facts_drift, link_hash, proposal_facts, verify
from agent.review.identity import check_reviewer
from agent.store.base import StoreError, writing
from agent.store.events import event_row, proposal_kind, write_events
from agent.store.schema import _proposal_row, audit_heads_t, proposals_t, transitions_t


class _Lost(Exception):
    """A compare-and-set matched no row: someone else changed the proposal or the chain first."""


# (from, to) pairs a patch may take; dismissals have their own, shorter path.
_PATCH_MOVES: set[tuple[str | None, str]] = {
    (None, "drafted"), ("drafted", "validated"), ("drafted", "unproven"), ("drafted", "failed"),
    ("validated", "approved"), ("validated", "rejected"), ("unproven", "approved"), ("unproven", "rejected"),
    ("failed", "rejected"),
    ("approved", "exported"), ("approved", "rejected"),
}
_DISMISSAL_MOVES: set[tuple[str | None, str]] = {
    (None, "drafted"), ("drafted", "approved"), ("drafted", "rejected"),
}
_VERB = {"validated": "validated", "unproven": "marked as unproven", "failed": "marked as failed", "approved": "approved", "rejected": "rejected",
         "exported": "exported", "drafted": "drafted"}
_RETRIES = 8
_TRANSITION_FIELDS = set(Transition.model_fields)


class ProposalStore:
    """The proposal half of `agent.store.Store` (which provides `engine` and `set_finding_status`)."""

    engine: Any
    repo: str | None

    def add_proposal(self, proposal: Proposal, actor: str = "suture") -> Proposal:
        """Store a new proposal in state `drafted`. Returns the stored record (the existing one if the id exists,
        also when another process stores the same id at the same moment)."""
        if proposal.state != "drafted":
            raise StoreError("new proposals start as 'drafted'")
        actor = check_reviewer(actor)
        for _ in range(_RETRIES):
            try:
                with writing(self.engine) as conn:
                    row = conn.execute(sa.select(proposals_t.c.data, proposals_t.c.repo)
                                       .where(proposals_t.c.id == proposal.id)).first()
                    if row is not None:
                        if self.repo is not None and row[1] not in (None, self.repo):
                            raise StoreError(f"proposal {proposal.short_id} is already in this store for repo {row[1]}")
                        return Proposal.model_validate(row[0])
                    conn.execute(proposals_t.insert().values(**_proposal_row(proposal), repo=self.repo))
                    self._append(conn, proposal, None, actor, None, repo=self.repo)
                return proposal
            except (_Lost, sa.exc.IntegrityError):
                continue
        raise StoreError(f"could not store proposal {proposal.short_id}: the store is too busy; try again")

    def get_proposal(self, proposal_id: str) -> Proposal:
        """The proposal with this id, or the only one whose id starts with it (a literal prefix: % and _ are
        plain characters)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(proposals_t.c.data).where(proposals_t.c.id.startswith(proposal_id, autoescape=True),
                                                    self._mine(proposals_t))  # type: ignore[attr-defined]
            ).all() if proposal_id else []
        exact = [r for r in rows if r[0]["id"] == proposal_id]
        if exact:
            rows = exact
        if not rows:
            raise StoreError(f"no proposal with id {proposal_id!r} (see `suture review list`)")
        if len(rows) > 1:
            raise StoreError(f"proposal id {proposal_id!r} is ambiguous ({len(rows)} matches); give more characters")
        return Proposal.model_validate(rows[0][0])

    def list_proposals(self, states: Iterable[str] | None = None, finding_id: str | None = None) -> list[Proposal]:
        query = sa.select(proposals_t.c.data).where(self._mine(proposals_t))  # type: ignore[attr-defined]
        query = query.order_by(proposals_t.c.created_at, proposals_t.c.id)
        if states is not None:
            query = query.where(proposals_t.c.state.in_(list(states)))
        if finding_id is not None:
            query = query.where(proposals_t.c.finding_id == finding_id)
        with self.engine.connect() as conn:
            return [Proposal.model_validate(r[0]) for r in conn.execute(query)]

    def update_proposal(self, proposal: Proposal) -> bool:
        """Save a drafted proposal's validation and notes. State changes use `transition`; what a proposal is
        (its diff, engine, model, prompt) never changes. Returns False, saving nothing, when the proposal has
        meanwhile left the state the caller read (another run validated it first)."""
        with writing(self.engine) as conn:
            row = conn.execute(sa.select(proposals_t.c.data).where(proposals_t.c.id == proposal.id)).first()
            if row is None:
                raise StoreError(f"no proposal with id {proposal.id!r}")
            stored = Proposal.model_validate(row[0])
            if stored.state != proposal.state:
                if proposal.state == "drafted":
                    return False
                raise StoreError("proposal state can only change through Store.transition")
            if stored.state != "drafted":
                raise StoreError(f"proposal {proposal.short_id} is {stored.state}; its content can no longer change")
            old, new = proposal_facts(stored), proposal_facts(proposal)
            changed = [k for k in FIXED_FACTS if old[k] != new[k]]
            if changed:
                raise StoreError(f"proposal {proposal.short_id}: {', '.join(changed)} cannot change; draft a new "
                                 "proposal instead")
            done = conn.execute(proposals_t.update().where(proposals_t.c.id == proposal.id,
                                                           proposals_t.c.state == "drafted")
                                .values(**_proposal_row(proposal)))
            return done.rowcount == 1

    def transition(
        self, proposal_id: str, to_state: ProposalState, actor: str, comment: str | None = None,
        override: bool = False, expected: ProposalState | None = None, target: str | None = None,
    ) -> Proposal:
        """Move a proposal to `to_state` if the rules allow it, as one compare-and-set with its history row.

        `expected` is the state the caller saw (a reviewer's view): if the proposal has left it, the change is
        refused with who moved it and when. Without `expected` (suture's own steps) a proposal already in
        `to_state` is returned as it is: a repeated step never writes a second history row."""
        try:
            actor = check_reviewer(actor)
        except SutureError as exc:
            raise StoreError(f"every state change needs a named actor: {exc}") from None
        if override and not (comment or "").strip():
            raise StoreError("--override needs --reason: say why a patch that failed validation is approved")
        for _ in range(_RETRIES):
            try:
                return self._transition_once(proposal_id, to_state, actor, comment, override, expected, target)
            except (_Lost, sa.exc.IntegrityError):
                continue
        raise StoreError(f"proposal {proposal_id[:8]}: the store is too busy; try again")

    def _transition_once(self, proposal_id, to_state, actor, comment, override, expected, target) -> Proposal:
        with writing(self.engine) as conn:
            row = conn.execute(sa.select(proposals_t.c.data, proposals_t.c.repo)
                               .where(proposals_t.c.id == proposal_id)).first()
            if row is None:
                raise StoreError(f"no proposal with id {proposal_id!r}")
            proposal = Proposal.model_validate(row[0])
            if expected is not None and proposal.state != expected:
                raise StoreError(self._moved_message(conn, proposal, expected))
            if expected is None and proposal.state == to_state:
                return proposal
            move = (proposal.state, to_state)
            allowed = _DISMISSAL_MOVES if proposal.kind == "dismissal" else _PATCH_MOVES
            if override and move != ("failed", "approved"):
                raise StoreError(f"proposal {proposal.short_id} is {proposal.state}: --override is only for "
                                 "approving a patch whose validation failed")
            if move not in allowed and not (override and proposal.kind == "patch"):
                raise StoreError(_refusal(proposal, to_state))
            last = self._last_row(conn, proposal_id)
            if last is not None:
                drift = facts_drift(last["facts"], proposal_facts(proposal), last["to_state"] == "drafted",
                                    proposal)
                if drift:
                    raise StoreError(f"proposal {proposal.short_id} was changed behind suture's back ({', '.join(drift)}"
                                     " differ from its history); nothing recorded. Run `suture audit verify`")
            updated = proposal.model_copy(update={"state": to_state})
            done = conn.execute(proposals_t.update().where(proposals_t.c.id == proposal_id,
                                                           proposals_t.c.state == proposal.state)
                                .values(**_proposal_row(updated)))
            if done.rowcount != 1:
                raise _Lost()
            self._append(conn, updated, proposal.state, actor, comment, override=override, target=target,
                         repo=row[1])
            if proposal.kind == "dismissal" and to_state == "approved":
                self.set_finding_status(proposal.finding_id, "dismissed", actor,  # type: ignore[attr-defined]
                                        f"dismissal {proposal.short_id} approved: {comment or ''}".strip(), conn)
        return updated

    @staticmethod
    def _append(conn: Connection, proposal: Proposal, from_state: str | None, actor: str, comment: str | None,
                override: bool = False, target: str | None = None, at: datetime | None = None,
                repo: str | None = None) -> None:
        """Append one history row to the chain and move the head (compare-and-set on its number), and its event
        (agent.store.events; `repo` is the proposal's, kept beside the chain, not hashed)."""
        head = conn.execute(sa.select(audit_heads_t.c.seq, audit_heads_t.c.hash)
                            .where(audit_heads_t.c.name == CHAIN)).first()
        if head is None:
            raise StoreError("the store has no audit chain head; reopen it with this version of suture")
        row = {"seq": head.seq + 1, "proposal_id": proposal.id, "from_state": from_state,
               "to_state": proposal.state, "actor": actor, "at": at or utcnow(), "comment": comment,
               "override": override, "target": target, "facts": proposal_facts(proposal)}
        digest = link_hash(head.hash, row)
        conn.execute(transitions_t.insert().values(**row, prev_hash=head.hash, hash=digest, repo=repo))
        write_events(conn, [event_row(row["at"], repo, actor, proposal_kind(proposal.state), proposal.id, {
            "from": from_state, "to": proposal.state, "comment": comment, "override": override, "target": target,
            "finding_id": proposal.finding_id, "engine": proposal.engine})])
        moved = conn.execute(audit_heads_t.update().where(audit_heads_t.c.name == CHAIN,
                                                          audit_heads_t.c.seq == head.seq)
                             .values(seq=row["seq"], hash=digest))
        if moved.rowcount != 1:
            raise _Lost()

    @staticmethod
    def _last_row(conn: Connection, proposal_id: str) -> dict | None:
        row = conn.execute(sa.select(transitions_t).where(transitions_t.c.proposal_id == proposal_id)
                           .order_by(transitions_t.c.id.desc()).limit(1)).mappings().first()
        return dict(row) if row is not None else None

    def _moved_message(self, conn: Connection, proposal: Proposal, expected: str) -> str:
        last = self._last_row(conn, proposal.id)
        if last is None or last["to_state"] != proposal.state:
            return f"proposal {proposal.short_id} is no longer {expected}: it is {proposal.state}"
        from agent.review.identity import escape_text

        at = last["at"]
        return (f"proposal {proposal.short_id} is no longer {expected}: {escape_text(last['actor'])} "
                f"{_VERB.get(proposal.state, proposal.state)} it at {at:%Y-%m-%d %H:%M:%S} UTC")

    def transitions(self, proposal_id: str) -> list[Transition]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(transitions_t).where(transitions_t.c.proposal_id == proposal_id).order_by(transitions_t.c.id)
            ).mappings().all()
        return [Transition.model_validate({k: (bool(v) if k == "override" else v) for k, v in r.items()
                                           if k in _TRANSITION_FIELDS}) for r in rows]

    def validated_diff_hash(self, proposal_id: str) -> str | None:
        """The diff hash recorded when the proposal's validation ended (validated, unproven or failed)."""
        return (self.validated_facts(proposal_id) or {}).get("diff_hash")

    def validated_facts(self, proposal_id: str) -> dict[str, Any] | None:
        """The proposal's facts (agent.review.audit.proposal_facts) recorded when its validation ended (validated,
        unproven or failed), or None when it never ended."""
        with self.engine.connect() as conn:
            facts = conn.execute(sa.select(transitions_t.c.facts).where(
                transitions_t.c.proposal_id == proposal_id, transitions_t.c.to_state.in_(("validated", "unproven", "failed")))
                .order_by(transitions_t.c.id.desc()).limit(1)).scalar()
        return facts

    def transitions_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(transitions_t)).scalar_one()

    def audit(self) -> list[Problem]:
        """Every change made behind suture's back to the history or to the proposals (see agent.review.audit)."""
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(sa.select(transitions_t).order_by(transitions_t.c.id)).mappings()]
            head = conn.execute(sa.select(audit_heads_t.c.seq, audit_heads_t.c.hash)
                                .where(audit_heads_t.c.name == CHAIN)).first()
            proposals = {pid: Proposal.model_validate(data)
                         for pid, data in conn.execute(sa.select(proposals_t.c.id, proposals_t.c.data))}
        return verify(rows, tuple(head) if head is not None else None, proposals)


def _refusal(proposal: Proposal, to_state: str) -> str:
    sid = proposal.short_id
    if to_state == "exported":
        return f"proposal {sid} is {proposal.state}, not approved: only approved proposals can be exported"
    if to_state == "approved" and proposal.state == "failed":
        return (f"proposal {sid} failed validation; approve it anyway only with --override --reason '…' "
                "(recorded in the review log, the commit and the PR text)")
    if to_state == "approved" and proposal.state == "drafted":
        return f"proposal {sid} has not been validated yet; run `suture fix` to validate it first"
    return f"proposal {sid} is {proposal.state}; it cannot become {to_state}"
