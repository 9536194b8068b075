"""identity reveals name what they are for, and are counted per reviewer

A reveal names a case, an appeal or an authority's request (`reference`); the index counts a
reviewer's reveals in the last hour.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity_access") as batch:
        batch.add_column(sa.Column("reference", sa.String(length=80), nullable=True))
        batch.create_index("ix_identity_access_actor_id_at", ["actor_id", "at"])


def downgrade() -> None:
    with op.batch_alter_table("identity_access") as batch:
        batch.drop_index("ix_identity_access_actor_id_at")
        batch.drop_column("reference")
