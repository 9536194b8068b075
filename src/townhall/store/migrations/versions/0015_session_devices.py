"""sessions get an id of their own, the device they were opened on and when last seen

A user lists their sessions and ends one by its id, so the token's hash, the key until now,
never has to leave the server. Existing sessions are numbered in the order they are stored and
count as last seen when they were opened.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

COPY_ROWS = """
INSERT INTO sessions_new (token_hash, account_id, created_at, expires_at, revoked_at, last_seen_at)
SELECT token_hash, account_id, created_at, expires_at, revoked_at, created_at FROM sessions
ORDER BY created_at
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # BIGSERIAL numbers the rows already there.
        op.execute("ALTER TABLE sessions DROP CONSTRAINT pk_sessions")
        op.execute("ALTER TABLE sessions ADD COLUMN id BIGSERIAL")
        op.execute("ALTER TABLE sessions ADD CONSTRAINT pk_sessions PRIMARY KEY (id)")
        op.create_unique_constraint("uq_sessions_token_hash", "sessions", ["token_hash"])
        op.add_column("sessions", sa.Column("last_seen_at", sa.BigInteger(), nullable=True))
        op.execute("UPDATE sessions SET last_seen_at = created_at")
        op.alter_column("sessions", "last_seen_at", nullable=False)
        op.add_column("sessions", sa.Column("device", sa.String(length=200), nullable=True))
        return
    # SQLite cannot change a primary key in place: a new table, the rows copied (each numbered
    # as its rowid), the old one dropped.
    op.create_table(
        "sessions_new",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("device", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_sessions_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
    )
    op.execute(COPY_ROWS)
    op.drop_index("ix_sessions_account_id", table_name="sessions")
    op.drop_table("sessions")
    op.rename_table("sessions_new", "sessions")
    op.create_index("ix_sessions_account_id", "sessions", ["account_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("sessions", "device")
        op.drop_column("sessions", "last_seen_at")
        op.drop_constraint("uq_sessions_token_hash", "sessions", type_="unique")
        op.execute("ALTER TABLE sessions DROP CONSTRAINT pk_sessions")
        op.drop_column("sessions", "id")
        op.execute("ALTER TABLE sessions ADD CONSTRAINT pk_sessions PRIMARY KEY (token_hash)")
        return
    with op.batch_alter_table("sessions", recreate="always") as batch:
        batch.drop_column("device")
        batch.drop_column("last_seen_at")
        batch.drop_constraint("uq_sessions_token_hash", type_="unique")
        batch.drop_column("id")
        batch.create_primary_key("pk_sessions", ["token_hash"])
