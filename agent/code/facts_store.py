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

# a batch is written (one transaction: one commit, the costly part) at this many rows or JSON characters
FLUSH_ROWS = 5000
FLUSH_CHARS = 32 << 20

_meta = sa.MetaData()
file_facts_t = sa.Table(
    "file_facts", _meta,
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("facts", sa.Text, nullable=False),
)


class StoreFactsCache:
    """`FactsCache` over a store's engine. Writes are batched: `put_file_facts` queues, `flush` writes; reads
    can be too (`get_many`)."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine
        if not sa.inspect(engine).has_table(file_facts_t.name):
            with writing(engine) as conn:
                _meta.create_all(conn)
        self._pending: dict[tuple[str, str, int], str] = {}
        self._pending_chars = 0

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

    def get_many(self, keys: list[tuple[str, str]], version: int) -> dict[tuple[str, str], dict[str, Any]]:
        """The stored facts of many (path, digest) pairs at once (one query per 500 paths); pairs without a
        readable row are left out."""
        wanted = set(keys)
        paths = sorted({path for path, _ in keys})
        found: dict[tuple[str, str], dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(paths), 500):
                rows = conn.execute(sa.select(file_facts_t.c.path, file_facts_t.c.digest, file_facts_t.c.facts).where(
                    file_facts_t.c.version == version, file_facts_t.c.path.in_(paths[start:start + 500])))
                for path, digest, text in rows:
                    if (path, digest) not in wanted:
                        continue
                    try:
                        data = json.loads(text)
                    except ValueError:
                        continue
                    if isinstance(data, dict):
                        found[(path, digest)] = data
        return found

    @staticmethod
    def encode_file_facts(facts: dict[str, Any]) -> str:
        """The stored text of a file's facts (`put_file_facts_encoded` takes it: e.g. encoded in another process)."""
        return json.dumps(facts, separators=(",", ":"))

    def put_file_facts(self, path: str, digest: str, version: int, facts: dict[str, Any]) -> None:
        self.put_file_facts_encoded(path, digest, version, self.encode_file_facts(facts))

    def put_file_facts_encoded(self, path: str, digest: str, version: int, text: str) -> None:
        self._pending[(path, digest, version)] = text
        self._pending_chars += len(text)
        if len(self._pending) >= FLUSH_ROWS or self._pending_chars >= FLUSH_CHARS:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        rows = [{"path": p, "digest": d, "version": v, "facts": f} for (p, d, v), f in self._pending.items()]
        keys = [{"k_path": p, "k_digest": d, "k_version": v} for p, d, v in self._pending]
        with writing(self.engine) as conn:  # one statement each for the whole batch (executemany)
            conn.execute(file_facts_t.delete().where(
                file_facts_t.c.path == sa.bindparam("k_path"), file_facts_t.c.digest == sa.bindparam("k_digest"),
                file_facts_t.c.version == sa.bindparam("k_version")), keys)
            conn.execute(file_facts_t.insert(), rows)
        self._pending.clear()
        self._pending_chars = 0
