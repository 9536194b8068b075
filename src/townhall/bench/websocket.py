"""`townhall bench websocket`: the server CPU one direct message costs over the WebSocket, and
how long it takes to arrive, beside a bare relay (bench/bare.py) on the same stack that the
bench starts itself.

A message is a `send` frame from one socket of a pair, its ack to that socket and its event to
the other. Each round measures both servers, the bare relay first, in two phases:

- **throughput**: every sender keeps `window` messages unacknowledged, as fast as acks come;
  the server's CPU (its own and its workers') per message accepted;
- **latency**: one message in flight per sender; from its send to its arrival at the other
  socket, on this process's clock.

A figure is the median of its rounds. Both servers run pinned to the first core and this
process to the others."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
from rich.table import Table

from townhall.bench.common import (
    BenchUser,
    console,
    register_users,
    run_and_report,
)
from townhall.bench.http import medians, start_bare
from townhall.bench.messaging import (
    BenchOptions as MessagingOptions,
)
from townhall.bench.messaging import (
    BenchSocket,
    connect_all,
    direct_chats,
    direct_full_speed,
)
from townhall.bench.server import ServerUsage, split_cores, start_server

# Issue 20's targets: a message at window 8 within this much server CPU, and its delivery p99
# at window 1 within this many times the bare relay's.
TARGET_CPU_US = 25.0
TARGET_LATENCY_RATIO = 3.0
WARM_UP_SECONDS = 1.0

Pair = tuple[BenchSocket, BenchSocket, int]  # sender, recipient, the conversation between them


@dataclass(frozen=True)
class WebSocketOptions:
    pairs: int
    window: int  # messages in flight per sender in the throughput phase
    duration: float  # seconds per phase
    rounds: int


@dataclass
class Target:
    name: str
    pairs: list[Pair]
    usage: ServerUsage


async def townhall_pairs(url: str, count: int) -> list[Pair]:
    """Pairs of bench users, friends with a direct chat, each on a socket of their own."""
    users = await register_users(url, "wb", 2 * count, iter(range(1, 2 * count + 1)))
    conversations = await direct_chats(url, users)
    sockets = await connect_all(url, users)
    return [(sockets[2 * i], sockets[2 * i + 1], conversations[i]) for i in range(count)]


async def bare_pairs(url: str, count: int) -> list[Pair]:
    """The relay's sockets are named by their number; a sender sends to its partner's name."""
    users = [BenchUser(number, str(number)) for number in range(2 * count)]
    sockets = await connect_all(url, users)
    return [(sockets[2 * i], sockets[2 * i + 1], 2 * i + 1) for i in range(count)]


async def measure(target: Target, options: WebSocketOptions) -> dict[str, float]:
    throughput = await direct_full_speed(
        target.pairs,
        MessagingOptions(duration=options.duration, window=options.window),
        target.usage,
    )
    latency = await direct_full_speed(
        target.pairs, MessagingOptions(duration=options.duration, window=1), target.usage
    )
    errors = throughput["errors"] + latency["errors"]
    if errors:
        raise RuntimeError(f"{target.name}: {errors} sends were refused")
    per_1000 = throughput["cpu_seconds_per_1000_messages"]["server"]
    return {
        "cpu_us_per_message": round(1000 * per_1000, 1),
        "messages_per_s": throughput["accepted_per_s"],
        "window_1_messages_per_s": latency["accepted_per_s"],
        "window_1_cpu_percent": latency["server_cpu_percent"],
        "window_1_p50_ms": latency["latency_under_saturation"]["p50_ms"],
        "window_1_p99_ms": latency["latency_under_saturation"]["p99_ms"],
    }


async def run_async(options: WebSocketOptions) -> dict[str, Any]:
    server_cores, client_cores = split_cores()
    bare_url, bare = start_bare(server_cores)
    server = start_server(server_cores)
    if client_cores:
        os.sched_setaffinity(0, client_cores)
    try:
        targets = [
            Target(
                "bare",
                await bare_pairs(bare_url, options.pairs),
                ServerUsage([psutil.Process(bare.pid)]),
            ),
            Target(
                "townhall",
                await townhall_pairs(server.url, options.pairs),
                ServerUsage([psutil.Process(server.process.pid)]),
            ),
        ]
        warm_up = WebSocketOptions(options.pairs, options.window, WARM_UP_SECONDS, 1)
        with console.status("warming up"):
            for target in targets:
                await measure(target, warm_up)
        figures: dict[str, list[dict[str, float]]] = {target.name: [] for target in targets}
        for round_ in range(options.rounds):
            for target in targets:
                console.print(f"round {round_ + 1}/{options.rounds}: {target.name}")
                figures[target.name].append(await measure(target, options))
        for target in targets:
            for sender, recipient, _ in target.pairs:
                for socket in (sender, recipient):
                    assert socket.transport is not None
                    socket.transport.disconnect()
    finally:
        server.stop()
        bare.terminate()
        bare.wait(timeout=10)
    measured = {name: medians(rounds) for name, rounds in figures.items()}
    return {
        "options": asdict(options),
        "cores": {"server": sorted(server_cores or ()), "client": sorted(client_cores or ())},
        **measured,
        "targets": targets_of(measured["townhall"], measured["bare"], options.window),
    }


def targets_of(
    townhall: dict[str, float], bare: dict[str, float], window: int
) -> dict[str, dict[str, Any]]:
    cpu = townhall["cpu_us_per_message"]
    latency_ratio = round(townhall["window_1_p99_ms"] / bare["window_1_p99_ms"], 1)
    return {
        f"cpu_per_message_within_{TARGET_CPU_US:g}us": {
            "target": f"server CPU per message at window {window} ≤ {TARGET_CPU_US:g} µs",
            "measured": cpu,
            "bare": bare["cpu_us_per_message"],
            "met": cpu <= TARGET_CPU_US,
        },
        f"delivery_p99_within_{TARGET_LATENCY_RATIO:g}x_bare": {
            "target": f"delivery p99 at window 1 ≤ {TARGET_LATENCY_RATIO:g} times the bare relay's",
            "measured": latency_ratio,
            "met": latency_ratio <= TARGET_LATENCY_RATIO,
        },
    }


def print_table(results: dict[str, Any]) -> None:
    window = results["options"]["window"]
    table = Table(title="townhall bench websocket")
    columns = (
        "server",
        f"CPU µs/message (window {window})",
        "messages/s",
        "window 1: messages/s",
        "window 1: CPU %",
        "p50 / p99 ms",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "server" else "right")
    for name in ("bare", "townhall"):
        figures = results[name]
        table.add_row(
            name,
            f"{figures['cpu_us_per_message']:.1f}",
            f"{figures['messages_per_s']:.0f}",
            f"{figures['window_1_messages_per_s']:.0f}",
            f"{figures['window_1_cpu_percent']:.0f}",
            f"{figures['window_1_p50_ms']:.2f} / {figures['window_1_p99_ms']:.2f}",
        )
    console.print(table)


def run(options: WebSocketOptions, json_file: Path | None) -> dict[str, Any]:
    return run_and_report(run_async(options), print_table, json_file)
