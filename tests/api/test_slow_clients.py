"""Huge heads, slow and idle clients, and too many connections from one address, against a real
server without a proxy in front (api/connections.py).

Clients speak raw HTTP/1.1 over sockets bound to chosen loopback addresses: Linux routes all of
127/8 to this machine, so 127.0.0.2 and 127.0.0.3 are two clients to the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import PASSWORD, MakeUser, Server, ServerPool
from tests.support import drill_scale
from townhall.client import TownhallClient

pytestmark = pytest.mark.http_layer  # the PostgreSQL run leaves it out (Makefile)

WAIT = 10  # seconds: generous, only reached when something is wrong
CAP = 6  # connections_per_address of the guarded server
PROXY = "127.0.0.9"
GUARDED = {
    "limits__header_timeout_seconds": 1.5,
    "limits__body_timeout_seconds": 1.5,
    "limits__keep_alive_timeout_seconds": 1,
    "limits__connections_per_address": CAP,
    "trusted_proxies": json.dumps([PROXY]),
    "ws_ping_interval_seconds": 0.5,
    "ws_ping_timeout_seconds": 0.5,
}
HEAD = b"GET /healthz HTTP/1.1\r\nHost: townhall\r\n"


@pytest.fixture
def guarded(servers: ServerPool) -> Server:
    return servers.shared(**GUARDED)


@dataclass
class Answer:
    status: int | None  # None: closed without a word
    body: bytes = b""


@asynccontextmanager
async def connection(
    server: Server, source: str = "127.0.0.1"
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port), local_addr=(source, 0))
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def read_to_the_end(reader: asyncio.StreamReader) -> bytes:
    """All the server says until it closes (a reset after its answer included)."""
    said = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := await asyncio.wait_for(reader.read(65536), WAIT):
            said += chunk
    return said


def answer_in(said: bytes) -> Answer:
    if not said:
        return Answer(None)
    head, _, body = said.partition(b"\r\n\r\n")
    return Answer(int(head.split(b" ")[1]), body)


async def ask(server: Server, request: bytes, source: str = "127.0.0.1") -> Answer:
    """One request on a connection of its own, closed after the answer."""
    async with connection(server, source) as (reader, writer):
        writer.write(request)
        return answer_in(await read_to_the_end(reader))


async def seconds_until_closed(reader: asyncio.StreamReader) -> float:
    started = time.monotonic()
    await read_to_the_end(reader)
    return time.monotonic() - started


def closing(head: bytes) -> bytes:
    return head + b"Connection: close\r\n\r\n"


# Heads too large --------------------------------------------------------------------------------


async def test_a_header_of_a_megabyte_is_answered_431(guarded: Server) -> None:
    answer = await ask(guarded, closing(HEAD + b"X-Big: " + b"a" * 1_000_000 + b"\r\n"))

    assert answer.status == 431
    assert orjson.loads(answer.body)["error"]["code"] == "headers_too_large"


async def test_a_refused_head_is_closed_at_its_deadline_though_the_client_stays(
    guarded: Server,
) -> None:
    """After a 431 the client may keep its end open and go on sending: what it sends is dropped,
    and the connection ends at the head's deadline, also for a later request of a kept-alive
    connection whose head came in one go."""
    async with connection(guarded) as (reader, writer):
        writer.write(HEAD + b"\r\n")
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        writer.write(HEAD + b"X-Big: " + b"a" * 100_000 + b"\r\n")
        started = time.monotonic()
        assert b"HTTP/1.1 431 " in await read_to_the_end(reader)  # after the first answer
        # The server has ended its side; its end of the connection stays open until the deadline.
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            while time.monotonic() - started < WAIT and not writer.transport.is_closing():
                writer.write(b"X-Slow: a\r\n")
                await writer.drain()
                await asyncio.sleep(0.2)
        waited = time.monotonic() - started

    assert 1.3 < waited < 5


async def test_two_hundred_headers_are_answered_431(guarded: Server) -> None:
    many = b"".join(b"X-Header-%d: value\r\n" % number for number in range(200))
    answer = await ask(guarded, closing(HEAD + many))

    assert answer.status == 431
    assert orjson.loads(answer.body)["error"]["code"] == "headers_too_large"


async def test_a_request_within_both_limits_is_served(guarded: Server) -> None:
    ninety = b"".join(b"X-Header-%d: %s\r\n" % (n, b"v" * 100) for n in range(90))

    assert (await ask(guarded, closing(HEAD + ninety))).status == 200


def proc(server: Server, name: str) -> Path:
    return Path(f"/proc/{server.process.pid}/{name}")


def resident_kib(server: Server, field_name: str) -> int:
    for line in proc(server, "status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field_name} for the server")


async def test_unfinished_huge_headers_add_next_to_no_memory(guarded: Server) -> None:
    """Four heads of 25 MB that never end: the server drops what is past the limit. (Before,
    it kept every byte: 149 MB for these four.)"""
    await ask(guarded, closing(HEAD + b"X-Big: " + b"a" * 100_000 + b"\r\n"))  # warmed up
    before = resident_kib(guarded, "VmRSS")
    # The peak resident size from here on, whenever the server held the most.
    proc(guarded, "clear_refs").write_text("5")

    async def endless_head(source: str) -> None:
        megabyte = b"a" * 1_000_000
        async with connection(guarded, source) as (_reader, writer):
            writer.write(HEAD + b"X-Big: ")
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                for _ in range(25):
                    writer.write(megabyte)
                    await writer.drain()

    await asyncio.gather(*(endless_head(f"127.0.0.{10 + n}") for n in range(4)))

    grown_mib = (resident_kib(guarded, "VmHWM") - before) / 1024
    assert grown_mib < 16, f"the server grew by {grown_mib:.1f} MiB"


# Deadlines --------------------------------------------------------------------------------------


async def trickled_until_closed(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> float:
    """Seconds until the server closes a head that goes on with a header every 0.2 s."""

    async def trickle() -> None:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            while True:
                await asyncio.sleep(0.2)
                writer.write(b"X-Slow: a\r\n")
                await writer.drain()

    trickling = asyncio.create_task(trickle())
    try:
        return await seconds_until_closed(reader)
    finally:
        trickling.cancel()


async def test_a_head_trickled_in_is_closed_at_its_deadline(guarded: Server) -> None:
    """The deadline is for the whole head: a byte now and then does not extend it."""
    async with connection(guarded) as (reader, writer):
        writer.write(HEAD)
        waited = await trickled_until_closed(reader, writer)

    assert 1.3 < waited < 5


async def test_the_next_request_of_a_kept_alive_connection_has_its_deadline_too(
    guarded: Server,
) -> None:
    """A request that comes whole sets no deadline (it needs none): the next head, trickled in,
    gets its own."""
    async with connection(guarded) as (reader, writer):
        writer.write(HEAD + b"\r\n")
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        writer.write(HEAD)
        waited = await trickled_until_closed(reader, writer)

    assert 1.3 < waited < 5


async def test_a_body_not_sent_in_time_is_closed_unanswered(guarded: Server) -> None:
    async with connection(guarded) as (reader, writer):
        writer.write(
            b"POST /api/v1/sessions HTTP/1.1\r\nHost: townhall\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"handle": '
        )
        started = time.monotonic()
        said = await read_to_the_end(reader)
        waited = time.monotonic() - started

    assert said == b""
    assert 1.3 < waited < 5


async def test_an_idle_kept_alive_connection_is_closed(guarded: Server) -> None:
    async with connection(guarded) as (reader, writer):
        writer.write(HEAD + b"\r\n")
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        started = time.monotonic()
        await read_to_the_end(reader)  # the healthz body, then nothing until it closes
        waited = time.monotonic() - started

    assert 0.8 < waited < 4


# Connections per address ------------------------------------------------------------------------


@asynccontextmanager
async def websockets_from(server: Server, source: str, count: int) -> AsyncIterator[list]:
    """`count` WebSockets (not yet authenticated) from `source`, closed on leaving."""
    sockets: list[ClientConnection] = []
    try:
        for _ in range(count):
            sockets.append(
                await connect(server.ws_url, compression=None, proxy=None, local_addr=(source, 0))
            )
        yield sockets
    finally:
        for socket in sockets:
            await socket.close()


async def test_past_the_cap_an_address_is_refused_and_another_is_not(guarded: Server) -> None:
    async with websockets_from(guarded, "127.0.0.3", CAP) as held:
        refused = await ask(guarded, closing(HEAD), source="127.0.0.3")
        elsewhere = await ask(guarded, closing(HEAD), source="127.0.0.4")
        await held[0].close()
        await asyncio.sleep(0.2)  # the server sees the close
        after_one_left = await ask(guarded, closing(HEAD), source="127.0.0.3")

    assert refused.status is None  # closed at once, without an answer
    assert elsewhere.status == 200
    assert after_one_left.status == 200


async def test_connections_that_ended_no_longer_count(guarded: Server) -> None:
    answers = [await ask(guarded, closing(HEAD), source="127.0.0.5") for _ in range(3 * CAP)]

    assert {answer.status for answer in answers} == {200}


async def test_a_trusted_proxy_is_not_capped(guarded: Server) -> None:
    """Behind a proxy every client arrives from the proxy's address."""
    async with websockets_from(guarded, PROXY, 2 * CAP) as held:
        answer = await ask(guarded, closing(HEAD), source=PROXY)

    assert len(held) == 2 * CAP
    assert answer.status == 200


# Idle WebSockets --------------------------------------------------------------------------------


async def test_a_websocket_that_stops_answering_pings_is_closed(
    guarded: Server, make_user: MakeUser
) -> None:
    """Its peer is gone (or reads nothing): closed after one ping interval and its timeout.
    (A socket that never authenticates is closed after ws_auth_timeout_seconds: see
    tests/api/test_websocket.py.)"""
    user = await make_user("listener", on=guarded)
    async with connect(guarded.ws_url, compression=None, proxy=None, ping_interval=None) as live:
        await live.send(orjson.dumps({"type": "auth", "token": user.token}).decode())
        assert orjson.loads(await asyncio.wait_for(live.recv(), WAIT))["type"] == "ready"
        live.transport.pause_reading()  # no pong leaves
        await asyncio.sleep(2.5)
        live.transport.resume_reading()
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(live.recv(), WAIT)

    assert live.close_code == 1011  # keepalive ping timeout


# Slowloris --------------------------------------------------------------------------------------


@contextlib.contextmanager
def open_files_allowed(soft: int) -> Iterator[None]:
    """This process (and whatever it starts meanwhile) under a lower soft limit of open files."""
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, before[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)


def open_files_limits(server: Server) -> tuple[int, int]:
    for line in proc(server, "limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open files limit")


@dataclass
class Slowloris:
    """Connections that send a head a line at a time and never finish it; each one the server
    closes is opened again, until the attack ends."""

    server: Server
    sources: list[str]
    per_source: int
    trickle_seconds: float = 1.0
    open: int = 0
    most_open: int = 0
    closed_by_server: int = 0
    lifetimes: list[float] = field(default_factory=list)
    stopping: bool = False

    async def run(self) -> None:
        await asyncio.gather(
            *(self._slot(source) for source in self.sources for _ in range(self.per_source))
        )

    async def _slot(self, source: str) -> None:
        while not self.stopping:
            try:
                await self._one_connection(source)
            except OSError:
                await asyncio.sleep(0.1)  # refused: the server is out of room; try again

    async def _one_connection(self, source: str) -> None:
        async with connection(self.server, source) as (reader, writer):
            opened = time.monotonic()
            self.open += 1
            self.most_open = max(self.most_open, self.open)
            try:
                writer.write(b"GET / HTTP/1.1\r\nHost: townhall\r\n")
                while not self.stopping:
                    try:
                        said = await asyncio.wait_for(reader.read(1), self.trickle_seconds)
                    except TimeoutError:
                        writer.write(b"X-Slow: a\r\n")
                        continue
                    except ConnectionResetError:
                        said = b""
                    assert said == b"", "the server answered a head it never got whole"
                    self.closed_by_server += 1
                    self.lifetimes.append(time.monotonic() - opened)
                    return
            finally:
                self.open -= 1


async def login_and_send(server: Server, handle: str, conversation_id: int) -> float:
    started = time.monotonic()
    async with TownhallClient(server.base_url) as client:
        await client.log_in(handle, PASSWORD)
        await client.send(conversation_id, "still here")
    return time.monotonic() - started


@pytest.mark.drill
async def test_a_slowloris_keeps_nobody_from_logging_in_and_chatting(
    servers: ServerPool, make_user: MakeUser
) -> None:
    """1,000 half-open connections from one address (the long version: 5,000 from ten, for a
    minute) against a server started with the common soft limit of 1,024 open files: the
    server raises it to the hard limit, closes each at the head's deadline, and a person on
    another address logs in and sends as usual."""
    sources = [f"127.0.0.{2 + n}" for n in range(drill_scale(1, 10))]
    per_source = drill_scale(1000, 500)
    attack_seconds = drill_scale(4, 60)  # once all are open
    deadline = 2.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = len(sources) * per_source + 1000
    if hard < needed:
        pytest.skip(f"needs a hard limit of {needed} open files; this machine allows {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with open_files_allowed(1024):
        server = servers.start(
            limits__header_timeout_seconds=deadline,
            limits__connections_per_address=2 * per_source,
        )
    try:
        assert open_files_limits(server)[0] == open_files_limits(server)[1] > 1024
        alice = await make_user("alice", on=server)
        bob = await make_user("bob", on=server)
        chat = (await alice.open_direct(bob.id))["id"]
        quiet = [await login_and_send(server, alice.handle, chat) for _ in range(3)]

        attack = Slowloris(server, sources, per_source)
        attacking = asyncio.create_task(attack.run())
        try:
            ramp = time.monotonic()
            while attack.open < 0.9 * len(sources) * per_source:
                assert time.monotonic() - ramp < 60, f"only {attack.open} connections opened"
                await asyncio.sleep(0.1)
            held = attack.open
            started = time.monotonic()
            under_attack = []
            while time.monotonic() - started < attack_seconds:
                under_attack.append(await login_and_send(server, alice.handle, chat))
                await asyncio.sleep(0.2)
        finally:
            attack.stopping = True
            await asyncio.wait_for(attacking, WAIT + attack.trickle_seconds)
    finally:
        server.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    print(
        f"\nslowloris: {held} connections held ({attack.most_open} at most) from "
        f"{len(sources)} address(es) for {attack_seconds} s; {attack.closed_by_server} closed by "
        f"the server, {min(attack.lifetimes):.1f}-{max(attack.lifetimes):.1f} s after they "
        f"opened; login+send {median(quiet):.2f} s quiet, {median(under_attack):.2f} s under "
        f"attack (median; {max(under_attack):.2f} s at most, {len(under_attack)} tries)"
    )
    assert attack.closed_by_server >= held
    assert max(attack.lifetimes) < deadline + 3
    assert max(under_attack) < 10
