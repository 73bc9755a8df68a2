"""Scans in the store: merging one scan's findings, and closing what a full scan no longer reports."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic_core import from_json
from sqlalchemy.engine import Connection

from agent.gc_pause import paused_gc
from agent.models import Finding, utcnow
from agent.store.base import StoreError, writing
from agent.store.bulk import bulk_page_cache, first_report_json, insert_rows, time_json, update_rows
from agent.store.events import FINDING, SCAN, event_row, write_events
from agent.store.schema import JsonText, _instant, _json_text, events_t, finding_events_t, findings_t, scans_t

_INSERTED = ("id", "tool", "scope", "rule_id", "path", "status", "data", "repo")  # a first-reported finding's row
_UPDATED = ("tool", "scope", "rule_id", "path", "status", "data")  # what a merge rewrites (then the id: _updated)
_EVENT = ("at", "repo", "actor", "kind", "subject", "detail")  # events.event_row's columns
_LOGGED = ("finding_id", "from_status", "to_status", "actor", "at", "comment", "repo")  # a finding_events row
_Change = tuple[str, str | None, str, str]  # a status change a scan makes: finding id, from (None: born), to, why
SCAN_BATCH = 2000  # findings merged per statement batch by record_scan (memory: a few MB per batch)


def _batches(items: Iterable[Finding], size: int) -> Iterator[list[Finding]]:
    """`items` in lists of at most `size`, reading the next only when the last was handed out."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
        del chunk  # not held while the next one is read


class ScanStore:
    """The scan half of `agent.store.Store` (which provides `engine`, `repo` and `_mine`)."""

    engine: Any
    repo: str | None

    if TYPE_CHECKING:
        def _mine(self, table: sa.Table) -> sa.ColumnElement[bool]: ...  # Store's

    def scan_already_ingested(self, content_hash: str) -> bool:
        with self.engine.connect() as conn:
            q = sa.select(scans_t.c.id).where(scans_t.c.content_hash == content_hash, self._mine(scans_t))
            return conn.execute(q).first() is not None

    def record_scan(
        self, *, tool: str, scope: str, source: str, content: bytes | None = None, findings: Iterable[Finding],
        full: bool, summary: dict | None = None, taken_at: datetime | None = None, content_hash: str | None = None,
        batch: int | None = None, at: datetime | None = None,
    ) -> dict[str, int]:
        """Merge one scan's findings. Returns counts: new, updated, reopened, fixed, unchanged, duplicate_scan.

        `taken_at` (default now; `at` is its older name) is when the scan was taken: a caller backfilling history
        from CI artifacts gives the artifact's time. Findings' first_seen, last_seen and fixed_at are scan times,
        so scans may arrive in any order: an older scan moves a first_seen back, closes nothing seen after it, and
        re-opens nothing fixed after it (a fixed finding it reports keeps its status; one it misses that a later
        full scan closed is fixed at this scan's time instead, the earlier evidence). Backfill oldest first: a
        scan closes only findings the store holds when it is recorded (scans keep no list of what they reported).

        `findings` is any iterable (a list, a generator, a streamed log's sarif_spill.SpilledFindings). It is read
        once, `batch` (default SCAN_BATCH) findings at a time; only that batch and the ids seen so far are held,
        so a scan of any size merges in bounded memory, all in one transaction (a failure part-way writes nothing).

        `full` says the caller holds the evidence to close: a successful scan of the whole scope whose results
        were all placed (agent.ingest.closing). Such a scan marks findings of the same scope that it no longer
        reports as `fixed` at its taken_at. A reported finding that is `fixed` is re-opened (unless the scan was
        taken before it was fixed).

        Dedupe is keyed on the content: `content_hash` (hex sha256 of it, for callers that hash a file in
        chunks) or `content` itself; give exactly one. It guards closing only: content seen before closes nothing
        again (an old log replayed must not close what newer scans found) and leaves the findings it reports as
        they are, except that a `fixed` one is re-opened: the log is evidence that it exists, and this is how a
        finding closed without evidence (a failed or partial log, by older versions) is repaired. So the same
        content twice changes nothing in a consistent store. The first report of an id wins. Reads and writes go
        in batches, so a scan of 100,000 results is a few hundred statements, not 100,000 round trips.

        The scan, each finding first seen and each status change are events (agent.store.events) in the same
        transaction, at taken_at.
        """
        if (content is None) == (content_hash is None):
            raise ValueError("record_scan takes exactly one of content and content_hash")
        taken = taken_at or at or utcnow()
        taken = taken if taken.tzinfo is not None else taken.replace(tzinfo=UTC)  # a naive time is UTC
        if content is not None:
            content_hash = hashlib.sha256(content).hexdigest()
        assert content_hash is not None  # exactly one of content and content_hash, checked above
        counts = {"new": 0, "updated": 0, "reopened": 0, "fixed": 0, "unchanged": 0, "duplicate_scan": 0}
        duplicate = self.scan_already_ingested(content_hash)
        counts["duplicate_scan"] = int(duplicate)
        self._merge_scan(tool, scope, source, content_hash, findings, full and not duplicate, summary, taken,
                         counts, duplicate, max(1, batch or SCAN_BATCH))
        return counts

    def _merge_scan(
        self, tool: str, scope: str, source: str, content_hash: str, findings: Iterable[Finding], full: bool,
        summary: dict | None, at: datetime, counts: dict[str, int], duplicate: bool = False,
        batch: int = SCAN_BATCH,
    ) -> None:
        # the collector stays off for the whole scan: the rows built are freed by reference counting (no cycles),
        # and a collection between batches would walk every finding the caller holds (seconds at 100,000)
        # one ingest at a time (two merging one id would both insert it), with a page cache its inserts fit in
        with writing(self.engine) as conn, bulk_page_cache(conn), paused_gc():
            seen: set[str] = set()  # every id the scan reports: closing needs these, not the findings
            for chunk in _batches(findings, batch):
                unique = []
                for f in chunk:
                    if f.id not in seen:  # first report wins
                        seen.add(f.id)
                        unique.append(f)
                self._merge_batch(conn, tool, scope, unique, at, counts, duplicate)
                del chunk, unique  # before the next batch is read: one batch in memory at a time
            if full:
                self._close_unreported(conn, tool, scope, seen, at, counts, batch)
            if not duplicate or any(counts[k] for k in ("new", "updated", "reopened", "fixed")):
                recorded = utcnow()
                scan_id = conn.execute(scans_t.insert().values(
                    tool=tool, scope=scope, source=source, content_hash=content_hash, full=full, at=recorded,
                    taken_at=at, summary={**(summary or {}), **counts}, repo=self.repo,
                )).inserted_primary_key[0]  # type: ignore[index]  # an INSERT of one row has its key
                write_events(conn, [event_row(at, self.repo, "scanner", SCAN, str(scan_id), {
                    "tool": tool, "scope": scope, "source": source, "full": full, "counts": counts,
                    "recorded_at": recorded.isoformat()})])

    def _merge_batch(self, conn: Connection, tool: str, scope: str, unique: list[Finding], at: datetime,
                     counts: dict[str, int], duplicate: bool) -> None:
        """Insert or merge one batch of a scan's findings (ids unique within the scan), counting into `counts`."""
        existing = self._finding_data_by_id(conn, [f.id for f in unique], self.repo)
        stamp = at.isoformat()
        first_seen = time_json(at)
        born = f"first reported by {tool}"
        repo = self.repo
        inserts: list[tuple] = []
        updates: list[tuple] = []
        changes: list[_Change] = []
        for finding in unique:
            old = existing.get(finding.id)
            if old is None:
                fid = finding.id
                inserts.append((fid, finding.tool, scope, finding.rule_id, finding.location.path, "open",
                                first_report_json(finding, first_seen, at), repo))
                changes.append((fid, None, "open", born))
                continue
            if duplicate and old["status"] != "fixed":
                counts["unchanged"] += 1
                continue
            # merge on the stored JSON directly: validating 100,000 records per re-scan costs seconds. The
            # times are the later and the earlier of the stored one and this scan's (the stored text when equal)
            fresh = finding.model_dump(mode="json", include={"location", "flow", "message"})
            last, first = old["last_seen"], old["first_seen"]
            data = {**old, **fresh, "last_seen": last if _instant(last) >= at else stamp,
                    "first_seen": first if _instant(first) <= at else stamp}
            fixed_later = old.get("fixed_at") is not None and _instant(old["fixed_at"]) > at
            if old["status"] == "fixed" and not fixed_later:
                data.update(status="open", fixed_at=None)
                again = " (a log ingested before)" if duplicate else ""
                changes.append((finding.id, "fixed", "open", f"reported again by {tool}{again}"))
                counts["reopened"] += 1
            else:
                counts["updated"] += 1
            updates.append(_updated(data, scope))
        counts["new"] += len(inserts)
        self._write_batch(conn, inserts, changes, updates, at)

    def _close_unreported(self, conn: Connection, tool: str, scope: str, seen: set[str], at: datetime,
                          counts: dict[str, int], batch: int) -> None:
        """Mark `fixed` at `at` the findings of `scope` that a full scan taken at `at` did not report (ids not in
        `seen`) and that were last seen before it: the open ones, and (a scan older than a later one that closed
        them) the fixed ones whose fixed_at is later. In batches."""
        older_than_some = conn.execute(sa.select(scans_t.c.id).where(
            scans_t.c.scope == scope, scans_t.c.taken_at > at, self._mine(scans_t)).limit(1)).first() is not None
        statuses = ("open", "fixed") if older_than_some else ("open",)
        # statuses are filtered here, not in SQL: SQLite would otherwise walk the status index, i.e. every open
        # finding of the store, to find the few thousand of this scope (sorted by status as that walk was)
        # (the rows straight from the driver's cursor: two text columns, nothing for SQLAlchemy to process; the
        # ones this scan reported dropped before the sort, which is stable: the same order as dropping them after)
        result = conn.execute(sa.select(findings_t.c.id, findings_t.c.status).where(
            findings_t.c.scope == scope, self._mine(findings_t)))
        try:
            candidates = [row for row in result.cursor.fetchall() if row[1] in statuses and row[0] not in seen]
        finally:
            result.close()
        gone = [fid for fid, _status in sorted(candidates, key=itemgetter(1))]
        del candidates
        stamp = at.isoformat()
        for i in range(0, len(gone), batch):
            updates: list[tuple] = []
            changes: list[_Change] = []
            with paused_gc():
                for fid, data in self._finding_data_by_id(conn, gone[i:i + batch], self.repo).items():
                    if _instant(data["last_seen"]) > at:
                        continue  # seen after this scan was taken: this scan is no evidence that it is gone
                    if data["status"] == "fixed":
                        if data.get("fixed_at") and _instant(data["fixed_at"]) > at:
                            updates.append(_updated({**data, "fixed_at": stamp}, scope))  # fixed earlier
                        continue
                    updates.append(_updated({**data, "status": "fixed", "fixed_at": stamp}, scope))
                    changes.append((fid, "open", "fixed", f"not reported by a full {tool} scan"))
                    counts["fixed"] += 1
                self._write_batch(conn, [], changes, updates, at)

    def _write_batch(self, conn: Connection, inserts: list[tuple], changes: list[_Change], updates: list[tuple],
                     at: datetime) -> None:
        """Write a batch: `inserts` (rows of findings first reported, in _INSERTED order), status `changes` at `at`
        (a first report is one: an event; the others also a finding_events row), and `updates` (_updated rows of
        merged JSON). Events are written in the order of `changes`."""
        insert_rows(conn, findings_t, _INSERTED, inserts)
        if changes:
            repo = self.repo
            logged = [(fid, old, new, "scanner", at, comment, repo) for fid, old, new, comment in changes
                      if old is not None]  # finding_events: changes, not births
            insert_rows(conn, finding_events_t, _LOGGED, logged)
            details: dict[tuple, JsonText] = {}  # most changes of a batch say the same (a scan's first reports)
            events = []
            for fid, old, new, comment in changes:
                key = (old, new, comment)
                detail = details.get(key)
                if detail is None:
                    detail = details[key] = JsonText(json.dumps({"from": old, "to": new, "comment": comment}))
                events.append((at, repo, "scanner", FINDING, fid, detail))
            insert_rows(conn, events_t, _EVENT, events)  # the rows events.write_events would write
        update_rows(conn, findings_t, "id", _UPDATED, updates)

    @staticmethod
    def _finding_data_by_id(conn: Connection, ids: list[str], repo: str | None = None,
                            chunk: int = 500) -> dict[str, dict]:
        """The stored JSON of these findings. With `repo`, an id the store holds for another repo is refused:
        ids are fingerprints of tool, rule, path and text, so two repos (a fork, a template) can report the same
        one, and the store keeps one row per id; merging it into the other repo's finding would be wrong."""
        found: dict[str, dict] = {}
        for i in range(0, len(ids), chunk):
            for data, owner in _data_and_repo(conn, ids[i:i + chunk]):
                if repo is not None and owner is not None and owner != repo:
                    raise StoreError(f"finding {data['id'][:8]} ({data['rule_id']} in {data['location']['path']}) is "
                                     f"already in this store for repo {owner}; one store cannot hold the same finding "
                                     "for two repos yet: use a store per repo for these (--store)")
                found[data["id"]] = data
        return found


def _updated(data: dict, scope: str) -> tuple:
    """A merged finding's _UPDATED values and its id, from its JSON (validated when it was first written); the
    JSON as the column's serializer writes a dict."""
    return (data["tool"], scope, data["rule_id"], data["location"]["path"], data["status"],
            JsonText(_json_text(data)), data["id"])


def _data_and_repo(conn: Connection, ids: list[str]) -> Iterable[tuple[dict, str | None]]:
    """(stored JSON, repo) of the findings with these ids, the text parsed by _parsed. On SQLite one plain
    `IN (?, ?, …)` to the driver (SQLAlchemy's expanding IN re-renders the statement for every list: a tenth of
    a scan's time); on PostgreSQL through psycopg one `= ANY(array)` of the text (one statement whatever the
    count); elsewhere the Core query, parsed by the JSON column type."""
    if not ids:
        return []
    dialect = conn.dialect
    if dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"SELECT data, repo FROM findings WHERE id IN ({', '.join('?' * len(ids))})",
                                    tuple(ids)).fetchall()
    elif (dialect.name, dialect.driver) == ("postgresql", "psycopg"):
        rows = conn.exec_driver_sql("SELECT CAST(data AS TEXT), repo FROM findings WHERE id = ANY(%(ids)s)",
                                    {"ids": list(ids)}).fetchall()
    else:
        return conn.execute(sa.select(findings_t.c.data, findings_t.c.repo).where(findings_t.c.id.in_(ids)))
    return [(_parsed(text), owner) for text, owner in rows]


def _parsed(text: str) -> dict:
    """Stored JSON text as json.loads reads it (the JSON column's reader), by pydantic's parser (twice as fast;
    it gives the same values: text, numbers, key order, a repeated key's last value), or by json.loads itself
    for what that parser refuses (lone surrogates, which json.dumps wrote from odd scanner text)."""
    try:
        return from_json(text)
    except ValueError:
        return json.loads(text)
