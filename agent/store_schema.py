"""The store's tables (SQLAlchemy Core). Records are kept whole as JSON beside the columns queries filter on."""

import sqlalchemy as sa

_meta = sa.MetaData()
findings_t = sa.Table(
    "findings", _meta,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("tool", sa.String(64), nullable=False, index=True),
    sa.Column("scope", sa.String(200), nullable=False, index=True),
    sa.Column("rule_id", sa.String(300), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("data", sa.JSON, nullable=False),
)
scans_t = sa.Table(
    "scans", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tool", sa.String(64), nullable=False),
    sa.Column("scope", sa.String(200), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False, index=True),
    sa.Column("full", sa.Boolean, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
)
proposals_t = sa.Table(
    "proposals", _meta,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("finding_id", sa.String(64), nullable=False, index=True),
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("engine", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
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
)
finding_events_t = sa.Table(
    "finding_events", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("finding_id", sa.String(64), nullable=False, index=True),
    sa.Column("from_status", sa.String(20)),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(300), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("comment", sa.Text),
)
verdicts_t = sa.Table(
    "verdicts", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("finding_id", sa.String(64), nullable=False, index=True),
    sa.Column("engine", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
)
llm_cache_t = sa.Table(
    "llm_cache", _meta,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

