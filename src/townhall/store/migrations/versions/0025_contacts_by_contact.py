"""contacts by contact: others' ties to an account, found when it deregisters

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_contacts_contact_id", "contacts", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_contacts_contact_id", table_name="contacts")
