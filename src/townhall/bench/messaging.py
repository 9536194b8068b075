"""`townhall bench messaging`: throughput and delivery latency over the public WebSocket API.

Scenarios: (a) direct pairs at full speed and at a fixed rate, (b) one large group, (c) many
idle authenticated sockets held while (a) runs again. The load generator is this process (picows
client, pinned away from the server's core); latency is send → recipient socket, measured on one
clock because the sender stamps the text and the recipient reads it back.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import platform
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
import psutil
from picows import WSMsgType, ws_connect

from townhall.bench.common import (
    AuthedSocket,
    BenchUser,
    console,
    install_uvloop,
    percentile,
    register_users,
    report,
)
from townhall.bench.server import (
    CpuSource,
    ServerUsage,
    postgresql_backends,
    split_cores,
    start_server,
)
from townhall.client import TownhallClient

CONNECT_CONCURRENCY = 100
COST_FIGURES = ("cpu_seconds", "cpu_seconds_per_1000_messages")


@dataclass
class BenchOptions:
    url: str | None = None
    # With --url: the servers (each with the processes under it, e.g. a --workers supervisor),
    # the database whose PostgreSQL backends serve them, and Redis, whose CPU each phase counts.
    server_pids: tuple[int, ...] = ()
    postgresql_database: str | None = None
    redis_pid: int | None = None
    duration: float = 10.0
    pairs: int = 100
    window: int = 32
    rate: float = 5000.0
    group_size: int = 200
    group_rate: float = 50.0
    idle_sockets: int = 5000


class Phase:
    """What one measured phase saw: acks, deliveries and their latencies."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tag = f"{name}-{time.monotonic_ns()}"
        self.running = True
        self.sent = 0
        self.acks = 0
        self.errors = 0
        self.latencies_ns: list[int] = []
        self.arrivals: dict[str, list[int]] = {}  # group: message → arrival latencies

    def text(self, sent_ns: int, serial: int) -> str:
        return f"{self.tag}|{sent_ns}|{serial}|lorem ipsum dolor sit amet"


class BenchSocket(AuthedSocket):
    """One authenticated client socket; frames are dispatched to the current phase."""

    def __init__(self, token: str, user_id: int) -> None:
        super().__init__(token)
        self.user_id = user_id
        self.ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.phase: Phase | None = None
        self.on_ack: Callable[[BenchSocket], None] | None = None
        self.serial = 0

    def on_event(self, data: dict[str, Any], received_ns: int) -> None:
        kind = data["type"]
        phase = self.phase
        if kind == "message" and phase is not None:
            text = data["message"]["text"]
            tag, sent, _ = text.split("|", 2)
            if tag == phase.tag:
                latency = received_ns - int(sent)
                phase.latencies_ns.append(latency)
                arrivals = phase.arrivals.get(text)
                if arrivals is not None:
                    arrivals.append(latency)
        elif kind == "ack" and phase is not None and data["client_id"].startswith(phase.tag):
            phase.acks += 1
            if self.on_ack is not None and phase.running:
                self.on_ack(self)
        elif kind == "error" and phase is not None:
            phase.errors += 1
        elif kind == "ready" and not self.ready.done():
            self.ready.set_result(data)

    def send_message(
        self, conversation_id: int, phase: Phase, *, track_arrivals: bool = False
    ) -> str:
        self.serial += 1
        phase.sent += 1
        text = phase.text(time.perf_counter_ns(), self.serial)
        if track_arrivals:  # registered before sending: the first arrival must find its list
            phase.arrivals[text] = []
        assert self.transport is not None
        self.transport.send(
            WSMsgType.TEXT,
            orjson.dumps(
                {
                    "type": "send",
                    "conversation_id": conversation_id,
                    "text": text,
                    "client_id": f"{phase.tag}-{self.user_id}-{self.serial}",
                }
            ),
        )
        return text


async def connect_all(url: str, users: list[BenchUser]) -> list[BenchSocket]:
    ws_url = "ws" + url.removeprefix("http") + "/api/v1/ws"
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(user: BenchUser) -> BenchSocket:
        async with gate:
            socket = BenchSocket(user.token, user.user_id)
            await ws_connect(lambda: socket, ws_url, max_frame_size=1 << 20)
            await asyncio.wait_for(socket.ready, 30)
            return socket

    with console.status(f"opening {len(users)} sockets"):
        return list(await asyncio.gather(*(one(user) for user in users)))


async def direct_chats(url: str, users: list[BenchUser]) -> list[int]:
    """A direct chat between each two users in turn (the first and second, the third and
    fourth, …), the two made friends first: where the pack asks for it, each send then checks
    the friendship."""
    conversations = []
    for first, second in zip(users[::2], users[1::2], strict=True):
        async with TownhallClient(url, first.token) as client:
            await client.request_friend(second.user_id, "bench")
        async with TownhallClient(url, second.token) as client:
            await client.answer_friend(first.user_id)
        async with TownhallClient(url, first.token) as client:
            conversations.append((await client.open_direct(second.user_id))["id"])
    return conversations


def latency_ms(values_ns: list[int]) -> dict[str, float]:
    if not values_ns:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    return {
        "p50_ms": round(percentile(values_ns, 0.50) / 1e6, 2),
        "p99_ms": round(percentile(values_ns, 0.99) / 1e6, 2),
        "max_ms": round(max(values_ns) / 1e6, 2),
    }


async def settle(phase: Phase, *, deliveries_per_send: int = 1, timeout: float = 30.0) -> None:
    """Wait until every send of the phase is acked and delivered: the next phase starts clean."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (
        phase.acks + phase.errors < phase.sent
        or len(phase.latencies_ns) < phase.sent * deliveries_per_send
    ):
        await asyncio.sleep(0.05)


def cost_to_the_end(usage: ServerUsage, messages: int) -> dict[str, Any]:
    """The CPU a paced phase's messages cost, from its start until the last is delivered: a
    server that fell behind spends the rest after the phase's end. (At full speed the cost is
    of the messages accepted within the phase, as the rate is.)"""
    figures = usage.report(messages=messages)
    return {key: figures[key] for key in COST_FIGURES if key in figures}


async def direct_full_speed(
    pairs: list[tuple[BenchSocket, BenchSocket, int]], options: BenchOptions, usage: ServerUsage
) -> dict[str, Any]:
    """Each sender keeps `window` messages unacknowledged, as fast as the server acks them."""
    phase = Phase("direct-max")
    conversation_of = {id(sender): conversation for sender, _, conversation in pairs}

    def send_next(sender: BenchSocket) -> None:
        sender.send_message(conversation_of[id(sender)], phase)

    senders = [sender for sender, _, _ in pairs]
    for sender, receiver, _ in pairs:
        sender.phase = receiver.phase = phase
        sender.on_ack = send_next
    usage.begin()
    started = time.perf_counter()
    for sender in senders:
        for _ in range(options.window):
            send_next(sender)
    await asyncio.sleep(options.duration)
    acks, delivered = phase.acks, len(phase.latencies_ns)
    elapsed = time.perf_counter() - started
    phase.running = False
    server = usage.report(messages=acks)
    await settle(phase)
    for sender in senders:
        sender.on_ack = None
    return {
        "pairs": len(pairs),
        "window_per_sender": options.window,
        "seconds": round(elapsed, 2),
        "accepted_per_s": round(acks / elapsed),
        "delivered_per_s": round(delivered / elapsed),
        "errors": phase.errors,
        "latency_under_saturation": latency_ms(phase.latencies_ns),
        **server,
    }


async def direct_fixed_rate(
    pairs: list[tuple[BenchSocket, BenchSocket, int]], options: BenchOptions, usage: ServerUsage
) -> dict[str, Any]:
    """Open loop at `rate` messages/s spread over the pairs: the latency a user would see."""
    phase = Phase("direct-rate")
    for sender, receiver, _ in pairs:
        sender.phase = receiver.phase = phase
    usage.begin()
    started = time.perf_counter()
    sent = 0
    while (now := time.perf_counter()) - started < options.duration:
        due = int(options.rate * (now - started)) - sent
        for _ in range(due):
            sender, _, conversation = pairs[sent % len(pairs)]
            sender.send_message(conversation, phase)
            sent += 1
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - started
    server = usage.report()
    await settle(phase)
    server |= cost_to_the_end(usage, sent)
    return {
        "target_rate_per_s": options.rate,
        "sent": sent,
        "accepted": phase.acks,
        "delivered": len(phase.latencies_ns),
        "achieved_rate_per_s": round(sent / elapsed),
        "errors": phase.errors,
        "delivery_latency": latency_ms(phase.latencies_ns),
        **server,
    }


async def group_fanout(
    members: list[BenchSocket], conversation_id: int, options: BenchOptions, usage: ServerUsage
) -> dict[str, Any]:
    """Members take turns posting at `group_rate`; each post must reach every other member."""
    phase = Phase("group")
    for member in members:
        member.phase = phase
    sent_texts: list[str] = []
    usage.begin()
    started = time.perf_counter()
    while (now := time.perf_counter()) - started < options.duration:
        due = int(options.group_rate * (now - started)) - len(sent_texts)
        for _ in range(due):
            sender = members[len(sent_texts) % len(members)]
            sent_texts.append(sender.send_message(conversation_id, phase, track_arrivals=True))
        await asyncio.sleep(0.002)
    server = usage.report()
    recipients = len(members) - 1
    await settle(phase, deliveries_per_send=recipients)
    server |= cost_to_the_end(usage, len(sent_texts))
    complete = [max(phase.arrivals[t]) for t in sent_texts if len(phase.arrivals[t]) >= recipients]
    return {
        "members": len(members),
        "posts": len(sent_texts),
        "posts_per_s": options.group_rate,
        "deliveries": len(phase.latencies_ns),
        "posts_reaching_everyone": len(complete),
        "per_delivery_latency": latency_ms(phase.latencies_ns),
        "all_members_reached_latency": latency_ms(complete),
        "errors": phase.errors,
        **server,
    }


async def run_async(options: BenchOptions) -> dict[str, Any]:
    server_cores, client_cores = split_cores()
    local = None
    pids: tuple[int, ...]
    if options.url is None:
        local = start_server(server_cores)
        url, pids = local.url, (local.process.pid,)
    else:
        url, pids = options.url, options.server_pids
    if client_cores:
        os.sched_setaffinity(0, client_cores)
    usage = ServerUsage([psutil.Process(pid) for pid in pids], measured_around(options))
    try:
        return await _scenarios(url, options, usage, server_cores, client_cores)
    finally:
        if local is not None:
            local.stop()


def measured_around(options: BenchOptions) -> list[CpuSource]:
    """What else serves the servers, whose CPU counts toward the cost of a message."""
    sources = []
    if options.postgresql_database is not None:
        database = options.postgresql_database
        sources.append(CpuSource("postgresql", lambda: postgresql_backends(database)))
    if options.redis_pid is not None:
        redis = psutil.Process(options.redis_pid)
        sources.append(CpuSource("redis", lambda: [redis]))
    return sources


async def _scenarios(
    url: str,
    options: BenchOptions,
    usage: ServerUsage,
    server_cores: set[int] | None,
    client_cores: set[int] | None,
) -> dict[str, Any]:
    prefix = f"b{int(time.time()) % 100000}"
    # Each account needs its own identity document; a random start keeps repeated runs
    # against one server (--url) from colliding.
    serials = itertools.count(random.randrange(10_000_000))
    pair_users = await register_users(url, f"{prefix}p", 2 * options.pairs, serials)
    group_users = await register_users(url, f"{prefix}g", options.group_size, serials)
    idle_users = await register_users(url, f"{prefix}i", options.idle_sockets, serials)

    conversations = await direct_chats(url, pair_users)
    async with TownhallClient(url, group_users[0].token) as client:
        group = await client.create_group("bench", [u.user_id for u in group_users[1:]])
    for member in group_users[1:]:  # each joins by accepting the invitation
        async with TownhallClient(url, member.token) as client:
            await client.accept_invitation(group["id"])

    sockets = await connect_all(url, pair_users)
    gc.collect()
    gc.freeze()  # keep the load generator's own collector pauses out of the latencies
    pairs = [(sockets[2 * i], sockets[2 * i + 1], conversations[i]) for i in range(options.pairs)]
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "server_cores": sorted(server_cores) if server_cores else None,
            "client_cores": sorted(client_cores) if client_cores else None,
        },
        "options": asdict(options),
    }
    console.print("(a) direct pairs at full speed")
    results["a_direct_max"] = await direct_full_speed(pairs, options, usage)
    console.print(f"(a) direct pairs at {options.rate:g}/s")
    results["a_direct_rate"] = await direct_fixed_rate(pairs, options, usage)

    group_sockets = await connect_all(url, group_users)
    console.print(f"(b) group of {options.group_size}")
    results["b_group"] = await group_fanout(group_sockets, group["id"], options, usage)
    for socket in group_sockets:
        assert socket.transport is not None
        socket.transport.disconnect()

    rss_before = usage.rss_mb()
    idle = await connect_all(url, idle_users)
    await asyncio.sleep(1)
    rss_idle = usage.rss_mb()
    console.print(f"(c) direct pairs at full speed with {len(idle)} idle sockets held")
    loaded = await direct_full_speed(pairs, options, usage)
    results["c_idle_sockets"] = {
        "idle_sockets": len(idle),
        "still_open_after_load": sum(1 for s in idle if s.close_code is None),
        "server_rss_mb_before": round(rss_before, 1),
        "server_rss_mb_with_idle": round(rss_idle, 1),
        "server_rss_kb_per_idle_socket": round(1024 * (rss_idle - rss_before) / len(idle), 1)
        if idle
        else None,
        "direct_max_with_idle": loaded,
    }
    results["targets"] = _targets(results)
    for socket in sockets + idle:
        assert socket.transport is not None
        socket.transport.disconnect()
    return results


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    direct = results["a_direct_max"]
    rate = results["a_direct_rate"]
    group = results["b_group"]
    idle = results["c_idle_sockets"]
    return {
        "a_10k_per_s": {
            "value": min(direct["accepted_per_s"], direct["delivered_per_s"]),
            "met": min(direct["accepted_per_s"], direct["delivered_per_s"]) >= 10_000,
        },
        "a_p99_50ms_at_5k": {
            "value": rate["delivery_latency"]["p99_ms"],
            "met": rate["delivery_latency"]["p99_ms"] <= 50,
        },
        "b_group_p99_100ms": {
            "value": group["all_members_reached_latency"]["p99_ms"],
            "met": group["all_members_reached_latency"]["p99_ms"] <= 100,
        },
        "c_5000_idle_in_400mb": {
            "value": idle["server_rss_mb_with_idle"],
            "met": idle["server_rss_mb_with_idle"] <= 400 and idle["idle_sockets"] >= 5000,
        },
    }


def run(options: BenchOptions, json_file: Path | None) -> dict[str, Any]:
    install_uvloop()
    results = asyncio.run(run_async(options))
    report(results, json_file)
    return results
