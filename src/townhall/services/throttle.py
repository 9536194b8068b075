"""A sliding-window limit per key (an IP address, an account): at most N events an hour."""

from __future__ import annotations

from collections import deque

KEYS_MAX = 100_000


class SlidingWindow:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self._limit = limit
        self._window = window_seconds
        self._events: dict[str, deque[float]] = {}

    def take(self, key: str, now: float) -> float | None:
        """Record an event for `key`: None when allowed, else the seconds until it would be."""
        events = self._events.pop(key, None) or deque()
        self._events[key] = events  # re-inserted: the dict's order is least recently used first
        while events and events[0] <= now - self._window:
            events.popleft()
        if len(events) >= self._limit:
            return events[0] + self._window - now
        events.append(now)
        if len(self._events) > KEYS_MAX:
            del self._events[next(iter(self._events))]
        return None
