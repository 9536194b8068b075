"""contacts: friends, remarks and blocks, friend requests, and whether one may be found by phone

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

Int64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _account(name: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([name], ["accounts.id"], name=f"fk_{table}_{name}_accounts")


def upgrade() -> None:
    op.create_table(
        "contact_settings",
        sa.Column("account_id", Int64, nullable=False),
        sa.Column("findable_by_phone", sa.Boolean(), nullable=False, server_default=sa.false()),
        _account("account_id", "contact_settings"),
        sa.PrimaryKeyConstraint("account_id", name="pk_contact_settings"),
    )
    op.create_table(
        "contacts",
        sa.Column("owner_id", Int64, nullable=False),
        sa.Column("contact_id", Int64, nullable=False),
        sa.Column("friend_since", sa.BigInteger(), nullable=True),
        sa.Column("remark", sa.String(length=1024), nullable=True),
        sa.Column("blocked_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        _account("owner_id", "contacts"),
        _account("contact_id", "contacts"),
        sa.PrimaryKeyConstraint("owner_id", "contact_id", name="pk_contacts"),
    )
    op.create_table(
        "friend_requests",
        sa.Column("requester_id", Int64, nullable=False),
        sa.Column("addressee_id", Int64, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("greeting", sa.Text(), nullable=False),
        sa.Column("greetings", Int64, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        _account("requester_id", "friend_requests"),
        _account("addressee_id", "friend_requests"),
        sa.PrimaryKeyConstraint("requester_id", "addressee_id", name="pk_friend_requests"),
    )
    op.create_index(
        "ix_friend_requests_addressee_id_state", "friend_requests", ["addressee_id", "state"]
    )


def downgrade() -> None:
    op.drop_index("ix_friend_requests_addressee_id_state", table_name="friend_requests")
    op.drop_table("friend_requests")
    op.drop_table("contacts")
    op.drop_table("contact_settings")
