"""What every part of the store shares: its error and its write lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from agent.errors import SutureError

# PostgreSQL: the store's write lock is this transaction-level advisory lock (one number per database).
WRITE_LOCK = 0x5375747572  # "Sutur"


class StoreError(SutureError):
    """A request the store refuses (unknown id, illegal state change, unreachable store)."""


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the store's write lock from its first statement, so a read-check-write inside
    it is atomic across processes and machines: SQLite takes its write lock (BEGIN IMMEDIATE); PostgreSQL takes
    the store's advisory lock (`pg_advisory_xact_lock`), released at commit or rollback. Callers still
    compare-and-set (UPDATE … WHERE state = :expected) and check row counts; writers that do not come through
    here (ingest) never move a state a writer under the lock has read."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(WRITE_LOCK)))
        yield conn


@contextmanager
def nothing() -> Iterator[None]:
    yield
