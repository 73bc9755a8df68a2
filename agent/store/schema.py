"""The store's tables (SQLAlchemy Core) and the conversions between records and rows.

Records are kept whole as JSON beside the columns queries filter on. The types work on SQLite and PostgreSQL
alike: JSON (PostgreSQL `json`, not `jsonb`: it keeps the text as written, escapes such as \\u0000 or lone
surrogates included), timestamps with time zone, TEXT for anything unbounded. Every table carries a `repo`
column (the repo key, agent.store.url) so several projects can share one store, except the two that are the
store's own: `audit_heads` (one hash chain for the whole store) and `repos` (the registry, keyed by the repo).

These are the tables as the current code reads and writes them; they are created and changed only by the Alembic
revisions in agent/store/migrations/versions/ (tests check that both agree)."""

import json
import sys
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from agent.models import Finding, Location, Proposal


class _Text(sa.TypeDecorator):
    """A text column that holds on PostgreSQL what it holds on SQLite: text of any length (SQLite ignores a
    VARCHAR's length, PostgreSQL enforces it; there the column is TEXT) and NUL characters, which PostgreSQL
    refuses in text (written there as U+FFFD). For columns queries filter on, filled from scanner output (tool
    and rule names, paths): the record's JSON keeps the exact text. Not for hashed history columns."""

    impl = sa.String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.Text() if dialect.name == "postgresql" else self.impl)

    def process_bind_param(self, value, dialect):
        if dialect.name == "postgresql" and isinstance(value, str) and "\x00" in value:
            return value.replace("\x00", "\ufffd")
        return value


_meta = sa.MetaData()
findings_t = sa.Table(
    "findings", _meta,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("tool", _Text(64), nullable=False, index=True),
    sa.Column("scope", _Text(200), nullable=False, index=True),
    sa.Column("rule_id", _Text(300), nullable=False),
    sa.Column("path", _Text(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("repo", sa.Text, index=True),  # the project the row belongs to (agent.store.url.repo_key)
)
scans_t = sa.Table(
    "scans", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tool", _Text(64), nullable=False),
    sa.Column("scope", _Text(200), nullable=False),
    sa.Column("source", _Text(), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False, index=True),
    sa.Column("full", sa.Boolean, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("repo", sa.Text, index=True),  # the project the row belongs to (agent.store.url.repo_key)
    # when the scan was taken (the caller's --at for a backfilled history); `at` is when it was recorded
    sa.Column("taken_at", sa.DateTime(timezone=True)),
)
proposals_t = sa.Table(
    "proposals", _meta,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("finding_id", sa.String(64), nullable=False, index=True),
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("engine", _Text(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("repo", sa.Text, index=True),  # the project the row belongs to (agent.store.url.repo_key)
)
transitions_t = sa.Table(
    "transitions", _meta,
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
    sa.Column("repo", sa.Text, index=True),  # not hashed: the proposal's repo, for store-wide listings
    sa.Index("ux_transitions_seq", "seq", unique=True),
)
audit_heads_t = sa.Table(
    "audit_heads", _meta,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
finding_events_t = sa.Table(
    "finding_events", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("finding_id", sa.String(64), nullable=False, index=True),
    sa.Column("from_status", sa.String(20)),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("actor", _Text(300), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("comment", _Text()),
    sa.Column("repo", sa.Text, index=True),
)
verdicts_t = sa.Table(
    "verdicts", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("finding_id", sa.String(64), nullable=False, index=True),
    sa.Column("engine", _Text(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("repo", sa.Text, index=True),  # the project the row belongs to (agent.store.url.repo_key)
)
llm_cache_t = sa.Table(
    "llm_cache", _meta,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("repo", sa.Text, index=True),  # who asked first; replies are shared (keyed by the request)
)
outcomes_t = sa.Table(  # what became of the last attempt at a finding (agent/outcomes.py)
    "outcomes", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("finding_id", sa.String(64), nullable=False),
    sa.Column("task", sa.String(20), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("final", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("proposal_id", sa.String(64)),
    sa.Column("detail", sa.JSON),  # the record the outcome holds, if any (classify: the verdict)
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("repo", sa.Text, index=True),
    sa.Index("ix_outcomes_finding_task_key", "finding_id", "task", "key"),
)
file_facts_t = sa.Table(  # the per-file facts cache (agent/code/facts_store.py keeps its own copy of this table)
    "file_facts", _meta,
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("facts", sa.Text, nullable=False),
    sa.Column("repo", sa.Text, index=True),  # who wrote the row; rows are shared (keyed by path and bytes)
)
repos_t = sa.Table(  # every repo that has used the store, registered on first use
    "repos", _meta,
    sa.Column("repo", sa.Text, primary_key=True),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),  # e.g. {"path": the checkout it was first seen in}
)
events_t = sa.Table(  # the store's history: every scan, finding and proposal change, review and export
    "events", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("repo", sa.Text),
    sa.Column("actor", _Text(300), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False, index=True),
    sa.Column("subject", sa.String(64), nullable=False, index=True),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_events_repo_at", "repo", "at"),
)


def _finding_row(finding: Finding, scope: str) -> dict:
    # `data` is the record itself: the JSON column serializes it with _json_text
    return {
        "id": finding.id, "tool": finding.tool, "scope": scope, "rule_id": finding.rule_id,
        "path": finding.location.path, "status": finding.status, "data": finding,
    }


class JsonText(str):
    """A value's JSON text, already serialized (for bulk writes that build it faster than per row): the JSON
    columns write it as it is."""


def _json_text(value: object) -> str:
    """The JSON columns' serializer. A record writes its own JSON (pydantic's serializer: several times faster
    than model_dump + json.dumps at 100,000 findings); JsonText is already JSON; anything else, and text pydantic
    refuses to encode (lone surrogates from odd SARIF), goes through json.dumps as before."""
    if isinstance(value, JsonText):
        return value
    if isinstance(value, BaseModel):
        try:
            return value.model_dump_json()
        except PydanticSerializationError:
            value = value.model_dump(mode="json")
    return json.dumps(value)


def _findings_from_json(texts: Iterable[str]) -> list[Finding]:
    """Parse stored findings, in order, each _compact. pydantic's JSON parser rejects lone surrogates
    (`\\ud800`) that real scanner messages can carry and json.loads accepts, so those rows take the slower path
    instead of failing. (One loop for a whole listing: 100,000 rows in one call.)"""
    validate, compact = _VALIDATE_FINDING, _compact
    out: list[Finding] = []
    append = out.append
    for raw in texts:
        try:
            append(compact(validate(raw)))
        except ValidationError:
            append(compact(Finding.model_validate(json.loads(raw))))
    return out


_VALIDATE_FINDING = Finding.__pydantic_validator__.validate_json  # what Finding.model_validate_json(raw) calls
_FINDING_FIELDS = set(Finding.model_fields)
_LOCATION_FIELDS = set(Location.model_fields)


def _compact(finding: Finding) -> Finding:
    """The same finding, holding less of its own: what a store read of 100,000 findings would otherwise hold
    100,000 copies of is shared. pydantic keeps one "fields given" set per model object (about 3 KB of a
    finding's 7.5 KB); a stored finding gives every field, so it gets the one set of all of them (pydantic only
    ever adds a field name to it, which is then already there; model_copy copies it), and the short strings
    that repeat across findings (tool, rule, severity, path...) are interned. Values are equal, not re-checked.
    (Written out field by field: a listing calls it for every finding.)"""
    values = finding.__dict__
    if finding.__pydantic_fields_set__ == _FINDING_FIELDS:
        object.__setattr__(finding, "__pydantic_fields_set__", _FINDING_FIELDS)
    location = values["location"]
    if location.__pydantic_fields_set__ == _LOCATION_FIELDS:
        object.__setattr__(location, "__pydantic_fields_set__", _LOCATION_FIELDS)
    intern = sys.intern
    values["tool"] = intern(values["tool"])
    values["rule_id"] = intern(values["rule_id"])
    values["severity"] = intern(values["severity"])
    values["confidence"] = intern(values["confidence"])
    values["status"] = intern(values["status"])
    for name in _OPTIONAL_REPEATED:
        if (value := values[name]) is not None:
            values[name] = intern(value)
    location.__dict__["path"] = intern(location.path)
    return finding


_OPTIONAL_REPEATED = ("tool_name", "rule_name", "help_uri")


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _proposal_row(proposal: Proposal) -> dict:
    return {
        "id": proposal.id, "finding_id": proposal.finding_id, "state": proposal.state, "engine": proposal.engine,
        "created_at": proposal.created_at, "data": json.loads(proposal.model_dump_json()),
    }


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
