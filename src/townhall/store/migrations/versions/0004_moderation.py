"""moderation: lexicon entries, statements of reasons

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lexicon_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("text", sa.String(length=256), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"], ["accounts.id"], name=op.f("fk_lexicon_entries_added_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lexicon_entries")),
        sa.UniqueConstraint("kind", "text", name=op.f("uq_lexicon_entries_kind_text")),
    )
    op.create_table(
        "moderation_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("surface", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("automated", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], name=op.f("fk_moderation_statements_author_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_statements")),
    )
    with op.batch_alter_table("moderation_statements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_moderation_statements_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_moderation_statements_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("moderation_statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moderation_statements_created_at"))
        batch_op.drop_index(batch_op.f("ix_moderation_statements_author_id"))

    op.drop_table("moderation_statements")
    op.drop_table("lexicon_entries")
