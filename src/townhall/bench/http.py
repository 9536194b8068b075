"""`townhall bench http`: the server CPU one request costs on Townhall's hottest HTTP routes,
beside a bare ASGI app (bench/bare.py) on the same stack that the bench starts itself; and what
one direct message costs over HTTP, a send and the long poll that it wakes, beside the bare
app's long-poll relay.

Both servers run pinned to the first core and the load generator to the others; requests go
over keep-alive connections from a minimal client, so that the client's cost does not limit the
server's. Each round measures every route once, the bare app first, so that a slower moment of a
shared machine weighs on both; a route's figure is the median of its rounds. What a route costs
beyond the bare app's request is Townhall's: authentication, dependencies, validation, SQL and
the JSON it writes."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
from rich.table import Table

from townhall.bench.broadcast import (
    REVIEWER_HANDLE,
    REVIEWER_PASSWORD,
    create_reviewer,
    write_broadcast_pack,
)
from townhall.bench.common import (
    BenchUser,
    KeepAliveConnection,
    console,
    percentile,
    register_users,
    run_and_report,
)
from townhall.bench.messaging import direct_chats
from townhall.bench.server import (
    LocalServer,
    cpu_seconds,
    free_port,
    split_cores,
    start_server,
    stop_with_the_bench,
    with_descendants,
)
from townhall.client import TownhallClient

# A read or a send costing no more than this many bare requests meets the target.
TARGET_RATIO = 3.0
# A direct message over HTTP (its send and the long poll it wakes) within this much server CPU.
TARGET_MESSAGE_US = 300.0
MESSAGE_PAIRS = 20  # senders, each with a recipient long-polling for what it sends
POLL_SECONDS = 30
HISTORY_MESSAGES = 50
TIMELINE_POSTS = 20
PAGE = 20
WARM_UP = 200  # requests per route before the rounds


@dataclass(frozen=True)
class HttpOptions:
    requests: int  # per route and round
    rounds: int
    concurrency: int  # keep-alive connections, each with one request in flight


@dataclass
class World:
    """Who sends and reads, and what there is to read."""

    reader: BenchUser  # a friend of the sender, subscribed to the publisher's account
    sender: BenchUser
    idle: BenchUser  # a user whose stream stays empty: the empty /sync
    idle_latest: int
    conversation_id: int


# A request: method, path, token, JSON body; made anew for each one (a send's client id).
Request = tuple[str, str, str | None, bytes | None]
RequestMaker = Callable[[int], Request]


def requests_of(world: World) -> dict[str, RequestMaker]:
    """Townhall's routes by name; `bare_get` and `bare_post` are the bare app's."""
    sent = f"/api/v1/conversations/{world.conversation_id}/messages"

    def send(index: int) -> Request:
        body = orjson.dumps({"text": f"bench message {index}", "client_id": str(uuid.uuid4())})
        return "POST", sent, world.sender.token, body

    return {
        "health": lambda _: ("GET", "/healthz", None, None),
        "me": lambda _: ("GET", "/api/v1/me", world.reader.token, None),
        "sync_empty": lambda _: (
            "GET",
            f"/api/v1/sync?since={world.idle_latest}&timeout=0",
            world.idle.token,
            None,
        ),
        "send": send,
        "history": lambda _: ("GET", f"{sent}?limit={PAGE}", world.reader.token, None),
        "timeline": lambda _: ("GET", f"/api/v1/timeline?limit={PAGE}", world.reader.token, None),
    }


BARE_REQUESTS: dict[str, RequestMaker] = {
    "bare_get": lambda _: ("GET", "/api/v1/me", "token", None),
    "bare_post": lambda index: ("POST", "/messages", "token", orjson.dumps({"text": str(index)})),
}


@dataclass(frozen=True)
class Mailbox:
    """One sender and the recipient long-polling for its messages."""

    send: RequestMaker  # the message of this serial
    poll: Callable[[int], Request]  # the long poll from this cursor
    since: int  # where the recipient's polls start


def bare_mailboxes(count: int) -> list[Mailbox]:
    names = [f"r{n}" for n in range(count)]
    return [Mailbox(partial(_bare_send, name), partial(_bare_poll, name), 0) for name in names]


def _bare_send(name: str, index: int) -> Request:
    return "POST", f"/send/{name}", "token", orjson.dumps({"text": f"message {index}"})


def _bare_poll(name: str, since: int) -> Request:
    return "GET", f"/poll/{name}?since={since}", "token", None


async def townhall_mailboxes(url: str, count: int) -> list[Mailbox]:
    """Pairs of friends with a direct chat; each recipient polls from the end of its stream."""
    users = await register_users(url, "hm", 2 * count, itertools.count(10_000))
    chats = await direct_chats(url, users)
    mailboxes = []
    for chat, sender, recipient in zip(chats, users[::2], users[1::2], strict=True):
        async with TownhallClient(url, recipient.token) as client:
            since = await latest_position(client)
        send = partial(_townhall_send, f"/api/v1/conversations/{chat}/messages", sender.token)
        mailboxes.append(Mailbox(send, partial(_townhall_poll, recipient.token), since))
    return mailboxes


def _townhall_send(path: str, token: str, index: int) -> Request:
    body = orjson.dumps({"text": f"message {index}", "client_id": str(uuid.uuid4())})
    return "POST", path, token, body


def _townhall_poll(token: str, since: int) -> Request:
    return "GET", f"/api/v1/sync?since={since}&timeout={POLL_SECONDS}", token, None


async def deliver(
    url: str,
    server: psutil.Process,
    mailboxes: list[Mailbox],
    serials: itertools.count[int],
    messages: int,
) -> dict[str, float]:
    """`messages` from each sender, one at a time: the recipient's long poll waits, the sender
    sends, the poll answers with the message, the next poll starts from there. The server's CPU
    per message delivered, messages/s, and the latency from a send to its poll's answer."""
    latencies: list[int] = []

    async def pair(mailbox: Mailbox) -> None:
        sender, recipient = [await KeepAliveConnection.open(url) for _ in range(2)]
        since = mailbox.since
        try:
            for _ in range(messages):
                polled = asyncio.ensure_future(recipient.request(*mailbox.poll(since)))
                await asyncio.sleep(0)  # the poll goes out first, as a waiting client's would
                sent = time.perf_counter_ns()
                status, _ = await sender.request(*mailbox.send(next(serials)))
                if status >= 300:
                    raise RuntimeError(f"a send was refused with {status}")
                while True:
                    status, body = await polled
                    page = orjson.loads(body)
                    since = page["next"]
                    if status == 200 and page["events"]:
                        break
                    polled = asyncio.ensure_future(recipient.request(*mailbox.poll(since)))
                latencies.append(time.perf_counter_ns() - sent)
        finally:
            sender.close()
            recipient.close()

    before = server_cpu_seconds(server)
    started = time.perf_counter()
    await asyncio.gather(*(pair(mailbox) for mailbox in mailboxes))
    elapsed = time.perf_counter() - started
    after = server_cpu_seconds(server)
    delivered = messages * len(mailboxes)
    return {
        "cpu_us_per_message": 1e6 * (after - before) / delivered,
        "messages_per_s": delivered / elapsed,
        "p50_ms": percentile(latencies, 0.5) / 1e6,
        "p99_ms": percentile(latencies, 0.99) / 1e6,
    }


def start_bare(server_cores: set[int] | None) -> tuple[str, subprocess.Popen[bytes]]:
    """The bare app on uvicorn with uvloop, httptools and websockets-sansio, as `townhall serve`
    runs."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "townhall.bench.bare:app",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--ws",
        "websockets-sansio",
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    if server_cores:
        command = ["taskset", "-c", ",".join(map(str, sorted(server_cores))), *command]
    process = subprocess.Popen(command, preexec_fn=stop_with_the_bench)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the bare server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return url, process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the bare server did not start within 30 s")


async def latest_position(client: TownhallClient) -> int:
    """Where a user's stream ends now: sync pages until one brings nothing new."""
    position = 0
    while True:
        page = await client.sync(since=position)
        if page["next"] == position:
            return position
        position = page["next"]


async def prepare(server: LocalServer, env: dict[str, str]) -> World:
    """Three users; the sender and the reader friends with a direct chat of some messages; a
    public account of the sender's, approved, that the reader follows, with some posts."""
    serials = itertools.count(1)
    reader, sender, idle = await register_users(server.url, "hb", 3, serials)
    create_reviewer(server.data_dir, env)
    async with (
        TownhallClient(server.url, sender.token) as sending,
        TownhallClient(server.url, reader.token) as reading,
        TownhallClient(server.url) as reviewer,
    ):
        await sending.request_friend(reader.user_id)
        await reading.answer_friend(sender.user_id)
        chat = await sending.open_direct(reader.user_id)
        for index in range(HISTORY_MESSAGES):
            await sending.send(chat["id"], f"history {index}")
        account = await sending.apply_public_account("Bench hot paths", "individual")
        await reviewer.log_in(REVIEWER_HANDLE, REVIEWER_PASSWORD)
        await reviewer.request(
            "POST",
            f"/api/v1/admin/public-accounts/{account['id']}/decision",
            json={"decision": "approve"},
        )
        await reading.subscribe(account["id"])
        for index in range(TIMELINE_POSTS):
            await sending.publish(account["id"], f"Post {index}", "Lorem ipsum " * 20)
    async with TownhallClient(server.url, idle.token) as idling:
        idle_latest = await latest_position(idling)
    return World(reader, sender, idle, idle_latest, chat["id"])


async def measure(
    url: str,
    server: psutil.Process,
    make: RequestMaker,
    serials: itertools.count[int],
    options: HttpOptions,
) -> dict[str, float]:
    """`options.requests` requests over `options.concurrency` connections: the server's CPU
    (its own and its workers') per request in microseconds, requests/s and latency."""
    connections = [await KeepAliveConnection.open(url) for _ in range(options.concurrency)]
    pending = iter(range(options.requests))
    latencies: list[int] = []
    failures = 0

    async def load(connection: KeepAliveConnection) -> None:
        nonlocal failures
        for _ in pending:
            method, path, token, body = make(next(serials))
            sent = time.perf_counter_ns()
            status, _ = await connection.request(method, path, token, body)
            latencies.append(time.perf_counter_ns() - sent)
            failures += status >= 300

    try:
        before = server_cpu_seconds(server)
        started = time.perf_counter()
        await asyncio.gather(*(load(connection) for connection in connections))
        elapsed = time.perf_counter() - started
        after = server_cpu_seconds(server)
    finally:
        for connection in connections:
            connection.close()
    if failures:
        raise RuntimeError(f"{failures} of {options.requests} requests failed")
    return {
        "cpu_us_per_request": 1e6 * (after - before) / options.requests,
        "requests_per_s": options.requests / elapsed,
        "p50_ms": percentile(latencies, 0.5) / 1e6,
        "p99_ms": percentile(latencies, 0.99) / 1e6,
    }


def server_cpu_seconds(server: psutil.Process) -> float:
    """The CPU the server has spent so far, its workers' included."""
    return sum(cpu_seconds(process) for process in with_descendants([server]))


def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(r[key] for r in rounds), 3) for key in rounds[0]}


async def run_async(options: HttpOptions) -> dict[str, Any]:
    server_cores, client_cores = split_cores()
    if client_cores:
        psutil.Process().cpu_affinity(sorted(client_cores))
    pack_dir = tempfile.TemporaryDirectory(prefix="townhall-bench-http-")
    pack = Path(pack_dir.name) / "pack.toml"
    write_broadcast_pack(pack)  # the timeline's posts are past an account's daily quota
    env = {"TOWNHALL_POLICY_PACK": str(pack)}
    bare_url, bare = start_bare(server_cores)
    server = start_server(server_cores, env=env)
    try:
        with console.status("registering the bench users and their chats"):
            world = await prepare(server, env)
        targets = {"townhall": (server.url, psutil.Process(server.process.pid))}
        targets["bare"] = (bare_url, psutil.Process(bare.pid))
        routes = {name: ("bare", make) for name, make in BARE_REQUESTS.items()}
        routes |= {name: ("townhall", make) for name, make in requests_of(world).items()}
        mailboxes = {
            "bare": bare_mailboxes(MESSAGE_PAIRS),
            "townhall": await townhall_mailboxes(server.url, MESSAGE_PAIRS),
        }
        serials = itertools.count()
        warm_up = HttpOptions(min(WARM_UP, options.requests), 1, options.concurrency)
        with console.status("warming up (the first requests build what the rest reuse)"):
            for target, make in routes.values():
                await measure(*targets[target], make, serials, warm_up)
            for target, pairs in mailboxes.items():
                await deliver(*targets[target], pairs, serials, messages=2)
        # A message is two requests (its send and its poll): as many as a route's round.
        per_pair = max(1, options.requests // (2 * MESSAGE_PAIRS))
        figures: dict[str, list[dict[str, float]]] = {name: [] for name in routes}
        delivered: dict[str, list[dict[str, float]]] = {target: [] for target in mailboxes}
        for round_ in range(options.rounds):
            for name, (target, make) in routes.items():
                console.print(f"round {round_ + 1}/{options.rounds}: {name}")
                url, process = targets[target]
                figures[name].append(await measure(url, process, make, serials, options))
            for target, pairs in mailboxes.items():
                console.print(f"round {round_ + 1}/{options.rounds}: a message to {target}")
                delivered[target].append(await deliver(*targets[target], pairs, serials, per_pair))
    finally:
        server.stop()
        bare.terminate()
        bare.wait(timeout=10)
        pack_dir.cleanup()
    routes_figures = {name: medians(rounds) for name, rounds in figures.items()}
    messages = {target: medians(rounds) for target, rounds in delivered.items()}
    return {
        "options": asdict(options),
        "cores": {"server": sorted(server_cores or ()), "client": sorted(client_cores or ())},
        "routes": routes_figures,
        "ratios_to_bare": ratios(routes_figures),
        "message": {"pairs": MESSAGE_PAIRS, "per_pair_and_round": per_pair, **messages},
        "targets": targets_of(routes_figures) | message_target(messages),
    }


def ratios(routes: dict[str, dict[str, float]]) -> dict[str, float | None]:
    """Each Townhall route's CPU per request over the bare app's (a send over a bare POST);
    None where the bare app's requests were too few for the kernel's CPU clock (10 ms) to see."""
    bare_get = routes["bare_get"]["cpu_us_per_request"]
    bare_post = routes["bare_post"]["cpu_us_per_request"]
    measured: dict[str, float | None] = {}
    for name, figures in routes.items():
        if name.startswith("bare"):
            continue
        bare = bare_post if name == "send" else bare_get
        measured[name] = round(figures["cpu_us_per_request"] / bare, 1) if bare else None
    return measured


def targets_of(routes: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    measured = ratios(routes)
    return {
        f"{name}_within_{TARGET_RATIO:g}x_bare": {
            "target": f"server CPU of {name} ≤ {TARGET_RATIO:g} times a bare request",
            "measured": ratio,
            "met": None if ratio is None else ratio <= TARGET_RATIO,
        }
        for name in ("me", "sync_empty", "send")
        for ratio in [measured[name]]
    }


def message_target(messages: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    cpu = messages["townhall"]["cpu_us_per_message"]
    bare = messages["bare"]["cpu_us_per_message"]
    return {
        f"message_within_{TARGET_MESSAGE_US:g}us": {
            "target": f"server CPU of a direct message over HTTP ≤ {TARGET_MESSAGE_US:g} µs",
            "measured": cpu,
            "bare": bare,
            "met": cpu <= TARGET_MESSAGE_US,
        }
    }


def print_table(results: dict[str, Any]) -> None:
    table = Table(title="townhall bench http")
    for column in ("route", "CPU µs/request", "x bare", "requests/s", "p50 / p99 ms"):
        table.add_column(column, justify="left" if column == "route" else "right")
    ratios_to_bare = results["ratios_to_bare"]
    for name, figures in results["routes"].items():
        table.add_row(
            name,
            f"{figures['cpu_us_per_request']:.0f}",
            "1" if name.startswith("bare") else f"{ratios_to_bare[name] or '?'}",
            f"{figures['requests_per_s']:.0f}",
            f"{figures['p50_ms']:.2f} / {figures['p99_ms']:.2f}",
        )
    bare_message = results["message"]["bare"]["cpu_us_per_message"]
    for target in ("bare", "townhall"):
        figures = results["message"][target]
        table.add_row(
            f"a message ({target})",
            f"{figures['cpu_us_per_message']:.0f}",
            f"{figures['cpu_us_per_message'] / bare_message:.1f}" if bare_message else "?",
            f"{figures['messages_per_s']:.0f}",
            f"{figures['p50_ms']:.2f} / {figures['p99_ms']:.2f}",
        )
    console.print(table)


def run(options: HttpOptions, json_file: Path | None) -> dict[str, Any]:
    return run_and_report(run_async(options), print_table, json_file)
