"""public accounts: posts, subscriptions, reach ledger

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("name_key", sa.String(length=256), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("account_type", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("entity_kind", sa.String(length=16), nullable=False),
        sa.Column("entity_name", sa.String(length=256), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("news_licence", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("news_entitlement", sa.String(length=16), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.BigInteger(), nullable=True),
        sa.Column("approved_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("subscriber_count", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["accounts.id"], name=op.f("fk_public_accounts_operator_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["accounts.id"], name=op.f("fk_public_accounts_reviewed_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_accounts")),
    )
    with op.batch_alter_table("public_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_public_accounts_name_key"), ["name_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_public_accounts_operator_id"), ["operator_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_public_accounts_status"), ["status"], unique=False)

    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_account_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("content_class", sa.String(length=32), nullable=False),
        sa.Column("source_post_id", sa.Integer(), nullable=True),
        sa.Column("root_post_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.Column("views", sa.Integer(), server_default="0", nullable=False),
        sa.Column("forwards", sa.Integer(), server_default="0", nullable=False),
        sa.Column("forward_depth", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["public_account_id"],
            ["public_accounts.id"],
            name=op.f("fk_posts_public_account_id_public_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["root_post_id"], ["posts.id"], name=op.f("fk_posts_root_post_id_posts")
        ),
        sa.ForeignKeyConstraint(
            ["source_post_id"], ["posts.id"], name=op.f("fk_posts_source_post_id_posts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_posts_public_account_id_created_at",
            ["public_account_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_posts_public_account_id_id", ["public_account_id", "id"], unique=False
        )

    op.create_table(
        "reach_daily",
        sa.Column("public_account_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("forwards", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["public_account_id"],
            ["public_accounts.id"],
            name=op.f("fk_reach_daily_public_account_id_public_accounts"),
        ),
        sa.PrimaryKeyConstraint("public_account_id", "day", name=op.f("pk_reach_daily")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "subscriptions",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("public_account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["public_account_id"],
            ["public_accounts.id"],
            name=op.f("fk_subscriptions_public_account_id_public_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"], ["accounts.id"], name=op.f("fk_subscriptions_subscriber_id_accounts")
        ),
        sa.PrimaryKeyConstraint(
            "subscriber_id", "public_account_id", name=op.f("pk_subscriptions")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "evidence_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("captured_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_evidence_snapshots_post_id_posts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_snapshots")),
    )
    with op.batch_alter_table("evidence_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_snapshots_post_id"), ["post_id"], unique=False
        )

    op.create_table(
        "forwards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("forwarder_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_forwards_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["forwarder_id"], ["accounts.id"], name=op.f("fk_forwards_forwarder_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_forwards_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["forwards.id"], name=op.f("fk_forwards_parent_id_forwards")
        ),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_forwards_post_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forwards")),
        sa.UniqueConstraint("message_id", name=op.f("uq_forwards_message_id")),
    )
    with op.batch_alter_table("forwards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forwards_post_id"), ["post_id"], unique=False)

    op.create_table(
        "post_views",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("viewer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_views_post_id_posts")
        ),
        sa.PrimaryKeyConstraint("post_id", "viewer_id", name=op.f("pk_post_views")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "reach_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("public_account_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_reach_escalations_post_id_posts")
        ),
        sa.ForeignKeyConstraint(
            ["public_account_id"],
            ["public_accounts.id"],
            name=op.f("fk_reach_escalations_public_account_id_public_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["evidence_snapshots.id"],
            name=op.f("fk_reach_escalations_snapshot_id_evidence_snapshots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reach_escalations")),
        sa.UniqueConstraint(
            "post_id", "measure", name=op.f("uq_reach_escalations_post_id_measure")
        ),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachment", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("attachment")

    op.drop_table("reach_escalations")
    op.drop_table("post_views")
    with op.batch_alter_table("forwards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forwards_post_id"))

    op.drop_table("forwards")
    with op.batch_alter_table("evidence_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_snapshots_post_id"))

    op.drop_table("evidence_snapshots")
    op.drop_table("subscriptions")
    op.drop_table("reach_daily")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_public_account_id_id")
        batch_op.drop_index("ix_posts_public_account_id_created_at")

    op.drop_table("posts")
    with op.batch_alter_table("public_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_accounts_status"))
        batch_op.drop_index(batch_op.f("ix_public_accounts_operator_id"))
        batch_op.drop_index(batch_op.f("ix_public_accounts_name_key"))

    op.drop_table("public_accounts")
