"""sanctions follow the person: identity links, phone index, the sanction's identity

Revision ID: 0012
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    with op.batch_alter_table("sanctions") as batch:
        batch.drop_index("ix_sanctions_person_key")
        batch.drop_column("person_key")
    op.drop_index("ix_identity_links_person_key", table_name="identity_links")
    op.drop_table("identity_links")
    with op.batch_alter_table("identities") as batch:
        batch.drop_index("ix_identities_phone_index")
        batch.drop_column("phone_index")
