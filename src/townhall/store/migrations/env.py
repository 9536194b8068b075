"""Alembic environment: runs on the connection that store.migrate hands over."""

from __future__ import annotations

from alembic import context

from townhall.store.migrate import in_schema
from townhall.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=in_schema,
)
with context.begin_transaction():
    context.run_migrations()
