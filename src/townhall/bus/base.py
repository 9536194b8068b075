"""The bus interface. Publishing never blocks the caller: a slow subscriber is its own problem."""

from __future__ import annotations

from collections.abc import Callable
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


def user_channel(account_id: int) -> str:
    return f"user:{account_id}"
