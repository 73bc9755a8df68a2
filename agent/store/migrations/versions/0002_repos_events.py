"""A repo column on every table, the repos registry, the events history, and when each scan was taken.

* `repo` (nullable, indexed) on finding_events, transitions, llm_cache, outcomes and file_facts, filled from the
  finding's or proposal's row where there is one (transitions.repo is not part of the hash chain);
* `scans.taken_at`: when the scan was taken (callers may give it, to backfill a history); old scans: their `at`;
* `repos`: every repo the store holds rows of, registered now;
* `events`: the history the metrics read, backfilled from what the store already holds (scans, finding status
  changes, proposal transitions), so an upgraded store keeps its past.

Every step checks first, so a store adopted from before Alembic with some of these already present upgrades too.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from agent.store.schema import _Text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_REPO_TABLES = ("finding_events", "transitions", "llm_cache", "outcomes", "file_facts")
_OWNERS = {"finding_events": ("findings", "finding_id"), "transitions": ("proposals", "proposal_id"),
           "outcomes": ("findings", "finding_id")}
_KIND = {"approved": "review", "rejected": "review", "exported": "export"}  # other proposal states: "proposal"
_BATCH = 5000


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    bind = op.get_bind()
    for table in _REPO_TABLES:
        if "repo" not in _columns(table):
            op.add_column(table, sa.Column("repo", sa.Text))
            op.create_index(f"ix_{table}_repo", table, ["repo"])
        if table in _OWNERS:
            owner, key = _OWNERS[table]
            op.execute(f"UPDATE {table} SET repo = (SELECT {owner}.repo FROM {owner} WHERE {owner}.id = "
                       f"{table}.{key}) WHERE repo IS NULL")
    if "taken_at" not in _columns("scans"):
        op.add_column("scans", sa.Column("taken_at", sa.DateTime(timezone=True)))
        op.execute("UPDATE scans SET taken_at = at")
    names = set(sa.inspect(bind).get_table_names())
    if "repos" not in names:
        repos = op.create_table(
            "repos",
            sa.Column("repo", sa.Text, primary_key=True),
            sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("detail", sa.JSON, nullable=False),
        )
        known = set()
        for table in ("findings", "scans", "proposals", "verdicts"):
            known |= {r[0] for r in bind.execute(sa.text(f"SELECT DISTINCT repo FROM {table}")) if r[0]}
        now = datetime.now(UTC)
        if known:
            op.bulk_insert(repos, [{"repo": r, "added_at": now, "detail": {}} for r in sorted(known)])
    if "events" not in names:
        events = op.create_table(
            "events",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("repo", sa.Text),
            sa.Column("actor", _Text(300), nullable=False),
            sa.Column("kind", sa.String(40), nullable=False),
            sa.Column("subject", sa.String(64), nullable=False),
            sa.Column("detail", sa.JSON, nullable=False),
        )
        op.create_index("ix_events_kind", "events", ["kind"])
        op.create_index("ix_events_subject", "events", ["subject"])
        op.create_index("ix_events_repo_at", "events", ["repo", "at"])
        _backfill_events(bind, events)


def _backfill_events(bind, events: sa.Table) -> None:
    """Events for the history written before the events table: in id order per source, in batches."""
    when = sa.DateTime(timezone=True)
    scans = sa.table("scans", *(sa.column(c) for c in ("id", "repo", "tool", "scope", "source", "full")),
                     sa.column("taken_at", when), sa.column("summary", sa.JSON))
    changes = sa.table("finding_events", *(sa.column(c) for c in ("id", "finding_id", "repo", "actor", "from_status",
                                                                    "to_status", "comment")), sa.column("at", when))
    moves = sa.table("transitions", *(sa.column(c) for c in ("id", "proposal_id", "repo", "actor", "from_state",
                                                               "to_state", "comment", "override", "target")),
                     sa.column("at", when))
    proposals = sa.table("proposals", sa.column("id"), sa.column("finding_id"))
    sources = (
        (sa.select(scans).order_by(scans.c.id),
         lambda r: {"at": r.taken_at, "repo": r.repo, "actor": "scanner", "kind": "scan", "subject": str(r.id),
                    "detail": {"tool": r.tool, "scope": r.scope, "source": r.source, "full": bool(r.full),
                               "counts": r.summary, "backfilled": True}}),
        (sa.select(changes).order_by(changes.c.id),
         lambda r: {"at": r.at, "repo": r.repo, "actor": r.actor, "kind": "finding", "subject": r.finding_id,
                    "detail": {"from": r.from_status, "to": r.to_status, "comment": r.comment, "backfilled": True}}),
        (sa.select(moves, proposals.c.finding_id).select_from(
            moves.outerjoin(proposals, proposals.c.id == moves.c.proposal_id)).order_by(moves.c.id),
         lambda r: {"at": r.at, "repo": r.repo, "actor": r.actor, "kind": _KIND.get(r.to_state, "proposal"),
                    "subject": r.proposal_id,
                    "detail": {"from": r.from_state, "to": r.to_state, "comment": r.comment,
                               "override": bool(r.override), "target": r.target, "finding_id": r.finding_id,
                               "backfilled": True}}),
    )
    for query, to_event in sources:
        rows = bind.execute(query).all()
        for start in range(0, len(rows), _BATCH):
            op.bulk_insert(events, [to_event(r) for r in rows[start:start + _BATCH]])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("repos")
    op.drop_column("scans", "taken_at")
    for table in _REPO_TABLES:
        op.drop_index(f"ix_{table}_repo", table)
        op.drop_column(table, "repo")
