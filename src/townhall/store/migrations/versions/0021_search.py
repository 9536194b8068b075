"""search: the text of messages, public accounts and posts, indexed for full-text search

Three index tables (store/search.py), each row keyed by the indexed row's id: messages' text,
posts' titles, public accounts' names, as `domain.search.indexed_text` cuts them into tokens. On
SQLite they are FTS5 tables; on PostgreSQL tables of a tsvector under a GIN index. The rows
already stored are indexed here, a batch at a time.

The tokens come from the application's own function, which the index must always agree with:
a change to it needs a migration that indexes everything again, as this one does.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from townhall.domain.search import indexed_text

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

BATCH = 10_000
# Index table: the table it indexes, and the column.
INDEXES = {
    "message_search": ("messages", "text"),
    "post_search": ("posts", "title"),
    "public_account_search": ("public_accounts", "name"),
}


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    for index, (source, text_column) in INDEXES.items():
        body: sa.ColumnElement[str] = sa.bindparam("body")
        if postgresql:
            op.execute(f"CREATE TABLE {index} (rowid BIGINT PRIMARY KEY, body TSVECTOR NOT NULL)")
            op.execute(f"CREATE INDEX ix_{index}_body ON {index} USING gin (body)")
            body = sa.func.to_tsvector(sa.literal_column("'simple'"), body)
        else:
            # unicode61 splits at the spaces between the tokens; removing diacritics is not its
            # business (PostgreSQL's 'simple' does not either). No column sizes: nothing ranks.
            op.execute(
                f"CREATE VIRTUAL TABLE {index} USING fts5("
                "body, tokenize = 'unicode61 remove_diacritics 0', columnsize = 0)"
            )
        rows = sa.table(source, sa.column("id"), sa.column(text_column))
        write = sa.insert(sa.table(index, sa.column("rowid"), sa.column("body"))).values(
            rowid=sa.bindparam("rowid"), body=body
        )
        _index_existing(bind, rows, text_column, write)


def _index_existing(
    bind: sa.Connection, rows: sa.TableClause, text_column: str, write: sa.Insert
) -> None:
    read = sa.select(rows.c.id, rows.c[text_column]).order_by(rows.c.id).limit(BATCH)
    after = 0
    while found := bind.execute(read.where(rows.c.id > after)).all():
        indexed = [{"rowid": row_id, "body": indexed_text(text)} for row_id, text in found]
        indexed = [row for row in indexed if row["body"]]
        if indexed:
            bind.execute(write, indexed)
        after = found[-1][0]


def downgrade() -> None:
    for index in INDEXES:
        op.execute(f"DROP TABLE {index}")
