"""readiness probes: the row `/readyz` writes to prove the database takes writes

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "readiness_probes",
        sa.Column("node", sa.String(length=255), nullable=False),
        sa.Column("probed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("node", name="pk_readiness_probes"),
    )


def downgrade() -> None:
    op.drop_table("readiness_probes")
