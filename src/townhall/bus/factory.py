"""Choose the bus backend from its URL."""

from __future__ import annotations

from townhall.bus.base import Bus
from townhall.bus.memory import MemoryBus


def open_bus(url: str) -> Bus:
    if url == "memory://":
        return MemoryBus()
    raise ValueError(f"bus_url {url!r} is not supported yet; use memory://")
