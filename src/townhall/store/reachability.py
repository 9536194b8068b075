"""A database server that does not answer (PostgreSQL stopped, restarting, out of connections or
out of reach): the error it causes, wherever it surfaces, becomes one domain error (503
`database_unavailable`, with Retry-After), logged once when it starts and once when the database
answers again. SQLAlchemy drops the pool's connections on such an error, and the next request
connects anew: the server recovers by itself (docs/deploy.md, "When PostgreSQL or Redis is away").
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError

from townhall.domain.errors import ErrorCode, Unavailable
from townhall.store.storage import causes

log = logging.getLogger(__name__)

# SQLSTATEs of a server that cannot serve now: class 08 (the connection failed), 57P01-03
# (shut down by an operator or a crash, starting up), 53300 (too many connections).
UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
# When a client may try again: a restarting PostgreSQL is back in seconds.
RETRY_AFTER_SECONDS = 5


def database_unavailable() -> Unavailable:
    return Unavailable(
        "the database does not answer; nothing was written, try again shortly",
        code=ErrorCode.DATABASE_UNAVAILABLE,
        retry_after=RETRY_AFTER_SECONDS,
    )


def is_unreachable(error: BaseException) -> bool:
    for cause in causes(error):
        if isinstance(cause, Unavailable) and cause.code == ErrorCode.DATABASE_UNAVAILABLE:
            return True
        if isinstance(cause, ConnectionError | TimeoutError | socket.gaierror):
            return True
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and state.startswith(UNAVAILABLE_STATES):
            return True
        if type(cause).__name__ == "InterfaceError" and "closed" in str(cause):
            return True  # asyncpg: the connection was closed under a running statement
    return False


class Reachability:
    """Whether the database answered the last time it was asked."""

    def __init__(self) -> None:
        self._away = False

    @property
    def away(self) -> bool:
        return self._away

    def refuses(self, error: BaseException) -> bool:
        """Whether `error` says the database is away (the first such error is logged)."""
        if not is_unreachable(error):
            return False
        if not self._away:
            self._away = True
            log.warning(
                "the database does not answer: requests that need it get 503 "
                "database_unavailable until it does; the server reconnects by itself"
            )
        return True

    @contextmanager
    def guarding(self) -> Iterator[None]:
        """Run work on the database: an error that says it is away raises `Unavailable`."""
        try:
            yield
        except Exception as error:
            if self.refuses(error):
                raise database_unavailable() from error
            raise
        if self._away:
            self._away = False
            log.info("the database answers again")
