"""Replies, mentions and recall of messages; each member's read cursor per conversation

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Int64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Nullable columns: added in place, without rewriting the messages table.
    op.add_column("messages", sa.Column("reply_to", Int64, nullable=True))
    op.add_column("messages", sa.Column("mentions", sa.Text(), nullable=True))
    op.add_column("messages", sa.Column("recalled_at", sa.BigInteger(), nullable=True))
    op.create_table(
        "read_cursors",
        sa.Column("conversation_id", Int64, sa.ForeignKey("conversations.id"), primary_key=True),
        sa.Column("account_id", Int64, sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("seq", Int64, nullable=False),
        sa.Column("read_at", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("read_cursors")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("recalled_at")
        batch.drop_column("mentions")
        batch.drop_column("reply_to")
