"""Campaigns: a named batch of findings across repos worked through by parallel workers.

* `campaigns`: one row per campaign (no repo column: a campaign spans repos; the repos it covers and their
  checkouts are in `repos`), with its selectors, owner, due date and limits;
* `campaign_items`: one row per selected finding (campaign, repo, finding id, rank position and the triage
  facts status breaks down by), with the claim a worker holds on it and what came of it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from agent.store.schema import _Text

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    names = set(sa.inspect(op.get_bind()).get_table_names())
    if "campaigns" not in names:
        op.create_table(
            "campaigns",
            sa.Column("name", sa.Text, primary_key=True),
            sa.Column("state", sa.String(20), nullable=False),
            sa.Column("owner", _Text(300)),
            sa.Column("due", sa.DateTime(timezone=True)),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("closed_at", sa.DateTime(timezone=True)),
            sa.Column("selectors", sa.JSON, nullable=False),
            sa.Column("repos", sa.JSON, nullable=False),
            sa.Column("max_proposals", sa.Integer),
            sa.Column("budget_usd", sa.Float),
        )
    if "campaign_items" not in names:
        op.create_table(
            "campaign_items",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("campaign", sa.Text, nullable=False),
            sa.Column("repo", sa.Text, nullable=False),
            sa.Column("finding_id", sa.String(64), nullable=False),
            sa.Column("position", sa.Integer, nullable=False),
            sa.Column("score", sa.Float, nullable=False),
            sa.Column("team", _Text(300)),
            sa.Column("lane", sa.String(20)),
            sa.Column("tier", sa.Integer),
            sa.Column("severity", sa.String(20)),
            sa.Column("rule_id", _Text(300)),
            sa.Column("state", sa.String(20), nullable=False),
            sa.Column("claimed_by", sa.Text),
            sa.Column("claimed_at", sa.DateTime(timezone=True)),
            sa.Column("proposal_id", sa.String(64)),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("outcome", sa.Text),
            sa.Column("cost_usd", sa.Float, nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True)),
        )
        op.create_index("ux_campaign_items_finding", "campaign_items", ["campaign", "repo", "finding_id"],
                        unique=True)
        op.create_index("ix_campaign_items_queue", "campaign_items", ["campaign", "state", "position"])


def downgrade() -> None:
    op.drop_table("campaign_items")
    op.drop_table("campaigns")
