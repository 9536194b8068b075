"""Slow, oversized and too many connections, refused in the HTTP protocol before the app sees them.

uvicorn's httptools protocol keeps whatever head a client sends (a 25 MB header is held whole
while it grows) and waits for the rest of it forever, so anyone can hold the server's memory and
file descriptors with half-sent requests, no account needed (slowloris). The protocol here
counts a head's bytes before the parser keeps them and answers 431 past `max_header_bytes` or
`max_headers`; closes a connection whose head (or body) is not in by its deadline; and closes at
once a connection from an address that holds `connections_per_address` already — except a
trusted proxy's, which speaks for many clients.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable
from typing import Any, ClassVar

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from townhall.api.errors import error_body
from townhall.config import LimitsSettings, Settings
from townhall.domain.errors import ErrorCode
from townhall.services.holds import Holds


class ClientAddresses:
    """Connections open per client address, within a cap. An IPv6 client counts by its /64 (one
    subscriber's share); a trusted proxy is not counted at all."""

    def __init__(self, per_address: int, trusted_proxies: list[str]) -> None:
        self._open = Holds(per_address)
        self._proxies = [ipaddress.ip_network(proxy, strict=False) for proxy in trusted_proxies]

    def take(self, host: str) -> bool:
        holder = self._holder(host)
        return holder is None or self._open.take(holder)

    def release(self, host: str) -> None:
        holder = self._holder(host)
        if holder is not None:
            self._open.release(holder)

    def _holder(self, host: str) -> str | None:
        address = ipaddress.ip_address(host)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if any(address in proxy for proxy in self._proxies):
            return None
        if isinstance(address, ipaddress.IPv6Address):
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        return str(address)


class _TooManyHeaders(Exception):
    """Raised from the parser's callback to stop it at once."""


class GuardedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of `connection_protocols`."""

    limits: ClassVar[LimitsSettings]
    addresses: ClassVar[ClientAddresses]
    too_large: ClassVar[bytes]  # the whole 431 answer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._host: str | None = None  # the address counted for this connection
        self._awaiting_head = True
        self._head_bytes = 0
        self._refused = False  # after a 431 or at the cap: what comes is read and dropped
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else None
        if host is not None and not self.addresses.take(host):
            self._refused = True
            transport.close()
            return
        self._host = host
        self._arm(self.limits.header_timeout_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._host is not None:
            self.addresses.release(self._host)
            self._host = None
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes the transport over, and releases the address when it ends.
        self._host = None
        super().handle_websocket_upgrade()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        step = self.limits.max_header_bytes
        # Fed a step at a time, so that the parser never holds much more than a head's limit
        # before it is counted: a head can start anywhere in what arrives.
        pieces: Iterable[bytes | memoryview] = (data,)
        if len(data) > step:
            view = memoryview(data)
            pieces = (view[start : start + step] for start in range(0, len(view), step))
        for piece in pieces:
            if self._awaiting_head:
                self._head_bytes += len(piece)
            if not self._parse(piece):
                return
            if self._awaiting_head and self._head_bytes > step:
                self._refuse_head()
                return
        self._keep_deadline()

    def _keep_deadline(self) -> None:
        """A deadline for what is under way once what arrived is parsed: a head begun, or a
        body. A request that came whole (most do) needs none, and costs no timer. A deadline
        set stays as it is: trickling bytes in does not move it."""
        if self._deadline is not None:
            return
        if not self._awaiting_head:
            self._arm(self.limits.body_timeout_seconds)
        elif self._head_bytes:
            self._arm(self.limits.header_timeout_seconds)

    def _parse(self, piece: bytes | memoryview) -> bool:
        """Feed the parser; False when the connection is done with HTTP (refused, or upgraded)."""
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserError as error:
            if isinstance(error.__context__, _TooManyHeaders):
                self._refuse_head()
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return False
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        return True

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= self.limits.max_headers:
            raise _TooManyHeaders
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._disarm()  # the body's deadline, if it does not come whole, is _keep_deadline's
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._awaiting_head = True
        self._head_bytes = 0
        super().on_message_complete()

    def _refuse_head(self) -> None:
        self._refused = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # an answer is under way: a 431 cannot come before it
            return
        self.transport.write(self.too_large)
        # The client gets the answer and the end of the stream; what it still sends is dropped
        # until it closes, or the head's deadline passes (set now if the head came in one go).
        if self.transport.can_write_eof():
            self.transport.write_eof()
        if self._deadline is None:
            self._arm(self.limits.header_timeout_seconds)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._past_deadline)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _past_deadline(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class CountedWebSocket(WebSocketsSansIOProtocol):
    """A WebSocket made from a `GuardedHttp` connection, whose address it releases at its end."""

    addresses: ClassVar[ClientAddresses]

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.client is not None:
            self.addresses.release(self.client[0])


def connection_protocols(
    settings: Settings,
) -> tuple[type[GuardedHttp], type[CountedWebSocket]]:
    """The HTTP and WebSocket protocols for `uvicorn.run`, sharing one count of addresses."""
    configured = settings.limits
    counted = ClientAddresses(configured.connections_per_address, settings.trusted_proxies)
    refusal = orjson.dumps(
        error_body(
            ErrorCode.HEADERS_TOO_LARGE,
            f"request headers are limited to {configured.max_header_bytes} bytes "
            f"and {configured.max_headers} fields",
        )
    )

    class Http(GuardedHttp):
        limits = configured
        addresses = counted
        too_large = b"".join(
            [
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(refusal),
                b"connection: close\r\n\r\n",
                refusal,
            ]
        )

    class WebSocket(CountedWebSocket):
        addresses = counted

    return Http, WebSocket
