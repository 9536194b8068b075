"""group life: settings, mutes, join links and requests, and the membership history

A group gains an avatar reference, an announcement, "mute all", whether members may invite and
when it was dissolved; a member gains a mute. Join links (a QR code's payload) expire and can be
revoked, and may need an admin's approval (join requests). The membership history keeps who
joined when, invited by whom or by which link, who removed whom and who left.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# As store/schema.py: 64-bit on PostgreSQL, SQLite's INTEGER (the rowid for a primary key).
Int64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("avatar", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("announcement", sa.Text(), nullable=True))
        batch.add_column(sa.Column("mute_all", Int64, nullable=False, server_default="0"))
        batch.add_column(sa.Column("members_invite", Int64, nullable=False, server_default="1"))
        batch.add_column(sa.Column("dissolved_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("muted", Int64, nullable=False, server_default="0"))
    op.create_table(
        "join_links",
        sa.Column("id", Int64, nullable=False),
        sa.Column("conversation_id", Int64, nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_by", Int64, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("needs_approval", Int64, nullable=False, server_default="0"),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_join_links_conversation_id_conversations",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name="fk_join_links_created_by_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_join_links"),
        sa.UniqueConstraint("token", name="uq_join_links_token"),
    )
    op.create_index("ix_join_links_conversation_id", "join_links", ["conversation_id"])
    op.create_table(
        "join_requests",
        sa.Column("conversation_id", Int64, nullable=False),
        sa.Column("account_id", Int64, nullable=False),
        sa.Column("link_id", Int64, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("answered_by", Int64, nullable=True),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_join_requests_conversation_id_conversations",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_join_requests_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["join_links.id"], name="fk_join_requests_link_id_join_links"
        ),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["accounts.id"], name="fk_join_requests_answered_by_accounts"
        ),
        sa.PrimaryKeyConstraint("conversation_id", "account_id", name="pk_join_requests"),
    )
    op.create_table(
        "member_history",
        sa.Column("id", Int64, nullable=False),
        sa.Column("conversation_id", Int64, nullable=False),
        sa.Column("account_id", Int64, nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("actor_id", Int64, nullable=True),
        sa.Column("link_id", Int64, nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_member_history_conversation_id_conversations",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_member_history_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["accounts.id"], name="fk_member_history_actor_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["join_links.id"], name="fk_member_history_link_id_join_links"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_member_history"),
    )
    op.create_index(
        "ix_member_history_conversation_id_id", "member_history", ["conversation_id", "id"]
    )


def downgrade() -> None:
    op.drop_table("member_history")
    op.drop_table("join_requests")
    op.drop_index("ix_join_links_conversation_id", table_name="join_links")
    op.drop_table("join_links")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("muted")
    with op.batch_alter_table("conversations") as batch:
        for column in ("dissolved_at", "members_invite", "mute_all", "announcement", "avatar"):
            batch.drop_column(column)
