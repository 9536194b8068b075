"""sanctions, appeals, purged audit rows

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("leaf_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "sanctions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("ground", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("automated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("applied_by", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.BigInteger(), nullable=False),
        sa.Column("ends_at", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_by", sa.Integer(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("undo", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["accounts.id"], name=op.f("fk_sanctions_member_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["review_cases.id"], name=op.f("fk_sanctions_case_id_review_cases")
        ),
        sa.ForeignKeyConstraint(
            ["applied_by"], ["accounts.id"], name=op.f("fk_sanctions_applied_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by"], ["accounts.id"], name=op.f("fk_sanctions_ended_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sanctions")),
        sa.UniqueConstraint("case_id", name=op.f("uq_sanctions_case_id")),
    )
    op.create_index("ix_sanctions_subject", "sanctions", ["subject_type", "subject_id"])
    op.create_index("ix_sanctions_state_ends_at", "sanctions", ["state", "ends_at"])
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sanction_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("appellant_id", sa.Integer(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sanction_id"], ["sanctions.id"], name=op.f("fk_appeals_sanction_id_sanctions")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["review_cases.id"], name=op.f("fk_appeals_case_id_review_cases")
        ),
        sa.ForeignKeyConstraint(
            ["appellant_id"], ["accounts.id"], name=op.f("fk_appeals_appellant_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["accounts.id"], name=op.f("fk_appeals_decided_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("sanction_id", name=op.f("uq_appeals_sanction_id")),
        sa.UniqueConstraint("case_id", name=op.f("uq_appeals_case_id")),
    )
    op.create_index(op.f("ix_appeals_appellant_id"), "appeals", ["appellant_id"])
    op.create_index(op.f("ix_appeals_state"), "appeals", ["state"])


def downgrade() -> None:
    op.drop_table("appeals")
    op.drop_table("sanctions")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("leaf_hash")
