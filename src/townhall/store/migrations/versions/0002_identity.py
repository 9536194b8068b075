"""real-name identity: verification, review, access log, blacklist, phone codes

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blacklist",
        sa.Column("blind_index", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"], ["accounts.id"], name=op.f("fk_blacklist_added_by_accounts")
        ),
        sa.PrimaryKeyConstraint("blind_index", name=op.f("pk_blacklist")),
    )
    op.create_table(
        "identity_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["accounts.id"], name=op.f("fk_identity_access_actor_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["accounts.id"], name=op.f("fk_identity_access_subject_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_access")),
    )
    with op.batch_alter_table("identity_access", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_access_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "phone_codes",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.BigInteger(), nullable=False),
        sa.Column("sent_in_window", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_phone_codes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_phone_codes")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), server_default="user", nullable=False)
        )

    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status", sa.String(length=16), server_default="pending_review", nullable=False
            )
        )
        batch_op.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("phone_verified_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("purge_after", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_identities_purge_after"), ["purge_after"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_identities_status"), ["status"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_identities_decided_by_accounts"), "accounts", ["decided_by"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_identities_claimed_by_accounts"), "accounts", ["claimed_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_identities_claimed_by_accounts"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_identities_decided_by_accounts"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_identities_status"))
        batch_op.drop_index(batch_op.f("ix_identities_purge_after"))
        batch_op.drop_column("purge_after")
        batch_op.drop_column("phone_verified_at")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("status_reason")
        batch_op.drop_column("status")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("role")

    op.drop_table("phone_codes")
    with op.batch_alter_table("identity_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_access_subject_id"))

    op.drop_table("identity_access")
    op.drop_table("blacklist")
