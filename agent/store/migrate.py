"""Create a store, or bring one written by an older suture up to the current tables, when it is opened.

The schema's history is a chain of Alembic revisions (agent/store/migrations/versions/), run programmatically: no
alembic.ini is needed, the revisions ship inside the package. Opening a store:

* a store at the newest revision: nothing to do (one read of `alembic_version`);
* an empty database: every revision runs, creating the tables;
* a store written before Alembic (it has suture's tables but no `alembic_version`): every revision runs too; the
  first (0001, agent.store.legacy.adopt) creates only what is missing, adds missing columns and seals the old
  history into the hash chain, so the store is brought to the baseline in place; no row is lost.

All of it happens in one transaction under the store's write lock (agent.store.base.writing: BEGIN IMMEDIATE on
SQLite, the advisory lock on PostgreSQL) and is re-checked there, so several processes opening one store at once
migrate it once; a failure part-way leaves the store as it was (PostgreSQL and SQLite both roll DDL back).

Rows without a repo (written before the `repo` column existed, or by a caller that named none) are given to the
repo of the project opening the store: an old store is one project's `.suture/`, and its opener is that project.
The shared caches (LLM replies, file facts) are not claimed: their rows serve every repo.

Developers add a revision with `alembic -c agent/store/migrations/alembic.ini revision -m "…" --rev-id 000N`.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from agent.store.base import StoreError, writing
from agent.store.schema import _meta

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPTS = Path(__file__).with_name("migrations")
_OWN_TABLES = {"audit_heads", "repos"}  # the store's own: no repo column
# Alembic keeps its running context and loaded revision scripts in module globals: one thread at a time in it
# (threads opening stores at once, e.g. the eval runner's workers, otherwise fail inside alembic).
_ALEMBIC = threading.RLock()
_SHARED_CACHES = {"llm_cache", "file_facts"}  # rows shared by every repo; `repo` says who wrote one, if known


def _config(conn: Connection | None = None) -> Config:
    from alembic.config import Config  # alembic is imported when a store is opened, not with suture

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = conn  # env.py runs the revisions on this connection (in its transaction)
    return config


@cache
def _revisions() -> tuple[str, frozenset[str]]:
    """(the newest revision, every revision) this suture ships; read once per process."""
    from alembic.script import ScriptDirectory

    with _ALEMBIC:
        scripts = ScriptDirectory.from_config(_config())
        head = scripts.get_current_head()
        assert head is not None
        return head, frozenset(script.revision for script in scripts.walk_revisions())


def head_revision() -> str:
    return _revisions()[0]


def _known(revision: str | None) -> None:
    """Refuse a store whose schema revision this suture does not ship (written by a newer suture)."""
    if revision is None:
        return
    if revision not in _revisions()[1]:
        raise StoreError(f"the store was written by a newer version of suture (schema revision {revision}); "
                         "upgrade suture to use it")


def current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _repo_tables() -> list[sa.Table]:
    return [t for t in _meta.sorted_tables if "repo" in t.c and t.name not in _OWN_TABLES | _SHARED_CACHES]


def _unowned(conn: Connection) -> list[sa.Table]:
    return [t for t in _repo_tables()
            if conn.execute(sa.select(t.c.repo).where(t.c.repo.is_(None)).limit(1)).first() is not None]


def _needs_work(conn: Connection, repo: str | None, head: str) -> bool:
    current = current_revision(conn)
    _known(current)
    if current != head:
        return True
    return repo is not None and bool(_unowned(conn))


def migrate(engine: Engine, repo: str | None = None) -> None:
    """Create or upgrade the store's tables to the newest revision and give rows without a repo to `repo` (when
    given); a no-op on a current store. SQLite and PostgreSQL."""
    head = head_revision()
    with engine.connect() as conn:
        if not _needs_work(conn, repo, head):
            return
    with writing(engine) as conn:
        upgrade(conn)
        if repo is not None:
            for table in _unowned(conn):
                conn.execute(table.update().where(table.c.repo.is_(None)).values(repo=repo))


def upgrade(conn: Connection, revision: str = "head") -> None:
    """Run the revisions up to `revision` on `conn` (inside the caller's transaction, under its lock)."""
    from alembic import command

    _known(current_revision(conn))
    with _ALEMBIC:
        command.upgrade(_config(conn), revision)
