"""sequences for message ids and stream positions on PostgreSQL, where several processes write

SQLite has one writing process, which counts both in memory (store/positions.py); on PostgreSQL
every process takes them from these sequences, which start above what is stored.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SEQUENCES = {
    "message_ids": "SELECT max(id) FROM messages",
    "stream_positions": (
        "SELECT greatest((SELECT max(position) FROM messages), (SELECT max(position) FROM events))"
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, top in SEQUENCES.items():
        op.execute(f"CREATE SEQUENCE {name} AS bigint")
        op.execute(f"SELECT setval('{name}', coalesce(({top}), 0) + 1, false)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in SEQUENCES:
        op.execute(f"DROP SEQUENCE {name}")
