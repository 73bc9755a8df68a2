"""Findings in the store: reading them, and every status change with who made it and why."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agent.errors import SutureError
from agent.gc_pause import paused_gc
from agent.models import Finding, utcnow
from agent.review.identity import check_reviewer
from agent.store.base import StoreError, nothing, writing
from agent.store.events import FINDING, event_row, write_events
from agent.store.schema import _finding_row, _findings_from_json, finding_events_t, findings_t


class FindingStore:
    """The finding half of `agent.store.Store` (which provides `engine`, `repo` and `_mine`)."""

    engine: Any
    repo: str | None

    if TYPE_CHECKING:
        def _mine(self, table: sa.Table) -> sa.ColumnElement[bool]: ...  # Store's

    def _data_text(self) -> sa.ColumnElement:
        """findings.data as the JSON text stored (PostgreSQL's driver would parse a json column itself)."""
        if self.engine.dialect.name == "postgresql":
            return sa.cast(findings_t.c.data, sa.Text)
        return sa.type_coerce(findings_t.c.data, sa.Text)

    # ---------------------------------------------------------------- findings
    def get_finding(self, finding_id: str) -> Finding:
        with self.engine.connect() as conn:
            mine = self._mine(findings_t)
            row = conn.execute(sa.select(findings_t.c.data).where(findings_t.c.id == finding_id, mine)).first()
            if row is None:
                matches = conn.execute(
                    sa.select(findings_t.c.data).where(findings_t.c.id.startswith(finding_id, autoescape=True), mine)
                ).all() if len(finding_id) >= 4 else []
                if len(matches) == 1:
                    row = matches[0]
                elif len(matches) > 1:
                    raise StoreError(f"finding id {finding_id!r} is ambiguous ({len(matches)} matches)")
        if row is None:
            raise StoreError(f"no finding with id {finding_id!r} (see `suture triage`)")
        return Finding.model_validate(row[0])

    def list_findings(self, status: str | Iterable[str] | None = "open") -> list[Finding]:
        """The findings (of this store's repo) with `status` (one, several, or None: all), ordered by id."""
        # the raw JSON text straight into pydantic's parser: twice as fast as json.loads + validate on big stores
        query = sa.select(self._data_text()).where(self._mine(findings_t))
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            query = query.where(findings_t.c.status.in_(wanted))
        with self.engine.connect() as conn, paused_gc():
            result = conn.execute(query.order_by(findings_t.c.id))
            try:  # the texts straight from the driver's cursor: the column has no result processing to skip
                return _findings_from_json(text for (text,) in result.cursor)
            finally:
                result.close()

    def set_finding_status(
        self, finding_id: str, status: str, actor: str, comment: str | None = None, conn: Connection | None = None,
        *, expected: str | Iterable[str] | None = None,
    ) -> None:
        """Move a finding to `status`, logged with who and why: one compare-and-set (`UPDATE … WHERE status =
        :read`) so of concurrent changes exactly one lands. `expected` (a status or several) refuses the change,
        writing nothing, when the finding is no longer in one of them."""
        ctx = writing(self.engine) if conn is None else nothing()
        with ctx as maybe_conn:
            c = conn or maybe_conn
            assert c is not None  # the caller's connection, or the one writing() opened
            row = c.execute(
                sa.select(findings_t.c.data, findings_t.c.scope, findings_t.c.repo).where(findings_t.c.id == finding_id,
                                                                       self._mine(findings_t))
            ).first()
            if row is None:
                raise StoreError(f"no finding with id {finding_id!r}")
            old = Finding.model_validate(row[0])
            allowed = {expected} if isinstance(expected, str) else set(expected or ())
            if allowed and old.status not in allowed:
                raise StoreError(f"finding {old.short_id} is now {old.status}, not {' or '.join(sorted(allowed))}; "
                                 "someone changed it first")
            new = old.model_copy(update={"status": status})
            self._swap_finding(c, old, new, row[1])
            self._log_finding(c, finding_id, old.status, status, actor, utcnow(), comment, row[2])

    @staticmethod
    def _swap_finding(conn: Connection, old: Finding, new: Finding, scope: str) -> None:
        """Write `new` over `old` only if the stored status is still `old.status`; StoreError otherwise."""
        done = conn.execute(
            findings_t.update().where(findings_t.c.id == old.id, findings_t.c.status == old.status)
            .values(**_finding_row(new, scope))
        ).rowcount
        if done != 1:
            raise StoreError(f"finding {old.short_id} changed while it was being updated; try again")

    def finding_events(self, finding_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(finding_events_t).where(finding_events_t.c.finding_id == finding_id)
                .order_by(finding_events_t.c.id)
            ).mappings().all()
        return [dict(r) for r in rows]

    @staticmethod
    def _log_finding(conn: Connection, fid: str, old: str | None, new: str, actor: str, at: datetime,
                     comment: str | None, repo: str | None) -> None:
        """The status change's history row and event, on the connection (so in the change's transaction)."""
        conn.execute(finding_events_t.insert().values(
            finding_id=fid, from_status=old, to_status=new, actor=actor, at=at, comment=comment, repo=repo,
        ))
        write_events(conn, [event_row(at, repo, actor, FINDING, fid, {"from": old, "to": new, "comment": comment})])

    def accept_risk(self, finding_id: str, until: datetime, reason: str, actor: str) -> Finding:
        """A named person tolerates an open finding until a date; the reason is kept in the finding's events."""
        try:
            actor = check_reviewer(actor)
        except SutureError as exc:
            raise StoreError(f"accepting a risk needs a named person: {exc}") from None
        if not reason or not reason.strip():
            raise StoreError("accepting a risk needs a reason")
        if until <= utcnow():
            raise StoreError(f"the acceptance must end in the future, not {until:%Y-%m-%d}")
        finding_id = self.get_finding(finding_id).id
        with writing(self.engine) as conn:
            row = conn.execute(
                sa.select(findings_t.c.data, findings_t.c.scope, findings_t.c.repo).where(findings_t.c.id == finding_id)
            ).one()
            finding = Finding.model_validate(row[0])
            if finding.status not in ("open", "risk_accepted"):
                raise StoreError(f"finding {finding.short_id} is {finding.status}; only open findings can be accepted")
            new = finding.model_copy(update={"status": "risk_accepted", "risk_accepted_until": until})
            self._swap_finding(conn, finding, new, row[1])
            self._log_finding(conn, finding.id, finding.status, "risk_accepted", actor, utcnow(),
                              f"until {until.isoformat()}: {reason.strip()}", row[2])
        return new

    def expire_acceptances(self, now: datetime | None = None) -> list[str]:
        """Re-open findings whose risk acceptance has run out. Returns their ids."""
        now = now or utcnow()
        reopened = []
        with writing(self.engine) as conn:
            rows = conn.execute(
                sa.select(findings_t.c.data, findings_t.c.scope, findings_t.c.repo).where(findings_t.c.status == "risk_accepted",
                                                                       self._mine(findings_t))
            ).all()
            for data, scope, repo in rows:
                f = Finding.model_validate(data)
                if f.risk_accepted_until is not None and f.risk_accepted_until <= now:
                    new = f.model_copy(update={"status": "open", "risk_accepted_until": None})
                    self._swap_finding(conn, f, new, scope)
                    self._log_finding(conn, f.id, "risk_accepted", "open", "suture", now, "risk acceptance expired",
                                      repo)
                    reopened.append(f.id)
        return reopened

