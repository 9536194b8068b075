"""How many of something each holder has at once (an account's long polls waiting and sockets
open, a client address's connections), within a cap, in this process. One counter, so every
such cap counts the same way."""

from __future__ import annotations

from collections.abc import Hashable


class Holds:
    def __init__(self, per_holder: int) -> None:
        self.per_holder = per_holder
        self._held: dict[Hashable, int] = {}

    def take(self, holder: Hashable) -> bool:
        """One more for `holder`; False, taking nothing, when it holds the cap already."""
        held = self._held.get(holder, 0)
        if held >= self.per_holder:
            return False
        self._held[holder] = held + 1
        return True

    def release(self, holder: Hashable) -> None:
        left = self._held[holder] - 1
        if left:
            self._held[holder] = left
        else:
            del self._held[holder]
