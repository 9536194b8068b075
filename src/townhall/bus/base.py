"""The bus interface. Publishing never blocks the caller: a slow subscriber is its own problem."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol

Deliver = Callable[[bytes, object], None]
"""Receives a payload and the opaque origin tag its publisher gave (None from other nodes)."""


class Subscription(Protocol):
    def close(self) -> None: ...

    async def ready(self) -> None:
        """Return once publishes from every process reach this subscriber (at once in one
        process), or once the bus has waited as long as it may: await it before reading what a
        delivery would announce, so nothing committed in between goes unannounced."""
        ...


class Bus(Protocol):
    def publish(self, channel: str, payload: bytes, origin: object = None) -> None: ...

    def publish_here(self, channel: str, payload: bytes, origin: object = None) -> None:
        """Deliver to this process's subscribers only: for what every process derives for
        itself from one message all of them received (a post rung to its local followers)."""
        ...

    def subscribe(self, channel: str, deliver: Deliver) -> Subscription: ...

    def after_gap(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever messages from other processes may have been missed (the bus
        lost its connection and is back): whatever they would have said must be re-read."""
        ...

    async def close(self) -> None: ...

    @property
    def connected(self) -> bool:
        """Whether publishes reach the other processes now (always, with one process)."""
        ...

    @property
    def dropped(self) -> int:
        """Publishes since start that never reached the other processes."""
        ...


class Subscribers:
    """This process's subscribers, by channel: what each bus delivers to."""

    __slots__ = ("_by_channel",)

    def __init__(self) -> None:
        self._by_channel: dict[str, list[Deliver]] = {}

    def add(self, channel: str, deliver: Deliver) -> bool:
        """Whether `channel` had no subscriber before."""
        before = self._by_channel.get(channel, ())
        # A new list each time: a delivery iterating the old one is not disturbed.
        self._by_channel[channel] = [*before, deliver]
        return not before

    def remove(self, channel: str, deliver: Deliver) -> bool:
        """Whether `channel` has no subscriber left (and had one)."""
        remaining = [d for d in self._by_channel.get(channel, ()) if d is not deliver]
        if remaining:
            self._by_channel[channel] = remaining
            return False
        return self._by_channel.pop(channel, None) is not None

    def of(self, channel: str) -> list[Deliver] | tuple[()]:
        return self._by_channel.get(channel, ())

    def channels(self) -> Iterator[str]:
        return iter(self._by_channel)

    def clear(self) -> None:
        self._by_channel.clear()


class BusSubscription:
    """A subscriber's handle: `close` removes it, `ready` is the bus's own wait."""

    __slots__ = ("_close", "_ready")

    def __init__(self, close: Callable[[], object], ready: Callable[[], Awaitable[None]]) -> None:
        self._close = close
        self._ready = ready

    def close(self) -> None:
        self._close()

    async def ready(self) -> None:
        await self._ready()


def user_channel(account_id: int) -> str:
    return f"user:{account_id}"
