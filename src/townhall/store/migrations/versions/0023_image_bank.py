"""image bank: the PDQ hashes of removed images and of imported hash lists

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

Int64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "image_hash_bank",
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("opinion", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("list_name", sa.String(length=128), nullable=True),
        sa.Column("case_id", Int64, nullable=True),
        sa.Column("added_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["review_cases.id"], name="fk_image_hash_bank_case_id_review_cases"
        ),
        sa.PrimaryKeyConstraint("pdq", name="pk_image_hash_bank"),
    )
    op.create_index("ix_image_hash_bank_case_id", "image_hash_bank", ["case_id"])
    op.create_index("ix_image_hash_bank_added_at", "image_hash_bank", ["added_at"])


def downgrade() -> None:
    op.drop_table("image_hash_bank")
