"""What every benchmark shares: bench users registered over the API, percentiles, the report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport
from rich.console import Console

from townhall.bench.identities import synthetic_identity
from townhall.client import TownhallClient

console = Console(stderr=True)
PASSWORD = "bench-password"
API_CONCURRENCY = 32


@dataclass
class BenchUser:
    user_id: int
    token: str


def percentile(values: list[int] | list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def gather_limited(coroutines: Iterable[Any], limit: int = API_CONCURRENCY) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(coroutine: Any) -> Any:
        async with gate:
            return await coroutine

    return await asyncio.gather(*(one(coroutine) for coroutine in coroutines))


class KeepAliveConnection:
    """A minimal HTTP/1.1 keep-alive client for the benches' HTTP loads: httpx costs this
    process more CPU per request than the server spends answering it, so httpx would measure
    itself."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self._reader = reader
        self._writer = writer
        self._host = host

    @classmethod
    async def open(cls, url: str) -> KeepAliveConnection:
        parsed = httpx.URL(url)
        reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
        return cls(reader, writer, f"{parsed.host}:{parsed.port}")

    async def request(
        self, method: str, path: str, token: str | None = None, body: bytes | None = None
    ) -> tuple[int, bytes]:
        """One request on the connection, a JSON `body` if given; the status and body back."""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self._host}"]
        if token is not None:
            head.append(f"Authorization: Bearer {token}")
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self._writer.write("\r\n".join(head).encode() + b"\r\n\r\n" + (body or b""))
        answer = await self._reader.readuntil(b"\r\n\r\n")
        status = int(answer[9:12])
        length = None
        for line in answer.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError("the bench's HTTP client needs a Content-Length")
        return status, await self._reader.readexactly(length)

    def close(self) -> None:
        self._writer.close()


async def register_bench_user(
    client: TownhallClient, handle: str, serial: int, agreement_version: str
) -> dict[str, Any]:
    """A bench user registered, named by its handle, with the synthetic identity `serial`."""
    return await client.register(
        handle,
        PASSWORD,
        handle,
        identity=synthetic_identity(serial),
        agreement_version=agreement_version,
    )


async def register_users(
    url: str, prefix: str, count: int, serials: Iterator[int]
) -> list[BenchUser]:
    """Register and log in `count` users over one pooled HTTP client (a client per user would
    cost this process more CPU than the server spends registering them)."""
    users: list[BenchUser] = []
    async with TownhallClient(url) as client:
        agreement_version = (await client.request("GET", "/api/v1/agreement"))["version"]

        async def one(index: int) -> BenchUser:
            handle = f"{prefix}{index}"
            profile = await register_bench_user(client, handle, next(serials), agreement_version)
            session = await client.request(
                "POST", "/api/v1/sessions", json={"handle": handle, "password": PASSWORD}
            )
            users.append(BenchUser(profile["id"], session["token"]))
            return users[-1]

        with console.status(f"registering {count} {prefix} users") as status:
            task = asyncio.ensure_future(gather_limited(one(i) for i in range(count)))
            while not task.done():
                await asyncio.wait([task], timeout=0.5)
                status.update(f"registering {prefix} users: {len(users)}/{count}")
            return task.result()


def install_uvloop() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency, but the bench works without
        pass


def run_and_report(
    measure: Coroutine[Any, Any, dict[str, Any]],
    print_table: Callable[[dict[str, Any]], None],
    json_file: Path | None,
) -> dict[str, Any]:
    """A bench's whole run on uvloop: its figures measured, printed as a table and reported."""
    install_uvloop()
    results = asyncio.run(measure)
    print_table(results)
    report(results, json_file)
    return results


def report(results: dict[str, Any], json_file: Path | None) -> None:
    """Write the results to `json_file` (if given) and print them."""
    encoded = orjson.dumps(results, option=orjson.OPT_INDENT_2)
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_bytes(encoded)
    print(encoded.decode())


class AuthedSocket(WSListener):
    """A bench client socket: authenticates on connect, notes a close, and hands each text
    frame, decoded, to `on_event` with the time it arrived."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.transport: WSTransport | None = None
        self.close_code: WSCloseCode | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        transport.send(WSMsgType.TEXT, orjson.dumps({"type": "auth", "token": self.token}))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            self.close_code = frame.get_close_code()
            transport.disconnect()
            return
        if frame.msg_type == WSMsgType.TEXT:
            received_ns = time.perf_counter_ns()
            self.on_event(orjson.loads(frame.get_payload_as_bytes()), received_ns)

    def on_event(self, data: dict[str, Any], received_ns: int) -> None:
        raise NotImplementedError
