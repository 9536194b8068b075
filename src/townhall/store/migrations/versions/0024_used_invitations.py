"""used invitations: an invitation still waiting though its invitee joined the group another way
since (a join link, an approved request, being added) is used up, as joining now uses it up

Before this, such an invitation kept waiting, and a member removed later could accept it and be
let in again.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

# Answered by the invitee's first join since it was sent.
USED_UP = """
UPDATE invitations
SET state = 'superseded', answered_at = (
    SELECT MIN(joined.at) FROM member_history AS joined
    WHERE joined.conversation_id = invitations.conversation_id
      AND joined.account_id = invitations.invitee_id
      AND joined.change = 'joined'
      AND joined.at >= invitations.created_at
)
WHERE state = 'pending' AND EXISTS (
    SELECT 1 FROM member_history AS joined
    WHERE joined.conversation_id = invitations.conversation_id
      AND joined.account_id = invitations.invitee_id
      AND joined.change = 'joined'
      AND joined.at >= invitations.created_at
)
"""


def upgrade() -> None:
    op.execute(USED_UP)


def downgrade() -> None:
    pass  # an invitation used up stays used up: waiting again, it would let a removed member in
