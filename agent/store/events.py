"""The store's history and its repos: every scan, finding status change, proposal state change, review and
export is one row of `events` (when, which repo, who, what kind, about which record, and details as JSON), and
every repo that used the store is one row of `repos`.

Events are written by the code that makes the change, in the same transaction (a change without its event, or an
event without its change, cannot be committed). Their times are the times of the change, except for what a scan
found: a scan's event, and the status changes it causes, carry the time the scan was *taken* (`taken_at`, which a
caller backfilling history from CI artifacts gives), so history can be recorded after the fact.

Kinds: `scan` (subject: the scan's id), `finding` (a finding's status changed, or it was first seen: from None;
subject: the finding id), `proposal` (drafted, validated, unproven, failed), `review` (approved, rejected) and
`export` (exported); subject: the proposal id. The detail of a status or state change has `from`, `to`, `comment`.
`merge` (an exported branch reached the default branch, recorded once by agent.app.merged; subject: the proposal
id; detail: `branch`, `commit` (the fix commit found on the default branch), `default` (the branch checked)).

A repos row's `detail` holds `{"path": ...}`: the absolute path of a checkout of the repo (the project folder, a
subfolder for a monorepo project), recorded when a command first opens the store from it, and replaced when the
recorded folder no longer exists here (`note_repo_path`). Campaigns and metrics use it to reach each repo's code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agent.models import utcnow
from agent.store.base import writing
from agent.store.schema import events_t, findings_t, repos_t

SCAN, FINDING, PROPOSAL, REVIEW, EXPORT, MERGE = "scan", "finding", "proposal", "review", "export", "merge"
KINDS = (SCAN, FINDING, PROPOSAL, REVIEW, EXPORT, MERGE)
_PROPOSAL_KIND = {"approved": REVIEW, "rejected": REVIEW, "exported": EXPORT}


def proposal_kind(to_state: str) -> str:
    """The event kind of a proposal moving to `to_state`."""
    return _PROPOSAL_KIND.get(to_state, PROPOSAL)


def event_row(at: datetime, repo: str | None, actor: str, kind: str, subject: str, detail: dict) -> dict:
    return {"at": at, "repo": repo, "actor": actor, "kind": kind, "subject": subject, "detail": detail}


def write_events(conn: Connection, rows: list[dict]) -> None:
    """Append events on the caller's connection (so inside the transaction of the change they describe)."""
    if rows:
        conn.execute(events_t.insert(), rows)


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    repo: str | None
    actor: str
    kind: str
    subject: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class FindingTimes:
    """When a finding was first seen and, if it is fixed now, when (the time of the scan that no longer saw
    it). `severity` and `tool` come from the finding's record, for breakdowns."""

    finding_id: str
    repo: str | None
    tool: str
    rule_id: str
    severity: str
    status: str
    first_seen: datetime
    fixed_at: datetime | None


def _aware(at: datetime) -> datetime:
    """SQLite hands times back without their zone; the store writes UTC only."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class EventStore:
    """The history half of `agent.store.Store` (which provides `engine`, `repo` and `_mine`)."""

    engine: Any
    repo: str | None

    # ------------------------------------------------------------------ repos
    def add_repo(self, repo: str, detail: dict | None = None) -> bool:
        """Register `repo` (a repo key) if the store does not know it yet. Returns True when it was added."""
        if not repo or not repo.strip():
            from agent.store.base import StoreError

            raise StoreError("a repo needs a name (its key, e.g. github.com/org/app)")
        with self.engine.connect() as conn:
            if conn.execute(sa.select(repos_t.c.repo).where(repos_t.c.repo == repo)).first() is not None:
                return False
        with writing(self.engine) as conn:
            if conn.execute(sa.select(repos_t.c.repo).where(repos_t.c.repo == repo)).first() is not None:
                return False
            conn.execute(repos_t.insert().values(repo=repo, added_at=utcnow(), detail=detail or {}))
        return True

    def note_repo_path(self, repo: str, path: str) -> None:
        """Record `path` (a checkout's absolute path) in `repo`'s detail when the store has no path for it, or the
        one it has is not a folder on this machine (a moved or deleted clone). Registers the repo if needed."""
        if self.add_repo(repo, {"path": path}):
            return
        with self.engine.connect() as conn:
            detail = conn.execute(sa.select(repos_t.c.detail).where(repos_t.c.repo == repo)).scalar_one()
        known = (detail or {}).get("path")
        if known == path or (known and Path(known).is_dir()):
            return
        with writing(self.engine) as conn:
            conn.execute(repos_t.update().where(repos_t.c.repo == repo).values(detail={**(detail or {}), "path": path}))

    def set_repo_detail(self, repo: str, detail: dict) -> None:
        """Replace a registered repo's detail (see the module docstring for its keys)."""
        with writing(self.engine) as conn:
            conn.execute(repos_t.update().where(repos_t.c.repo == repo).values(detail=detail))

    def add_event(self, kind: str, subject: str, detail: dict, actor: str = "suture", at: datetime | None = None,
                  repo: str | None = None, once: bool = False) -> bool:
        """Append one event of its own (one not written with a change, e.g. a merge found by looking at git).
        With `once`, nothing is written when an event of this kind about this subject exists (checked under the
        write lock, so two processes noticing the same merge record it once). Returns True when written."""
        with writing(self.engine) as conn:
            if once and conn.execute(sa.select(events_t.c.id).where(
                    events_t.c.kind == kind, events_t.c.subject == subject).limit(1)).first() is not None:
                return False
            write_events(conn, [event_row(at or utcnow(), repo if repo is not None else self.repo, actor, kind,
                                          subject, detail)])
        return True

    def list_repos(self) -> list[dict[str, Any]]:
        """Every registered repo, oldest first: {repo, added_at, detail}."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(repos_t).order_by(repos_t.c.added_at, repos_t.c.repo)).mappings().all()
        return [dict(r) for r in rows]

    # ----------------------------------------------------------------- events
    def events(self, kinds: Iterable[str] | None = None, subject: str | None = None,
               since: datetime | None = None, until: datetime | None = None) -> list[Event]:
        """This store's events (its repo's, or all when opened without one), oldest first."""
        query = sa.select(events_t).where(self._mine(events_t))  # type: ignore[attr-defined]
        if kinds is not None:
            query = query.where(events_t.c.kind.in_(list(kinds)))
        if subject is not None:
            query = query.where(events_t.c.subject == subject)
        if since is not None:
            query = query.where(events_t.c.at >= since)
        if until is not None:
            query = query.where(events_t.c.at < until)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(events_t.c.at, events_t.c.id)).mappings().all()
        return [Event(**{**r, "at": _aware(r["at"])}) for r in rows]

    def finding_times(self) -> list[FindingTimes]:
        """First-seen and fixed-at times of every finding of this store (its repo's, or all), by id.

        `first_seen` is the earliest scan that reported the finding (a backfilled older scan moves it back);
        `fixed_at` is set while the finding is `fixed`: the taken_at of the first successful full scan of its
        tool and scope, taken after the finding was last seen, that did not report it. A re-opened finding has
        no fixed_at until it is fixed again (its events keep every earlier period). Backfill history oldest
        first: a scan closes only findings the store holds when the scan is recorded (scans keep no list of
        what they reported), so a finding first recorded after a later full scan is not closed by that one."""
        data = findings_t.c.data
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(data, findings_t.c.repo).where(self._mine(findings_t))  # type: ignore[attr-defined]
                                .order_by(findings_t.c.id)).all()
        times = []
        for record, repo in rows:
            fixed = record.get("fixed_at") if record.get("status") == "fixed" else None
            times.append(FindingTimes(
                finding_id=record["id"], repo=repo, tool=record["tool"], rule_id=record["rule_id"],
                severity=record.get("severity", "medium"), status=record["status"],
                first_seen=datetime.fromisoformat(record["first_seen"]),
                fixed_at=datetime.fromisoformat(fixed) if fixed else None))
        return times
