"""timeline positions: a post takes its place in timelines when published, not when written

Before this, the timeline's `since` and `latest` counted post ids, and a held post approved after
newer ones were published had an id below the `latest` its subscribers held: a client that
polled never saw it.

Every post that may have been shown takes its id as its position, so the `latest` and
`next_cursor` clients hold (post ids) mean the same after; new positions continue above them.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

Int64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Published, removed (a tombstone where it was) and deleted (its operator took it down, maybe
# after a client saw it): the top of these is at least every `latest` handed out. Held and
# withheld posts were never shown; they take a position if they are ever published.
ONCE_SHOWN = """
UPDATE posts SET timeline_position = id WHERE status IN ('published', 'removed', 'deleted')
"""


def upgrade() -> None:
    op.add_column("posts", sa.Column("timeline_position", Int64, nullable=True))
    op.execute(ONCE_SHOWN)
    op.create_index("ix_posts_timeline_position", "posts", ["timeline_position"], unique=True)
    op.create_index(
        "ix_posts_public_account_id_timeline_position",
        "posts",
        ["public_account_id", "timeline_position"],
    )


def downgrade() -> None:
    op.drop_index("ix_posts_public_account_id_timeline_position", table_name="posts")
    op.drop_index("ix_posts_timeline_position", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("timeline_position")
