"""review queues, reports, hash bank, held messages, re-post index

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sources", sa.String(length=64), nullable=False),
        sa.Column("categories", sa.String(length=256), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("report_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("views", sa.Integer(), server_default="0", nullable=False),
        sa.Column("forwards", sa.Integer(), server_default="0", nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.BigInteger(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], name=op.f("fk_review_cases_author_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["accounts.id"], name=op.f("fk_review_cases_claimed_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["accounts.id"], name=op.f("fk_review_cases_decided_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_cases")),
        sa.UniqueConstraint(
            "target_type", "target_id", name=op.f("uq_review_cases_target_type_target_id")
        ),
    )
    with op.batch_alter_table("review_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_cases_author_id"), ["author_id"], unique=False)
        batch_op.create_index("ix_review_cases_state_priority", ["state", "priority"], unique=False)

    op.create_table(
        "hash_bank",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["review_cases.id"], name=op.f("fk_hash_bank_case_id_review_cases")
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_hash_bank")),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["review_cases.id"], name=op.f("fk_reports_case_id_review_cases")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["accounts.id"], name=op.f("fk_reports_reporter_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("reporter_id", "case_id", name=op.f("uq_reports_reporter_id_case_id")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_reports_reporter_id_created_at", ["reporter_id", "created_at"], unique=False
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moderation", sa.String(length=8), nullable=True))
    # A removal follows re-posts down their chain.
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_posts_source_post_id"), ["source_post_id"])


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_source_post_id"))

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("moderation")

    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_reporter_id_created_at")
        batch_op.drop_index(batch_op.f("ix_reports_case_id"))

    op.drop_table("reports")
    op.drop_table("hash_bank")
    with op.batch_alter_table("review_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_review_cases_state_priority")
        batch_op.drop_index(batch_op.f("ix_review_cases_author_id"))

    op.drop_table("review_cases")
