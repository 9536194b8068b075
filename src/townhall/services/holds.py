"""How many of something each account holds at once (long polls waiting, sockets open), within
a cap, in this process. One counter, so every per-account cap counts the same way."""

from __future__ import annotations


class Holds:
    def __init__(self, per_account: int) -> None:
        self.per_account = per_account
        self._held: dict[int, int] = {}

    def take(self, account_id: int) -> bool:
        """One more for `account_id`; False, taking nothing, when it holds the cap already."""
        held = self._held.get(account_id, 0)
        if held >= self.per_account:
            return False
        self._held[account_id] = held + 1
        return True

    def release(self, account_id: int) -> None:
        left = self._held[account_id] - 1
        if left:
            self._held[account_id] = left
        else:
            del self._held[account_id]
