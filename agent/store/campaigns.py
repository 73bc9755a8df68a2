"""Campaigns in the store: a named batch of findings across repos, and the claims workers hold on its items.

A campaign row spans repos (no repo column); each of its items is one finding of one repo, in triage rank order
(`position`). Workers take items one at a time with `claim_item`: under the store's write lock (BEGIN IMMEDIATE
on SQLite, the advisory lock on PostgreSQL) the next claimable item is chosen and taken with a compare-and-set
(`UPDATE … WHERE id = :id AND state = :seen`), so two workers, on one machine or several, never hold one item.
A claim is a lease: one older than the lease (a worker killed, a machine gone) may be claimed again; a worker
renews its leases while it works and finishes an item only while it still holds it. The campaign's limits are
checked in the same transaction: at most `max_proposals` items hold a proposal or a live claim, and nothing is
claimed once the items' recorded cost reaches `budget_usd`.

Item states: pending → claimed → done (with `proposal_id`, or an `outcome` saying why there is none) or
failed (an error; `outcome` says which). Releasing a claim puts the item back to pending.

The tables are defined here, on the store's metadata (agent.store.schema), and created by Alembic revision 0003.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from agent.models import utcnow
from agent.store.base import StoreError, writing
from agent.store.events import _aware
from agent.store.schema import _meta, _Text

PENDING, CLAIMED, DONE, FAILED = "pending", "claimed", "done", "failed"
OPEN, CLOSED = "open", "closed"

campaigns_t = sa.Table(
    "campaigns", _meta,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("owner", _Text(300)),
    sa.Column("due", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("selectors", sa.JSON, nullable=False),
    sa.Column("repos", sa.JSON, nullable=False),  # {repo key: checkout path}
    sa.Column("max_proposals", sa.Integer),
    sa.Column("budget_usd", sa.Float),
)
campaign_items_t = sa.Table(
    "campaign_items", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("campaign", sa.Text, nullable=False),
    sa.Column("repo", sa.Text, nullable=False),
    sa.Column("finding_id", sa.String(64), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),  # triage rank order across the campaign's repos
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("team", _Text(300)),
    sa.Column("lane", sa.String(20)),
    sa.Column("tier", sa.Integer),
    sa.Column("severity", sa.String(20)),
    sa.Column("rule_id", _Text(300)),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("claimed_by", sa.Text),
    sa.Column("claimed_at", sa.DateTime(timezone=True)),
    sa.Column("proposal_id", sa.String(64)),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("outcome", sa.Text),
    sa.Column("cost_usd", sa.Float, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    sa.Index("ux_campaign_items_finding", "campaign", "repo", "finding_id", unique=True),
    sa.Index("ix_campaign_items_queue", "campaign", "state", "position"),
)
_ITEM_FIELDS = ("repo", "finding_id", "position", "score", "team", "lane", "tier", "severity", "rule_id")


def _campaign(row: Any) -> dict[str, Any]:
    record = dict(row)
    for key in ("due", "created_at", "closed_at"):
        if record[key] is not None:
            record[key] = _aware(record[key])
    return record


def _item(row: Any) -> dict[str, Any]:
    record = dict(row)
    for key in ("claimed_at", "updated_at"):
        if record[key] is not None:
            record[key] = _aware(record[key])
    return record


class CampaignStore:
    """The campaign half of `agent.store.Store` (which provides `engine`)."""

    engine: Any

    def create_campaign(self, name: str, *, selectors: dict, repos: dict[str, str], items: list[dict],
                        owner: str | None = None, due: datetime | None = None, max_proposals: int | None = None,
                        budget_usd: float | None = None) -> dict[str, Any]:
        """Store a new campaign and its items (dicts with the item fields, in rank order). A name in use is an
        error, also when another process creates it at the same moment."""
        if not name or not name.strip() or len(name) > 200:
            raise StoreError("a campaign needs a name of 1 to 200 characters")
        now = utcnow()
        with writing(self.engine) as conn:
            if conn.execute(sa.select(campaigns_t.c.name).where(campaigns_t.c.name == name)).first() is not None:
                raise StoreError(f"campaign {name!r} exists already (see `suture campaign list`)")
            conn.execute(campaigns_t.insert().values(
                name=name, state=OPEN, owner=owner, due=due, created_at=now, selectors=selectors, repos=repos,
                max_proposals=max_proposals, budget_usd=budget_usd))
            rows = [{**{k: item.get(k) for k in _ITEM_FIELDS}, "campaign": name, "position": position,
                     "state": PENDING, "attempts": 0, "cost_usd": 0.0, "updated_at": now}
                    for position, item in enumerate(items)]
            if rows:
                conn.execute(campaign_items_t.insert(), rows)
        return self.get_campaign(name)

    def get_campaign(self, name: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(campaigns_t).where(campaigns_t.c.name == name)).mappings().first()
        if row is None:
            raise StoreError(f"no campaign named {name!r} (see `suture campaign list`)")
        return _campaign(row)

    def list_campaigns(self) -> list[dict[str, Any]]:
        """Every campaign, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(campaigns_t).order_by(campaigns_t.c.created_at.desc(),
                                                                campaigns_t.c.name)).mappings().all()
        return [_campaign(r) for r in rows]

    def close_campaign(self, name: str) -> dict[str, Any]:
        """Close a campaign: its pending items are no longer claimed (claims held now may still finish)."""
        with writing(self.engine) as conn:
            done = conn.execute(campaigns_t.update().where(campaigns_t.c.name == name, campaigns_t.c.state == OPEN)
                                .values(state=CLOSED, closed_at=utcnow()))
        if done.rowcount != 1:
            self.get_campaign(name)  # unknown: its error
            raise StoreError(f"campaign {name!r} is closed already")
        return self.get_campaign(name)

    def campaign_items(self, name: str) -> list[dict[str, Any]]:
        """The campaign's items in rank order."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(campaign_items_t).where(campaign_items_t.c.campaign == name)
                                .order_by(campaign_items_t.c.position)).mappings().all()
        return [_item(r) for r in rows]

    def claim_item(self, name: str, worker: str, lease: timedelta, item_id: int | None = None
                   ) -> dict[str, Any] | str:
        """Take the next item of campaign `name` for `worker`: the first pending one in rank order, or one whose
        claim is older than `lease`. Returns the item (claimed, attempts counted), or why nothing was claimed:
        "closed", "max_proposals", "budget", "empty" (nothing claimable now) or "busy" (the claims held now
        may use up --max-proposals: ask again when one of them ends). With `item_id`, only that item (a queued
        job's) is claimed, if it is claimable."""
        t = campaign_items_t
        now = utcnow()
        with writing(self.engine) as conn:
            campaign = conn.execute(sa.select(campaigns_t).where(campaigns_t.c.name == name)).mappings().first()
            if campaign is None:
                raise StoreError(f"no campaign named {name!r} (see `suture campaign list`)")
            if campaign["state"] != OPEN:
                return "closed"
            mine = t.c.campaign == name
            expired = sa.and_(t.c.state == CLAIMED, t.c.claimed_at < now - lease)
            if campaign["max_proposals"] is not None:
                proposed = conn.execute(sa.select(sa.func.count()).where(mine, t.c.proposal_id.is_not(None))
                                        ).scalar_one()
                if proposed >= campaign["max_proposals"]:
                    return "max_proposals"
                live = conn.execute(sa.select(sa.func.count()).where(
                    mine, t.c.state == CLAIMED, t.c.claimed_at >= now - lease)).scalar_one()
                if proposed + live >= campaign["max_proposals"]:
                    return "busy"  # the claims held now may use up the limit; ask again when one ends
            if campaign["budget_usd"] is not None:
                spent = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(t.c.cost_usd), 0.0)).where(mine)
                                     ).scalar_one()
                if spent >= campaign["budget_usd"]:
                    return "budget"
            which = sa.true() if item_id is None else t.c.id == item_id
            row = conn.execute(sa.select(t.c.id, t.c.state, t.c.claimed_by)
                               .where(mine, which, sa.or_(t.c.state == PENDING, expired))
                               .order_by(t.c.position).limit(1)).first()
            if row is None:
                return "empty"
            taken = conn.execute(t.update().where(t.c.id == row.id, t.c.state == row.state,
                                                  t.c.claimed_by.is_(None) if row.claimed_by is None
                                                  else t.c.claimed_by == row.claimed_by)
                                 .values(state=CLAIMED, claimed_by=worker, claimed_at=now,
                                         attempts=t.c.attempts + 1, updated_at=now))
            if taken.rowcount != 1:
                raise StoreError("campaign item changed while it was claimed under the write lock")
            item = conn.execute(sa.select(t).where(t.c.id == row.id)).mappings().one()
        return _item(item)

    def finish_item(self, item_id: int, worker: str, state: str, *, proposal_id: str | None = None,
                    outcome: str | None = None, cost_usd: float = 0.0) -> bool:
        """Record what came of a claimed item (`state` done or failed). Only the worker holding the claim may;
        returns False when it no longer does (its lease ran out and another worker took the item)."""
        if state not in (DONE, FAILED):
            raise StoreError(f"a campaign item is finished as done or failed, not {state!r}")
        t = campaign_items_t
        with writing(self.engine) as conn:
            result = conn.execute(t.update().where(t.c.id == item_id, t.c.state == CLAIMED, t.c.claimed_by == worker)
                                  .values(state=state, proposal_id=proposal_id, outcome=outcome,
                                          cost_usd=t.c.cost_usd + cost_usd, updated_at=utcnow()))
        return result.rowcount == 1

    def release_items(self, name: str, claimants: list[str]) -> int:
        """Put the items these claimants hold (e.g. workers of a process that is gone) back to pending."""
        if not claimants:
            return 0
        t = campaign_items_t
        with writing(self.engine) as conn:
            result = conn.execute(t.update().where(t.c.campaign == name, t.c.state == CLAIMED,
                                                   t.c.claimed_by.in_(claimants))
                                  .values(state=PENDING, claimed_by=None, claimed_at=None, updated_at=utcnow()))
        return result.rowcount

    def renew_claims(self, name: str, claimants: list[str]) -> int:
        """Renew the leases these claimants hold (a worker still at work)."""
        if not claimants:
            return 0
        t = campaign_items_t
        with writing(self.engine) as conn:
            result = conn.execute(t.update().where(t.c.campaign == name, t.c.state == CLAIMED,
                                                   t.c.claimed_by.in_(claimants)).values(claimed_at=utcnow()))
        return result.rowcount

    def claimants(self, name: str) -> list[str]:
        """Who holds claims on the campaign's items now."""
        t = campaign_items_t
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.claimed_by).distinct().where(t.c.campaign == name,
                                                                          t.c.state == CLAIMED)).all()
        return [r[0] for r in rows if r[0]]
