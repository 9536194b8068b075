"""Choose the bus backend from its URL."""

from __future__ import annotations

from townhall.bus.base import Bus
from townhall.bus.memory import MemoryBus

REDIS_SCHEMES = ("redis://", "rediss://")


def open_bus(url: str, *, prefix: str = "townhall:") -> Bus:
    """The bus at `url`; on Redis, every channel's name starts with `prefix`."""
    if url == "memory://":
        return MemoryBus()
    if url.startswith(REDIS_SCHEMES):
        return _redis_bus(url, prefix)
    raise ValueError("bus_url must be memory://, redis://… or rediss://…")


def _redis_bus(url: str, prefix: str) -> Bus:
    # Imported here: a server on memory:// starts without the redis extra installed.
    try:
        from townhall.bus.redis import RedisBus
    except ModuleNotFoundError as exc:
        if exc.name != "redis":
            raise
        raise RuntimeError(
            "bus_url is a Redis URL but the redis client is not installed: "
            "pip install 'townhall[redis]'"
        ) from exc
    return RedisBus(url, prefix=prefix)
