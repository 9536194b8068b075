"""What `/readyz` reads and writes to tell whether this node can serve: a write to its own probe
row, and the schema's revision."""

from __future__ import annotations

from sqlalchemy import insert, text, update

from townhall.store.database import DbConnection
from townhall.store.schema import readiness_probes


async def record_probe(conn: DbConnection, node: str, now_ms: int) -> None:
    """A real write, committed by the caller: it fails when the database cannot take writes
    (read-only, locked beyond its timeout, or the disk full)."""
    result = await conn.execute(
        update(readiness_probes).where(readiness_probes.c.node == node).values(probed_at=now_ms)
    )
    if result.rowcount == 0:
        await conn.execute(insert(readiness_probes).values(node=node, probed_at=now_ms))


async def schema_revision(conn: DbConnection) -> str | None:
    revision: str | None = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    return revision
