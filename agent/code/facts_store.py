"""The per-file facts cache in the store (any SQLAlchemy engine the Store uses: SQLite or PostgreSQL).

One row per (path, content digest, facts version): the facts `agent.code.file_facts` derived from that exact
content, so a re-triage after a small change parses only the files whose bytes changed. The table is this
module's own (created on first use, additive): rows are a cache, never evidence — a row whose JSON does not read
back is ignored and the file parsed again. Rows carry no repo: they are keyed by the file's path and bytes, the
facts depend on nothing else, so projects sharing a store share them too. Creating the table and writing a batch
take the store's write lock (agent.store.base.writing), so processes sharing a PostgreSQL store never race.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from agent.store.base import writing

_meta = sa.MetaData()
file_facts_t = sa.Table(
    "file_facts", _meta,
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("facts", sa.Text, nullable=False),
)


class StoreFactsCache:
    """`FactsCache` over a store's engine. Writes are batched: `put_file_facts` queues, `flush` writes."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine
        if not sa.inspect(engine).has_table(file_facts_t.name):
            with writing(engine) as conn:
                _meta.create_all(conn)
        self._pending: dict[tuple[str, str, int], str] = {}

    def get_file_facts(self, path: str, digest: str, version: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(file_facts_t.c.facts).where(
                file_facts_t.c.path == path, file_facts_t.c.digest == digest,
                file_facts_t.c.version == version)).scalar()
        if text is None:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def put_file_facts(self, path: str, digest: str, version: int, facts: dict[str, Any]) -> None:
        self._pending[(path, digest, version)] = json.dumps(facts, separators=(",", ":"))
        if len(self._pending) >= 500:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        rows = [{"path": p, "digest": d, "version": v, "facts": f} for (p, d, v), f in self._pending.items()]
        keys = [(r["path"], r["digest"], r["version"]) for r in rows]
        with writing(self.engine) as conn:
            for path, digest, version in keys:
                conn.execute(file_facts_t.delete().where(
                    file_facts_t.c.path == path, file_facts_t.c.digest == digest, file_facts_t.c.version == version))
            conn.execute(file_facts_t.insert(), rows)
        self._pending.clear()
