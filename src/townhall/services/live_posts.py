"""Live push of posts: which online users of this node follow which public accounts.

Publishing writes one row and rings one bus channel whatever the subscriber count; each node
then pushes the post to its own online followers (fan-out on read for everyone else)."""

from __future__ import annotations

import asyncio

import orjson

from townhall.bus.base import Bus, Subscription, user_channel
from townhall.store import public_accounts as account_store
from townhall.store.database import Database

POSTS_CHANNEL = "posts"
# Followers rung between two yields to the event loop: a post to 100,000 online followers must
# not hold up every other request until the last one is rung.
PUSH_SLICE = 500


class LiveFollowers:
    def __init__(self, database: Database, bus: Bus) -> None:
        self._db = database
        self._bus = bus
        self._followers: dict[int, set[int]] = {}  # public account -> online users following it
        self._online: dict[int, int] = {}  # user -> open sockets
        self._follows: dict[int, set[int]] = {}  # online user -> accounts followed
        self._subscription: Subscription | None = None
        self._pushes: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._subscription = self._bus.subscribe(POSTS_CHANNEL, self._on_post)

    def stop(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        for push in self._pushes:
            push.cancel()

    def publish(self, frame: bytes) -> None:
        """One bus message per post: every node pushes it to its own online followers."""
        self._bus.publish(POSTS_CHANNEL, frame)

    async def connect(self, user_id: int) -> None:
        """A socket of the user opened: learn what they follow (once per online user)."""
        if user_id in self._online:
            self._online[user_id] += 1
            return
        async with self._db.reading() as conn:
            followed = await account_store.followed_by(conn, user_id)
        if user_id in self._online:  # another socket of the user loaded it meanwhile
            self._online[user_id] += 1
            return
        self._online[user_id] = 1
        self._follows[user_id] = set()
        for public_account_id in followed:
            self.followed(user_id, public_account_id)

    def disconnect(self, user_id: int) -> None:
        remaining = self._online.get(user_id, 0) - 1
        if remaining > 0:
            self._online[user_id] = remaining
            return
        self._online.pop(user_id, None)
        for public_account_id in self._follows.pop(user_id, ()):
            followers = self._followers.get(public_account_id)
            if followers is not None:
                followers.discard(user_id)
                if not followers:
                    del self._followers[public_account_id]

    def followed(self, user_id: int, public_account_id: int) -> None:
        follows = self._follows.get(user_id)
        if follows is None:  # not online here: the timeline will show it
            return
        follows.add(public_account_id)
        self._followers.setdefault(public_account_id, set()).add(user_id)

    def unfollowed(self, user_id: int, public_account_id: int) -> None:
        follows = self._follows.get(user_id)
        if follows is None:
            return
        follows.discard(public_account_id)
        followers = self._followers.get(public_account_id)
        if followers is not None:
            followers.discard(user_id)
            if not followers:
                del self._followers[public_account_id]

    def _on_post(self, frame: bytes, _origin: object) -> None:
        public_account_id = orjson.loads(frame)["post"]["public_account_id"]
        followers = tuple(self._followers.get(public_account_id, ()))
        if followers:
            push = asyncio.get_running_loop().create_task(self._push(followers, frame))
            self._pushes.add(push)
            push.add_done_callback(self._pushes.discard)

    async def _push(self, followers: tuple[int, ...], frame: bytes) -> None:
        # Every node received the post and rings its own followers: to this process only, or a
        # user with sockets on two nodes would get it twice and Redis would carry every ring.
        publish = self._bus.publish_here
        for start in range(0, len(followers), PUSH_SLICE):
            for user_id in followers[start : start + PUSH_SLICE]:
                publish(user_channel(user_id), frame)
            await asyncio.sleep(0)
