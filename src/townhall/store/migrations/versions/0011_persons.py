"""sanctions follow the person (identity links, phone index, the sanction's identity); bios,
group descriptions and invitations

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("bio", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.create_index("ix_conversations_created_by_created_at", ["created_by", "created_at"])
    op.create_table(
        "invitations",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("invitee_id", sa.Integer(), nullable=False),
        sa.Column("inviter_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_invitations_conversation_id_conversations",
        ),
        sa.ForeignKeyConstraint(
            ["invitee_id"], ["accounts.id"], name="fk_invitations_invitee_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["inviter_id"], ["accounts.id"], name="fk_invitations_inviter_id_accounts"
        ),
        sa.PrimaryKeyConstraint("conversation_id", "invitee_id", name="pk_invitations"),
    )
    op.create_index("ix_invitations_invitee_id_state", "invitations", ["invitee_id", "state"])
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("phone_index", sa.String(length=64), nullable=True))
        batch.create_index("ix_identities_phone_index", ["phone_index"])
    op.create_table(
        "identity_links",
        sa.Column("blind_index", sa.String(length=64), nullable=False),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("linked_by", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_by"], ["accounts.id"], name="fk_identity_links_linked_by_accounts"
        ),
        sa.PrimaryKeyConstraint("blind_index", name="pk_identity_links"),
    )
    op.create_index("ix_identity_links_person_key", "identity_links", ["person_key"])
    with op.batch_alter_table("sanctions") as batch:
        batch.add_column(sa.Column("person_key", sa.String(length=64), nullable=True))
        batch.create_index("ix_sanctions_person_key", ["person_key"])
    # The users' sanctions on record follow their identity from now on.
    op.execute(
        "UPDATE sanctions SET person_key = (SELECT blind_index FROM identities"
        " WHERE identities.account_id = sanctions.subject_id)"
        " WHERE subject_type = 'user'"
    )


def downgrade() -> None:
    op.drop_index("ix_invitations_invitee_id_state", table_name="invitations")
    op.drop_table("invitations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_created_by_created_at")
        batch.drop_column("description")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("bio")
    with op.batch_alter_table("sanctions") as batch:
        batch.drop_index("ix_sanctions_person_key")
        batch.drop_column("person_key")
    op.drop_index("ix_identity_links_person_key", table_name="identity_links")
    op.drop_table("identity_links")
    with op.batch_alter_table("identities") as batch:
        batch.drop_index("ix_identities_phone_index")
        batch.drop_column("phone_index")
