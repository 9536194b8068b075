"""verification that verifies: provider answers on identities, registration numbers of any
register on public accounts

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        # "provider_verified" is 17 characters.
        batch.alter_column(
            "status",
            existing_type=sa.String(length=16),
            type_=sa.String(length=32),
            existing_nullable=False,
            existing_server_default="pending_review",
        )
        batch.add_column(sa.Column("provider_result", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("provider_checked_at", sa.BigInteger(), nullable=True))
    # "verified" meant two things: a reviewer's approval, or (auto mode) a passed checksum.
    op.execute(
        "UPDATE identities SET status = 'staff_verified' "
        "WHERE status = 'verified' AND decided_by IS NOT NULL"
    )
    op.execute("UPDATE identities SET status = 'format_checked' WHERE status = 'verified'")

    with op.batch_alter_table("public_accounts") as batch:
        batch.alter_column(
            "uscc",
            new_column_name="registration_number",
            existing_type=sa.String(length=18),
            type_=sa.String(length=64),
            existing_nullable=True,
        )
        batch.add_column(sa.Column("registration_number_type", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE public_accounts SET registration_number_type = 'cn_uscc' "
        "WHERE registration_number IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("public_accounts") as batch:
        batch.drop_column("registration_number_type")
        batch.alter_column(
            "registration_number",
            new_column_name="uscc",
            existing_type=sa.String(length=64),
            type_=sa.String(length=18),
            existing_nullable=True,
        )
    op.execute(
        "UPDATE identities SET status = 'verified' "
        "WHERE status IN ('format_checked', 'provider_verified', 'staff_verified')"
    )
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("provider_checked_at")
        batch.drop_column("provider_result")
        batch.alter_column(
            "status",
            existing_type=sa.String(length=32),
            type_=sa.String(length=16),
            existing_nullable=False,
            existing_server_default="pending_review",
        )
