"""Persistence for every record, and the one place where state rules are enforced.

SQLite in `.suture/suture.db` by default, or PostgreSQL (psycopg 3) for a store shared by several projects and
people: the same SQLAlchemy Core code, chosen by the URL (agent/store_url.py). Records are stored whole as JSON
next to the columns we query by. A store opened for a repo (its key, agent.store_url.repo_key) writes that key on
every project row and reads only that repo's findings, scans, proposals and verdicts; opened without one, it
reads the whole store.

Proposals, their state rules and their hash-chained history live in agent/store_proposals.py (mixed in here).
Opening a store written by an older suture migrates it first (agent/store_migrate.py).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from agent.errors import SutureError
from agent.gc_pause import paused_gc
from agent.models import Finding, Verdict, utcnow
from agent.review.identity import check_reviewer
from agent.store_migrate import migrate, writing
from agent.store_proposals import ProposalStore, StoreError
from agent.store_schema import (
    _data_row,
    _finding_from_json,
    _finding_row,
    _instant,
    _json_text,
    _meta,
    _sqlite_pragmas,
    finding_events_t,
    findings_t,
    llm_cache_t,
    scans_t,
    verdicts_t,
)
from agent.store_url import redact, store_url

__all__ = ["Store", "StoreError", "StoreResponseCache"]

_UPDATE_FINDING = findings_t.update().where(findings_t.c.id == sa.bindparam("b_id")).values(
    tool=sa.bindparam("b_tool"), scope=sa.bindparam("b_scope"), rule_id=sa.bindparam("b_rule_id"),
    path=sa.bindparam("b_path"), status=sa.bindparam("b_status"), data=sa.bindparam("b_data"),
)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


SCAN_BATCH = 2000  # findings merged per statement batch by record_scan (memory: a few MB per batch)


def _batches(items: Iterable[Finding], size: int) -> Iterator[list[Finding]]:
    """`items` in lists of at most `size`, reading the next only when the last was handed out."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
        del chunk  # not held while the next one is read


class Store(ProposalStore):
    """All reads and writes of suture's records. Use `Store.open(path)` or `Store(url, repo)`.

    `url`: a SQLAlchemy URL (sqlite:///PATH or postgresql+psycopg://…, see agent.store_url.store_url). A store
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
            self._create_tables()
            migrate(self.engine, repo)
        except sa.exc.DBAPIError as exc:  # unreachable, refused, not a database, no permission to create
            self.engine.dispose()
            reason = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() else "unreachable"
            raise StoreError(f"cannot open the store {redact(url)}: {reason}") from None

    def _create_tables(self) -> None:
        if self.engine.dialect.name != "postgresql":
            _meta.create_all(self.engine)
            return
        # several processes may open a new database at once: create under the store's write lock
        names = set(sa.inspect(self.engine).get_table_names())
        if any(t.name not in names for t in _meta.sorted_tables):
            with writing(self.engine) as conn:
                _meta.create_all(conn)

    @classmethod
    def open(cls, db_path: Path, repo: str | None = None) -> Store:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{db_path}", repo)

    def _mine(self, table: sa.Table) -> sa.ColumnElement[bool]:
        """The rows of this store's repo (all rows when it was opened without one)."""
        return sa.true() if self.repo is None else table.c.repo == self.repo

    def _data_text(self) -> sa.ColumnElement:
        """findings.data as the JSON text stored (PostgreSQL's driver would parse a json column itself)."""
        if self.engine.dialect.name == "postgresql":
            return sa.cast(findings_t.c.data, sa.Text)
        return sa.type_coerce(findings_t.c.data, sa.Text)

    def close(self) -> None:
        self.engine.dispose()

    # ---------------------------------------------------------------- findings
    def get_finding(self, finding_id: str) -> Finding:
        with self.engine.connect() as conn:
            mine = self._mine(findings_t)
            row = conn.execute(sa.select(findings_t.c.data).where(findings_t.c.id == finding_id, mine)).first()
            if row is None:
                matches = conn.execute(
                    sa.select(findings_t.c.data).where(findings_t.c.id.startswith(finding_id, autoescape=True), mine)
                ).all() if len(finding_id) >= 4 else []
                if len(matches) == 1:
                    row = matches[0]
                elif len(matches) > 1:
                    raise StoreError(f"finding id {finding_id!r} is ambiguous ({len(matches)} matches)")
        if row is None:
            raise StoreError(f"no finding with id {finding_id!r} (see `suture triage`)")
        return Finding.model_validate(row[0])

    def list_findings(self, status: str | Iterable[str] | None = "open") -> list[Finding]:
        # the raw JSON text straight into pydantic's parser: twice as fast as json.loads + validate on big stores
        query = sa.select(self._data_text()).where(self._mine(findings_t))
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            query = query.where(findings_t.c.status.in_(wanted))
        with self.engine.connect() as conn, paused_gc():
            return [_finding_from_json(r[0]) for r in conn.execute(query.order_by(findings_t.c.id))]

    def scan_already_ingested(self, content_hash: str) -> bool:
        with self.engine.connect() as conn:
            q = sa.select(scans_t.c.id).where(scans_t.c.content_hash == content_hash, self._mine(scans_t))
            return conn.execute(q).first() is not None

    def record_scan(
        self, *, tool: str, scope: str, source: str, content: bytes | None = None, findings: Iterable[Finding],
        full: bool, summary: dict | None = None, at: datetime | None = None, content_hash: str | None = None,
        batch: int | None = None,
    ) -> dict[str, int]:
        """Merge one scan's findings. Returns counts: new, updated, reopened, fixed, unchanged, duplicate_scan.

        `findings` is any iterable (a list, a generator, a streamed log's sarif_spill.SpilledFindings). It is read
        once, `batch` (default SCAN_BATCH) findings at a time; only that batch and the ids seen so far are held,
        so a scan of any size merges in bounded memory, all in one transaction (a failure part-way writes nothing).

        `full` says the caller holds the evidence to close: a successful scan of the whole scope whose results
        were all placed (agent.ingest.closing). Such a scan marks findings of the same scope that it no longer
        reports as `fixed` (with the time). A reported finding that is `fixed` is re-opened, always.

        Dedupe is keyed on the content: `content_hash` (hex sha256 of it, for callers that hash a file in
        chunks) or `content` itself; give exactly one. It guards closing only: content seen before closes nothing
        again (an old log replayed must not close what newer scans found) and leaves the findings it reports as
        they are, except that a `fixed` one is re-opened: the log is evidence that it exists, and this is how a
        finding closed without evidence (a failed or partial log, by older versions) is repaired. So the same
        content twice changes nothing in a consistent store. The first report of an id wins. Reads and writes go
        in batches, so a scan of 100,000 results is a few hundred statements, not 100,000 round trips.
        """
        if (content is None) == (content_hash is None):
            raise ValueError("record_scan takes exactly one of content and content_hash")
        at = at or utcnow()
        content_hash = content_hash if content is None else hashlib.sha256(content).hexdigest()
        counts = {"new": 0, "updated": 0, "reopened": 0, "fixed": 0, "unchanged": 0, "duplicate_scan": 0}
        duplicate = self.scan_already_ingested(content_hash)
        counts["duplicate_scan"] = int(duplicate)
        self._merge_scan(tool, scope, source, content_hash, findings, full and not duplicate, summary, at, counts,
                         duplicate, max(1, batch or SCAN_BATCH))
        return counts

    def _merge_scan(
        self, tool: str, scope: str, source: str, content_hash: str, findings: Iterable[Finding], full: bool,
        summary: dict | None, at: datetime, counts: dict[str, int], duplicate: bool = False,
        batch: int = SCAN_BATCH,
    ) -> None:
        with writing(self.engine) as conn:  # one ingest at a time: two merging one id would both insert it
            seen: set[str] = set()  # every id the scan reports: closing needs these, not the findings
            for chunk in _batches(findings, batch):
                unique = [f for f in chunk if f.id not in seen and not seen.add(f.id)]  # first report wins
                with paused_gc():  # the rows built for the batch are freed before the collector runs again
                    self._merge_batch(conn, tool, scope, unique, at, counts, duplicate)
                del chunk, unique  # before the next batch is read: one batch in memory at a time
            if full:
                self._close_unreported(conn, tool, scope, seen, at, counts, batch)
            if not duplicate or any(counts[k] for k in ("new", "updated", "reopened", "fixed")):
                conn.execute(scans_t.insert().values(
                    tool=tool, scope=scope, source=source, content_hash=content_hash, full=full, at=at,
                    summary={**(summary or {}), **counts}, repo=self.repo,
                ))

    def _merge_batch(self, conn: Connection, tool: str, scope: str, unique: list[Finding], at: datetime,
                     counts: dict[str, int], duplicate: bool) -> None:
        """Insert or merge one batch of a scan's findings (ids unique within the scan), counting into `counts`."""
        existing = self._finding_data_by_id(conn, [f.id for f in unique], self.repo)
        stamp = at.isoformat()
        inserts: list[dict] = []
        updates: list[dict] = []
        events: list[dict] = []
        for finding in unique:
            old = existing.get(finding.id)
            if old is None:
                new = finding.model_copy(update={"first_seen": at, "last_seen": at, "status": "open"})
                inserts.append({**_finding_row(new, scope), "repo": self.repo})
                counts["new"] += 1
                continue
            if duplicate and old["status"] != "fixed":
                counts["unchanged"] += 1
                continue
            # merge on the stored JSON directly: validating 100,000 records per re-scan costs seconds
            fresh = finding.model_dump(mode="json", include={"location", "flow", "message"})
            data = {**old, **fresh, "last_seen": max(old["last_seen"], stamp, key=_instant)}
            if old["status"] == "fixed":
                data.update(status="open", fixed_at=None)
                again = " (a log ingested before)" if duplicate else ""
                events.append({"finding_id": finding.id, "from_status": "fixed", "to_status": "open",
                               "actor": "scanner", "at": at, "comment": f"reported again by {tool}{again}"})
                counts["reopened"] += 1
            else:
                counts["updated"] += 1
            updates.append(_data_row(data, scope))
        self._write_batch(conn, inserts, events, updates)

    def _close_unreported(self, conn: Connection, tool: str, scope: str, seen: set[str], at: datetime,
                          counts: dict[str, int], batch: int) -> None:
        """Mark `fixed` the open findings of `scope` that a full scan did not report (ids in `seen`), in batches."""
        open_ids = conn.execute(sa.select(findings_t.c.id).where(
            findings_t.c.scope == scope, findings_t.c.status == "open", self._mine(findings_t))).scalars().all()
        gone = [fid for fid in open_ids if fid not in seen]
        del open_ids
        stamp = at.isoformat()
        for i in range(0, len(gone), batch):
            updates: list[dict] = []
            events: list[dict] = []
            with paused_gc():
                for fid, data in self._finding_data_by_id(conn, gone[i:i + batch], self.repo).items():
                    updates.append(_data_row({**data, "status": "fixed", "fixed_at": stamp}, scope))
                    events.append({"finding_id": fid, "from_status": "open", "to_status": "fixed",
                                   "actor": "scanner", "at": at, "comment": f"not reported by a full {tool} scan"})
                    counts["fixed"] += 1
                self._write_batch(conn, [], events, updates)

    @staticmethod
    def _write_batch(conn: Connection, inserts: list[dict], events: list[dict], updates: list[dict]) -> None:
        if inserts:
            conn.execute(findings_t.insert(), inserts)
        if events:
            conn.execute(finding_events_t.insert(), events)
        if updates:
            conn.execute(_UPDATE_FINDING, [{("b_" + k): v for k, v in row.items()} for row in updates])

    @staticmethod
    def _finding_data_by_id(conn: Connection, ids: list[str], repo: str | None = None,
                            chunk: int = 500) -> dict[str, dict]:
        """The stored JSON of these findings. With `repo`, an id the store holds for another repo is refused:
        ids are fingerprints of tool, rule, path and text, so two repos (a fork, a template) can report the same
        one, and the store keeps one row per id; merging it into the other repo's finding would be wrong."""
        found: dict[str, dict] = {}
        for i in range(0, len(ids), chunk):
            rows = conn.execute(sa.select(findings_t.c.data, findings_t.c.repo)
                                .where(findings_t.c.id.in_(ids[i:i + chunk])))
            for data, owner in rows:
                if repo is not None and owner is not None and owner != repo:
                    raise StoreError(f"finding {data['id'][:8]} ({data['rule_id']} in {data['location']['path']}) is "
                                     f"already in this store for repo {owner}; one store cannot hold the same finding "
                                     "for two repos yet: use a store per repo for these (--store)")
                found[data["id"]] = data
        return found

    def set_finding_status(
        self, finding_id: str, status: str, actor: str, comment: str | None = None, conn: Connection | None = None,
        *, expected: str | Iterable[str] | None = None,
    ) -> None:
        """Move a finding to `status`, logged with who and why: one compare-and-set (`UPDATE … WHERE status =
        :read`) so of concurrent changes exactly one lands. `expected` (a status or several) refuses the change,
        writing nothing, when the finding is no longer in one of them."""
        ctx = writing(self.engine) if conn is None else _nothing()
        with ctx as maybe_conn:
            c = conn or maybe_conn
            row = c.execute(
                sa.select(findings_t.c.data, findings_t.c.scope).where(findings_t.c.id == finding_id,
                                                                       self._mine(findings_t))
            ).first()
            if row is None:
                raise StoreError(f"no finding with id {finding_id!r}")
            old = Finding.model_validate(row[0])
            allowed = {expected} if isinstance(expected, str) else set(expected or ())
            if allowed and old.status not in allowed:
                raise StoreError(f"finding {old.short_id} is now {old.status}, not {' or '.join(sorted(allowed))}; "
                                 "someone changed it first")
            new = old.model_copy(update={"status": status})
            self._swap_finding(c, old, new, row[1])
            self._log_finding(c, finding_id, old.status, status, actor, utcnow(), comment)

    @staticmethod
    def _swap_finding(conn: Connection, old: Finding, new: Finding, scope: str | None) -> None:
        """Write `new` over `old` only if the stored status is still `old.status`; StoreError otherwise."""
        done = conn.execute(
            findings_t.update().where(findings_t.c.id == old.id, findings_t.c.status == old.status)
            .values(**_finding_row(new, scope))
        ).rowcount
        if done != 1:
            raise StoreError(f"finding {old.short_id} changed while it was being updated; try again")

    def finding_events(self, finding_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(finding_events_t).where(finding_events_t.c.finding_id == finding_id)
                .order_by(finding_events_t.c.id)
            ).mappings().all()
        return [dict(r) for r in rows]

    @staticmethod
    def _log_finding(conn: Connection, fid: str, old: str | None, new: str, actor: str, at: datetime,
                     comment: str | None) -> None:
        conn.execute(finding_events_t.insert().values(
            finding_id=fid, from_status=old, to_status=new, actor=actor, at=at, comment=comment
        ))

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

    # ---------------------------------------------------------- risk acceptance
    def accept_risk(self, finding_id: str, until: datetime, reason: str, actor: str) -> Finding:
        """A named person tolerates an open finding until a date; the reason is kept in the finding's events."""
        try:
            actor = check_reviewer(actor)
        except SutureError as exc:
            raise StoreError(f"accepting a risk needs a named person: {exc}") from None
        if not reason or not reason.strip():
            raise StoreError("accepting a risk needs a reason")
        if until <= utcnow():
            raise StoreError(f"the acceptance must end in the future, not {until:%Y-%m-%d}")
        finding_id = self.get_finding(finding_id).id
        with writing(self.engine) as conn:
            row = conn.execute(
                sa.select(findings_t.c.data, findings_t.c.scope).where(findings_t.c.id == finding_id)
            ).one()
            finding = Finding.model_validate(row[0])
            if finding.status not in ("open", "risk_accepted"):
                raise StoreError(f"finding {finding.short_id} is {finding.status}; only open findings can be accepted")
            new = finding.model_copy(update={"status": "risk_accepted", "risk_accepted_until": until})
            self._swap_finding(conn, finding, new, row[1])
            self._log_finding(conn, finding.id, finding.status, "risk_accepted", actor, utcnow(),
                              f"until {until.isoformat()}: {reason.strip()}")
        return new

    def expire_acceptances(self, now: datetime | None = None) -> list[str]:
        """Re-open findings whose risk acceptance has run out. Returns their ids."""
        now = now or utcnow()
        reopened = []
        with writing(self.engine) as conn:
            rows = conn.execute(
                sa.select(findings_t.c.data, findings_t.c.scope).where(findings_t.c.status == "risk_accepted",
                                                                       self._mine(findings_t))
            ).all()
            for data, scope in rows:
                f = Finding.model_validate(data)
                if f.risk_accepted_until is not None and f.risk_accepted_until <= now:
                    new = f.model_copy(update={"status": "open", "risk_accepted_until": None})
                    self._swap_finding(conn, f, new, scope)
                    self._log_finding(conn, f.id, "risk_accepted", "open", "suture", now, "risk acceptance expired")
                    reopened.append(f.id)
        return reopened

    # --------------------------------------------------------------- llm cache
    def cache_get(self, key: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(llm_cache_t.c.value).where(llm_cache_t.c.key == key)).first()
        return None if row is None else row[0]

    def cache_put(self, key: str, value: dict) -> None:
        with self.engine.begin() as conn:
            conn.execute(llm_cache_t.delete().where(llm_cache_t.c.key == key))
            conn.execute(llm_cache_t.insert().values(key=key, value=value, at=utcnow()))


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

