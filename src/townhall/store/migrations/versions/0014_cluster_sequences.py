"""PostgreSQL for several processes: 64-bit integers, sequences for message ids and positions

SQLite's integers are 64-bit; on PostgreSQL every integer column (and the sequence of each id)
becomes BIGINT. SQLite has one writing process, which counts message ids and stream positions in
memory (store/positions.py); on PostgreSQL every process takes them from two sequences, which
start above what is stored.

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


WIDEN_INTEGERS = """
DO $$
DECLARE found record;
BEGIN
    FOR found IN SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND data_type = 'integer' LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE bigint',
                       found.table_name, found.column_name);
    END LOOP;
    FOR found IN SELECT sequence_name FROM information_schema.sequences
            WHERE sequence_schema = current_schema() AND data_type = 'integer' LOOP
        EXECUTE format('ALTER SEQUENCE %I AS bigint', found.sequence_name);
    END LOOP;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(WIDEN_INTEGERS)
    for name, top in SEQUENCES.items():
        op.execute(f"CREATE SEQUENCE {name} AS bigint")
        op.execute(f"SELECT setval('{name}', coalesce(({top}), 0) + 1, false)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in SEQUENCES:
        op.execute(f"DROP SEQUENCE {name}")
    # The integers stay 64-bit: narrowing them could lose values.
