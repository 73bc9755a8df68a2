"""Bring a store written by an older suture up to the current tables when it is opened.

* a nullable column the tables declare but the file lacks is added (`ALTER TABLE … ADD COLUMN`, plain SQL);
* the history written before the hash chain existed is sealed once, as found, into the chain (each such row
  marked `migrated` in its facts: the chain proves nothing about what happened to it before that moment);
* the chain head (`audit_heads`) is created;
* rows without a repo (written before the `repo` column existed, or by a caller that named none) are given the
  repo of the project opening the store: an old store is one project's `.suture/`, and its opener is that project.

A row written later without a link (an old suture still running against a migrated store, or a plain SQL
insert) is not sealed: `suture audit verify` reports it. Safe when several processes open one store at once: the
work happens under the store's write lock and is re-checked there.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from agent.models import Proposal
from agent.review.audit import CHAIN, GENESIS, link_hash, proposal_facts
from agent.store.base import writing
from agent.store.schema import _meta, audit_heads_t, proposals_t, transitions_t


def _repo_tables() -> list[sa.Table]:
    return [t for t in _meta.sorted_tables if "repo" in t.c]


def _missing_columns(conn: Connection) -> list[sa.Column]:
    """Nullable columns the tables declare but the store lacks (one catalog query for all tables)."""
    have: dict[str, set[str]] = {}
    for (_schema, name), columns in sa.inspect(conn).get_multi_columns().items():
        have[name] = {c["name"] for c in columns}
    return [c for table in _meta.sorted_tables if table.name in have
            for c in table.columns if c.name not in have[table.name] and c.nullable]


def _unowned(conn: Connection) -> list[sa.Table]:
    return [t for t in _repo_tables()
            if conn.execute(sa.select(t.c.repo).where(t.c.repo.is_(None)).limit(1)).first() is not None]


def _needs_work(conn: Connection, repo: str | None) -> bool:
    if _missing_columns(conn):
        return True
    if conn.execute(sa.select(audit_heads_t.c.seq).where(audit_heads_t.c.name == CHAIN)).first() is None:
        return True
    return repo is not None and bool(_unowned(conn))


def migrate(engine: Engine, repo: str | None = None) -> None:
    """Add missing columns (and their indexes), give rows without a repo to `repo` (when given), seal old
    history into the chain and create its head; a no-op on a current store. SQLite and PostgreSQL."""
    with engine.connect() as conn:
        if not _needs_work(conn, repo):
            return
    with writing(engine) as conn:
        preparer = conn.dialect.identifier_preparer
        missing = _missing_columns(conn)
        for column in missing:
            conn.exec_driver_sql(f"ALTER TABLE {preparer.format_table(column.table)} ADD COLUMN "
                                 f"{preparer.format_column(column)} {column.type.compile(conn.dialect)}")
        for table in {transitions_t, *(c.table for c in missing)}:
            for index in table.indexes:
                index.create(conn, checkfirst=True)
        if repo is not None:
            for table in _unowned(conn):
                conn.execute(table.update().where(table.c.repo.is_(None)).values(repo=repo))
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
