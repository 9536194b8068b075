"""console runs and periods: rescans with their progress, classifier trainings with what they
measured, the hash bank by when a text was banked, and the queues by when their entries came

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

Int64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# name: (table, columns)
INDEXES = {
    "ix_hash_bank_added_at": ("hash_bank", ["added_at"]),
    "ix_identities_created_at": ("identities", ["created_at"]),
    "ix_public_accounts_created_at": ("public_accounts", ["created_at"]),
    "ix_review_cases_opened_at": ("review_cases", ["opened_at"]),
    "ix_appeals_created_at": ("appeals", ["created_at"]),
}


def upgrade() -> None:
    op.create_table(
        "rescans",
        sa.Column("id", Int64, autoincrement=True, nullable=False),
        sa.Column("requested_by", Int64, nullable=True),
        sa.Column("since_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", Int64, nullable=False),
        sa.Column("scanned", Int64, nullable=False),
        sa.Column("queued", Int64, nullable=False),
        sa.Column("decisions", sa.Text(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["accounts.id"], name="fk_rescans_requested_by_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rescans"),
    )
    op.create_table(
        "classifier_trainings",
        sa.Column("id", Int64, autoincrement=True, nullable=False),
        sa.Column("classifier", sa.String(length=64), nullable=False),
        sa.Column("trained_at", sa.BigInteger(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_classifier_trainings"),
    )
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
    op.drop_table("classifier_trainings")
    op.drop_table("rescans")
