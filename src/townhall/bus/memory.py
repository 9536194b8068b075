"""The in-process bus: one server process, no other software. Delivery is a direct call."""

from __future__ import annotations

from collections.abc import Callable

from townhall.bus.base import Deliver


class MemorySubscription:
    __slots__ = ("_bus", "_channel", "_deliver")

    def __init__(self, bus: MemoryBus, channel: str, deliver: Deliver) -> None:
        self._bus = bus
        self._channel = channel
        self._deliver = deliver

    def close(self) -> None:
        self._bus._remove(self._channel, self._deliver)

    async def ready(self) -> None:
        return None


class MemoryBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[Deliver]] = {}

    def publish(self, channel: str, payload: bytes, origin: object = None) -> None:
        for deliver in self._subscribers.get(channel, ()):
            deliver(payload, origin)

    publish_here = publish  # this process is the only one

    def subscribe(self, channel: str, deliver: Deliver) -> MemorySubscription:
        # A new list each time: a publish iterating the old one is not disturbed.
        self._subscribers[channel] = [*self._subscribers.get(channel, ()), deliver]
        return MemorySubscription(self, channel, deliver)

    def _remove(self, channel: str, deliver: Deliver) -> None:
        remaining = [d for d in self._subscribers.get(channel, ()) if d is not deliver]
        if remaining:
            self._subscribers[channel] = remaining
        else:
            self._subscribers.pop(channel, None)

    def after_gap(self, callback: Callable[[], None]) -> None:
        pass  # one process misses nothing

    async def close(self) -> None:
        self._subscribers.clear()
