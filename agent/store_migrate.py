"""Bring a store written by an older suture up to the current tables when it is opened.

* a nullable column the tables declare but the file lacks is added (`ALTER TABLE … ADD COLUMN`, plain SQL);
* the history written before the hash chain existed is sealed once, as found, into the chain (each such row
  marked `migrated` in its facts: the chain proves nothing about what happened to it before that moment);
* the chain head (`audit_heads`) is created.

A row written later without a link (an old suture still running against a migrated store, or a plain SQL
insert) is not sealed: `suture audit verify` reports it. Safe when several processes open one store at once: the
work happens under the store's write lock and is re-checked there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from agent.models import Proposal
from agent.review.audit import CHAIN, GENESIS, link_hash, proposal_facts
from agent.store_schema import _meta, audit_heads_t, proposals_t, transitions_t


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the store's write lock from its first statement (SQLite: BEGIN IMMEDIATE), so
    a read-check-write inside it is atomic across processes. Elsewhere a plain transaction: callers still
    compare-and-set (UPDATE … WHERE state = :expected) and check row counts."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


def _missing_columns(conn: Connection) -> list[sa.Column]:
    inspector = sa.inspect(conn)
    missing = []
    for table in _meta.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [c for c in table.columns if c.name not in have and c.nullable]
    return missing


def _needs_work(conn: Connection) -> bool:
    if _missing_columns(conn):
        return True
    return conn.execute(sa.select(audit_heads_t.c.seq).where(audit_heads_t.c.name == CHAIN)).first() is None


def migrate(engine: Engine) -> None:
    """Add missing columns, seal old history into the chain and create its head; a no-op on a current store."""
    with engine.connect() as conn:
        if not _needs_work(conn):
            return
    with writing(engine) as conn:
        preparer = conn.dialect.identifier_preparer
        for column in _missing_columns(conn):
            conn.exec_driver_sql(f"ALTER TABLE {preparer.format_table(column.table)} ADD COLUMN "
                                 f"{preparer.format_column(column)} {column.type.compile(conn.dialect)}")
        for index in transitions_t.indexes:
            index.create(conn, checkfirst=True)
        if conn.execute(sa.select(audit_heads_t.c.seq).where(audit_heads_t.c.name == CHAIN)).first() is None:
            seq, head = _seal_old_history(conn)
            conn.execute(audit_heads_t.insert().values(name=CHAIN, seq=seq, hash=head))


def _seal_old_history(conn: Connection) -> tuple[int, str]:
    proposals = {pid: Proposal.model_validate(data)
                 for pid, data in conn.execute(sa.select(proposals_t.c.id, proposals_t.c.data))}
    rows = conn.execute(sa.select(transitions_t).order_by(transitions_t.c.id)).mappings().all()
    prev, seq = GENESIS, 0
    for old in rows:
        seq += 1
        proposal = proposals.get(old["proposal_id"])
        facts = {**(proposal_facts(proposal) if proposal else {}), "migrated": True}
        row = {**old, "seq": seq, "override": (old["comment"] or "").startswith("OVERRIDE"), "target": None,
               "facts": facts}
        digest = link_hash(prev, row)
        conn.execute(transitions_t.update().where(transitions_t.c.id == old["id"]).values(
            seq=seq, prev_hash=prev, hash=digest, override=row["override"], target=None, facts=facts))
        prev = digest
    return seq, prev
