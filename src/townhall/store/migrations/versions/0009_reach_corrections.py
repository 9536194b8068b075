"""distinct forwarders, per-author escalations in the audit log, rumour corrections

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# What the reach ledger already holds, counted again the way the thresholds now count it.
BACKFILL_POST_FORWARDERS = """
UPDATE posts SET forwarders = (
    SELECT COUNT(DISTINCT forwarder_id) FROM forwards WHERE forwards.post_id = posts.id
)
"""
BACKFILL_DAILY_FORWARDERS = """
WITH firsts AS (
    SELECT post_id, MIN(created_at) AS at FROM forwards GROUP BY post_id, forwarder_id
)
UPDATE reach_daily SET forwarders = (
    SELECT COUNT(*) FROM firsts JOIN posts ON posts.id = firsts.post_id
    WHERE posts.public_account_id = reach_daily.public_account_id
    AND firsts.at / 86400000 = reach_daily.day
)
"""
BACKFILL_ESCALATION_AUTHORS = """
UPDATE reach_escalations SET author_id = (
    SELECT operator_id FROM public_accounts
    WHERE public_accounts.id = reach_escalations.public_account_id
)
"""


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("forwarders", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("reach_daily") as batch:
        batch.add_column(sa.Column("forwarders", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("forwards") as batch:
        batch.drop_index("ix_forwards_post_id")
        batch.create_index("ix_forwards_post_id_forwarder_id", ["post_id", "forwarder_id"])
    op.execute(BACKFILL_POST_FORWARDERS)
    op.execute(BACKFILL_DAILY_FORWARDERS)

    with op.batch_alter_table("reach_escalations") as batch:
        batch.add_column(sa.Column("author_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("audit_seq", sa.Integer(), nullable=True))
    op.execute(BACKFILL_ESCALATION_AUTHORS)
    with op.batch_alter_table("reach_escalations") as batch:
        batch.alter_column("post_id", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("author_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_reach_escalations_author_id_accounts"), "accounts", ["author_id"], ["id"]
        )
        batch.create_index("ix_reach_escalations_author_id_measure", ["author_id", "measure"])

    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("noticed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("done_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["review_cases.id"], name=op.f("fk_corrections_case_id_review_cases")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], name=op.f("fk_corrections_author_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
    )
    op.create_index(op.f("ix_corrections_case_id"), "corrections", ["case_id"])
    op.create_index(op.f("ix_corrections_done_at"), "corrections", ["done_at"])
    op.create_table(
        "correction_notices",
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "target_type", "target_id", "account_id", name=op.f("pk_correction_notices")
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("correction_notices")
    op.drop_index(op.f("ix_corrections_done_at"), table_name="corrections")
    op.drop_index(op.f("ix_corrections_case_id"), table_name="corrections")
    op.drop_table("corrections")
    with op.batch_alter_table("reach_escalations") as batch:
        batch.drop_index("ix_reach_escalations_author_id_measure")
        batch.drop_constraint(op.f("fk_reach_escalations_author_id_accounts"), type_="foreignkey")
        batch.drop_column("audit_seq")
        batch.drop_column("author_id")
    # Escalations of an author's totals name no post: they and their evidence go.
    op.execute("DELETE FROM reach_escalations WHERE post_id IS NULL")
    op.execute(
        "DELETE FROM evidence_snapshots WHERE id NOT IN (SELECT snapshot_id FROM reach_escalations)"
    )
    with op.batch_alter_table("reach_escalations") as batch:
        batch.alter_column("post_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("forwards") as batch:
        batch.drop_index("ix_forwards_post_id_forwarder_id")
        batch.create_index("ix_forwards_post_id", ["post_id"])
    # In place (SQLite 3.35+): rebuilding `posts` would break the foreign keys that point at it.
    op.execute("ALTER TABLE reach_daily DROP COLUMN forwarders")
    op.execute("ALTER TABLE posts DROP COLUMN forwarders")
