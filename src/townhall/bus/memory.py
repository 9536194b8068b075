"""The in-process bus: one server process, no other software. Delivery is a direct call."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from townhall.bus.base import BusSubscription, Deliver, Subscribers


class MemoryBus:
    def __init__(self) -> None:
        self._subscribers = Subscribers()

    def publish(self, channel: str, payload: bytes, origin: object = None) -> None:
        for deliver in self._subscribers.of(channel):
            deliver(payload, origin)

    publish_here = publish  # this process is the only one

    def subscribe(self, channel: str, deliver: Deliver) -> BusSubscription:
        self._subscribers.add(channel, deliver)
        return BusSubscription(partial(self._subscribers.remove, channel, deliver), _at_once)

    def after_gap(self, callback: Callable[[], None]) -> None:
        pass  # one process misses nothing

    async def close(self) -> None:
        self._subscribers.clear()

    connected = True  # one process: nothing to reach
    dropped = 0


async def _at_once() -> None:
    """One process: a subscriber gets every publish from the moment it subscribes."""
