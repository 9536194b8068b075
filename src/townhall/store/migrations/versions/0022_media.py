"""media: uploaded images and files, and the messages and posts that carry them

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

Int64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _carried_by(table: str, item: str, items: str) -> None:
    """A link table: the media an item (a message, a post) carries, in order."""
    op.create_table(
        table,
        sa.Column(f"{item}_id", Int64, nullable=False),
        sa.Column("position", Int64, nullable=False),
        sa.Column("media_id", Int64, nullable=False),
        sa.ForeignKeyConstraint(
            [f"{item}_id"], [f"{items}.id"], name=f"fk_{table}_{item}_id_{items}"
        ),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"], name=f"fk_{table}_media_id_media"),
        sa.PrimaryKeyConstraint(f"{item}_id", "position", name=f"pk_{table}"),
        sqlite_with_rowid=False,
    )
    op.create_index(f"ix_{table}_media_id", table, ["media_id"])


def upgrade() -> None:
    # Nullable columns: added in place, without rewriting the tables.
    op.add_column("messages", sa.Column("media", sa.Text(), nullable=True))
    op.add_column("posts", sa.Column("media", sa.Text(), nullable=True))
    op.create_table(
        "media",
        sa.Column("id", Int64, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploader_id", Int64, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", Int64, nullable=False),
        sa.Column("width", Int64, nullable=True),
        sa.Column("height", Int64, nullable=True),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("pdq_quality", Int64, nullable=True),
        sa.Column("thumbnail_sha256", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=1024), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("removed_at", sa.BigInteger(), nullable=True),
        sa.Column("removed_by_case", Int64, nullable=True),
        sa.ForeignKeyConstraint(
            ["uploader_id"], ["accounts.id"], name="fk_media_uploader_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_case"], ["review_cases.id"], name="fk_media_removed_by_case_review_cases"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_media"),
    )
    op.create_index("ix_media_sha256", "media", ["sha256"])
    op.create_index("ix_media_removed_by_case", "media", ["removed_by_case"])
    op.create_index("ix_media_uploader_id_created_at", "media", ["uploader_id", "created_at"])
    _carried_by("message_media", "message", "messages")
    _carried_by("post_media", "post", "posts")


def downgrade() -> None:
    op.drop_table("post_media")
    op.drop_table("message_media")
    op.drop_table("media")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("media")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("media")
