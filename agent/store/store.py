"""The store: persistence for every record, and the one place where state rules are enforced.

SQLite in `.suture/suture.db` by default, or PostgreSQL (psycopg 3) for a store shared by several projects and
people: the same SQLAlchemy Core code, chosen by the URL (agent/store/url.py). Records are stored whole as JSON
next to the columns we query by. A store opened for a repo (its key, agent.store.url.repo_key) writes that key on
every project row and reads only that repo's findings, scans, proposals and verdicts; opened without one, it
reads the whole store.

The parts are mixed in here: findings (agent/store/findings.py), scans (scans.py), proposals with their state
rules and hash-chained history (proposals.py). Opening a store written by an older suture migrates it first
(agent/store/migrate.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from agent.models import Verdict, utcnow
from agent.store.base import StoreError
from agent.store.campaigns import CampaignStore
from agent.store.events import EventStore
from agent.store.findings import FindingStore
from agent.store.migrate import migrate
from agent.store.proposals import ProposalStore
from agent.store.scans import ScanStore
from agent.store.schema import _json_text, _sqlite_pragmas, llm_cache_t, verdicts_t
from agent.store.url import redact, store_url


class Store(FindingStore, ScanStore, ProposalStore, EventStore, CampaignStore):
    """All reads and writes of suture's records. Use `Store.open(path)` or `Store(url, repo)`.

    `url`: a SQLAlchemy URL (sqlite:///PATH or postgresql+psycopg://…, see agent.store.url.store_url). A store
    that cannot be reached or created is one StoreError naming it (password hidden)."""

    def __init__(self, url: str, repo: str | None = None) -> None:
        url = store_url(str(url), Path("suture.db"))  # postgresql:// means psycopg 3 (SQLAlchemy: psycopg2)
        self.url = url
        self.repo = repo
        self.engine: Engine = sa.create_engine(url, future=True, json_serializer=_json_text)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.engine.dialect.name == "postgresql":
            sa.event.listen(self.engine, "connect", _postgres_session)
        try:
            migrate(self.engine, repo)
            if repo is not None:
                self.add_repo(repo)  # registered on first use
        except sa.exc.DBAPIError as exc:  # unreachable, refused, not a database, no permission to create
            self.engine.dispose()
            reason = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() else "unreachable"
            raise StoreError(f"cannot open the store {redact(url)}: {reason}") from None

    @classmethod
    def open(cls, db_path: Path, repo: str | None = None) -> Store:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{db_path}", repo)

    def _mine(self, table: sa.Table) -> sa.ColumnElement[bool]:
        """The rows of this store's repo (all rows when it was opened without one)."""
        return sa.true() if self.repo is None else table.c.repo == self.repo

    def close(self) -> None:
        self.engine.dispose()

    # ---------------------------------------------------------------- verdicts
    def save_verdict(self, finding_id: str, verdict: Verdict, engine: str) -> None:
        """Keep a verdict (e.g. from `suture classify`). A verdict never changes a finding's status by itself."""
        with self.engine.begin() as conn:
            conn.execute(verdicts_t.insert().values(
                finding_id=finding_id, engine=engine, at=utcnow(), data=json.loads(verdict.model_dump_json()),
                repo=self.repo,
            ))

    def latest_verdicts(self) -> dict[str, Verdict]:
        """The newest verdict per finding."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(verdicts_t.c.finding_id, verdicts_t.c.data)
                                .where(self._mine(verdicts_t)).order_by(verdicts_t.c.id))
            return {fid: Verdict.model_validate(data) for fid, data in rows}
    # --------------------------------------------------------------- llm cache
    def cache_get(self, key: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(llm_cache_t.c.value).where(llm_cache_t.c.key == key)).first()
        return None if row is None else row[0]

    def cache_put(self, key: str, value: dict) -> None:
        with self.engine.begin() as conn:
            conn.execute(llm_cache_t.delete().where(llm_cache_t.c.key == key))
            conn.execute(llm_cache_t.insert().values(key=key, value=value, at=utcnow(), repo=self.repo))


def _postgres_session(dbapi_conn, _record) -> None:
    """Times come back in UTC whatever the server's default zone (history lines say "UTC")."""
    with dbapi_conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
    dbapi_conn.commit()


class StoreResponseCache:
    """The LLM response cache protocol (get/put) backed by the store, so re-runs cost nothing."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, key: str) -> dict | None:
        return self.store.cache_get(key)

    def put(self, key: str, value: dict) -> None:
        self.store.cache_put(key, value)

