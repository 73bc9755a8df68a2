"""The store as suture wrote it before Alembic managed it, and how such a store joins Alembic's history.

`BASELINE` is a frozen copy of those tables (never change it: revision 0001 creates exactly these, and an old
store is brought to exactly these before it is stamped at 0001). Stores older still lacked some nullable columns
(`repo`, the hash chain's) and some tables; `adopt` adds them, seals the history written before the hash chain
existed into the chain (each such row marked `migrated` in its facts: the chain proves nothing about what
happened to it before that moment) and creates the chain head. A row written later without a link (an old suture
still running against a migrated store, or a plain SQL insert) is not sealed: `suture audit verify` reports it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agent.models import Proposal
from agent.review.audit import CHAIN, GENESIS, link_hash, proposal_facts
from agent.store.schema import _Text

BASELINE = sa.MetaData()
_findings = sa.Table(
    "findings", BASELINE,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("tool", _Text(64), nullable=False, index=True),
    sa.Column("scope", _Text(200), nullable=False, index=True),
    sa.Column("rule_id", _Text(300), nullable=False),
    sa.Column("path", _Text(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("repo", sa.Text, index=True),
)
_scans = sa.Table(
    "scans", BASELINE,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tool", _Text(64), nullable=False),
    sa.Column("scope", _Text(200), nullable=False),
    sa.Column("source", _Text(), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False, index=True),
    sa.Column("full", sa.Boolean, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("repo", sa.Text, index=True),
)
_proposals = sa.Table(
    "proposals", BASELINE,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("finding_id", sa.String(64), nullable=False, index=True),
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("engine", _Text(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("repo", sa.Text, index=True),
)
_transitions = sa.Table(
    "transitions", BASELINE,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("proposal_id", sa.String(64), nullable=False, index=True),
    sa.Column("from_state", sa.String(20)),
    sa.Column("to_state", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(300), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("comment", sa.Text),
    # the hash chain (agent/review/audit.py): number in the store's chain, links, and what the row is about
    sa.Column("seq", sa.Integer),
    sa.Column("prev_hash", sa.String(64)),
    sa.Column("hash", sa.String(64)),
    sa.Column("override", sa.Boolean),
    sa.Column("target", sa.Text),
    sa.Column("facts", sa.JSON),
    sa.Index("ux_transitions_seq", "seq", unique=True),
)
_audit_heads = sa.Table(
    "audit_heads", BASELINE,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
_finding_events = sa.Table(
    "finding_events", BASELINE,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("finding_id", sa.String(64), nullable=False, index=True),
    sa.Column("from_status", sa.String(20)),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("actor", _Text(300), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("comment", _Text()),
)
_verdicts = sa.Table(
    "verdicts", BASELINE,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("finding_id", sa.String(64), nullable=False, index=True),
    sa.Column("engine", _Text(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("repo", sa.Text, index=True),
)
_llm_cache = sa.Table(
    "llm_cache", BASELINE,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

_outcomes = sa.Table(  # created on first use by agent/outcomes.py then
    "outcomes", BASELINE,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("finding_id", sa.String(64), nullable=False),
    sa.Column("task", sa.String(20), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("final", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("proposal_id", sa.String(64)),
    sa.Column("detail", sa.JSON),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_outcomes_finding_task_key", "finding_id", "task", "key"),
)
_file_facts = sa.Table(  # created on first use by agent/code/facts_store.py then
    "file_facts", BASELINE,
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("facts", sa.Text, nullable=False),
)


def adopt(conn: Connection) -> None:
    """Bring a pre-Alembic store (any age) to BASELINE in place, keeping every row. Runs under the write lock."""
    preparer = conn.dialect.identifier_preparer
    have = {name: {c["name"] for c in columns}
            for (_schema, name), columns in sa.inspect(conn).get_multi_columns().items()}
    for table in BASELINE.sorted_tables:
        if table.name not in have:
            table.create(conn)
            continue
        missing = [c for c in table.columns if c.name not in have[table.name] and c.nullable]
        for column in missing:
            conn.exec_driver_sql(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN "
                                 f"{preparer.format_column(column)} {column.type.compile(conn.dialect)}")
        for index in table.indexes:
            index.create(conn, checkfirst=True)
    if conn.execute(sa.select(_audit_heads.c.seq).where(_audit_heads.c.name == CHAIN)).first() is None:
        seq, head = _seal_old_history(conn)
        conn.execute(_audit_heads.insert().values(name=CHAIN, seq=seq, hash=head))


def _seal_old_history(conn: Connection) -> tuple[int, str]:
    proposals = {pid: Proposal.model_validate(data)
                 for pid, data in conn.execute(sa.select(_proposals.c.id, _proposals.c.data))}
    rows = conn.execute(sa.select(_transitions).order_by(_transitions.c.id)).mappings().all()
    prev, seq = GENESIS, 0
    for old in rows:
        seq += 1
        proposal = proposals.get(old["proposal_id"])
        facts = {**(proposal_facts(proposal) if proposal else {}), "migrated": True}
        row = {**old, "seq": seq, "override": (old["comment"] or "").startswith("OVERRIDE"), "target": None,
               "facts": facts}
        digest = link_hash(prev, row)
        conn.execute(_transitions.update().where(_transitions.c.id == old["id"]).values(
            seq=seq, prev_hash=prev, hash=digest, override=row["override"], target=None, facts=facts))
        prev = digest
    return seq, prev
