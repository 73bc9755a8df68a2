"""The store as suture wrote it before Alembic: the tables of agent.store.legacy.BASELINE, and the hash chain's
head. On an empty database this creates them; on a store written before Alembic (no alembic_version table yet)
it adds what that store lacks and seals its old history (agent.store.legacy.adopt), keeping every row.

Revision ID: 0001
Revises:
"""

from alembic import op

from agent.store.legacy import BASELINE, adopt

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    adopt(op.get_bind())


def downgrade() -> None:
    BASELINE.drop_all(op.get_bind())
