"""`townhall bench registration`: registrations/s and the server's peak RSS with the production
password profile (argon2id, 64 MiB a hash), one client at a time, then many at once.

The server runs pinned to the first core, the clients on the others. Each hash holds its 64 MiB
for a fifth of a second or less, so the server's RSS is sampled every 10 ms from a thread of
this process: a report at the end of a phase would see none of it. The targets: with
`--concurrency` clients the server stays under 300 MB, and registers at least 90 % as many
users a second as one client does."""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.table import Table

from townhall.bench.common import console, percentile, register_bench_user, run_and_report
from townhall.bench.server import LocalServer, split_cores, start_server
from townhall.client import TownhallClient
from townhall.services.passwords import PASSWORD_PROFILES, hashes_at_once_for

PROFILE = "rfc9106_low_memory"  # the default, which bench servers otherwise trade for speed
TARGET_PEAK_RSS_MB = 300
TARGET_RATE_RATIO = 0.9  # of the sequential rate, with many clients at once
SAMPLE_SECONDS = 0.01
WARM_UP = 3  # registrations before the phases: the first ones build what the rest reuse
READY_SECONDS = 120  # the classifier worker loads its models after start


@dataclass(frozen=True)
class RegistrationOptions:
    users: int  # registered in each phase
    concurrency: int  # clients registering at once in the concurrent phase
    hashes_at_once: int | None  # the server's password_hashes_at_once; None: its default


class PeakRss:
    """The highest RSS a process reaches while watched, sampled from a thread of its own."""

    def __init__(self, process: psutil.Process) -> None:
        self._process = process
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)
        self.peak_bytes = 0

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)
            if self._stop.wait(SAMPLE_SECONDS):
                return


def mb(size: int) -> float:
    return round(size / 2**20, 1)


def children_rss(process: psutil.Process) -> int:
    """What the server's own processes hold besides it: the classifier worker."""
    return sum(child.memory_info().rss for child in process.children(recursive=True))


def wait_until_ready(url: str) -> None:
    """Until /readyz answers 200: the classifier worker loading at start would otherwise take
    CPU from the first phase and count in neither idle figure."""
    deadline = time.monotonic() + READY_SECONDS
    while httpx.get(f"{url}/readyz", timeout=10).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server was not ready within {READY_SECONDS} s")
        time.sleep(0.5)


@dataclass
class Registrar:
    """Registers bench users, each with an identity of its own, over one pooled client."""

    client: TownhallClient
    agreement_version: str
    serials: Iterator[int]

    async def register(self, handle: str) -> None:
        await register_bench_user(self.client, handle, next(self.serials), self.agreement_version)

    async def phase(
        self, handles: list[str], clients: int, server: psutil.Process
    ) -> dict[str, float]:
        """Register `handles` from `clients` clients, each one request at a time."""
        pending = iter(handles)
        latencies: list[float] = []

        async def one_client() -> None:
            for handle in pending:
                sent = time.perf_counter()
                await self.register(handle)
                latencies.append(time.perf_counter() - sent)

        with PeakRss(server) as rss:
            started = time.perf_counter()
            await asyncio.gather(*(one_client() for _ in range(clients)))
            elapsed = time.perf_counter() - started
        return {
            "clients": clients,
            "registrations": len(handles),
            "registrations_per_s": round(len(handles) / elapsed, 2),
            "p50_ms": round(1000 * percentile(latencies, 0.5), 1),
            "p99_ms": round(1000 * percentile(latencies, 0.99), 1),
            "server_peak_rss_mb": mb(rss.peak_bytes),
            "server_rss_mb_after": mb(server.memory_info().rss),
        }


def server_env(options: RegistrationOptions) -> dict[str, str]:
    env = {"TOWNHALL_PASSWORD_HASH_PROFILE": PROFILE}
    if options.hashes_at_once is not None:
        env["TOWNHALL_PASSWORD_HASHES_AT_ONCE"] = str(options.hashes_at_once)
    return env


async def measure(server: LocalServer, options: RegistrationOptions) -> dict[str, Any]:
    process = psutil.Process(server.process.pid)
    idle = {
        "server_rss_mb": mb(process.memory_info().rss),
        "children_rss_mb": mb(children_rss(process)),
    }
    async with TownhallClient(server.url) as client:
        agreement_version = (await client.request("GET", "/api/v1/agreement"))["version"]
        registrar = Registrar(client, agreement_version, itertools.count(1))
        with console.status("warming up"):
            for index in range(WARM_UP):
                await registrar.register(f"rw{index}")
        phases = {}
        for name, prefix, clients in (
            ("sequential", "rs", 1),
            ("concurrent", "rc", options.concurrency),
        ):
            with console.status(f"registering {options.users} users, {clients} at a time"):
                handles = [f"{prefix}{index}" for index in range(options.users)]
                phases[name] = await registrar.phase(handles, clients, process)
    return {"idle": idle, **phases}


def hashes_at_once(options: RegistrationOptions, server_cores: set[int]) -> int:
    """What the server runs at once: the option, or its default on the cores it is pinned to."""
    lanes = PASSWORD_PROFILES[PROFILE].parallelism
    return options.hashes_at_once or hashes_at_once_for(lanes, len(server_cores))


async def run_async(options: RegistrationOptions) -> dict[str, Any]:
    server_cores, client_cores = split_cores()
    at_once = hashes_at_once(options, server_cores or os.sched_getaffinity(0))
    if client_cores:
        psutil.Process().cpu_affinity(sorted(client_cores))
    server = start_server(server_cores, env=server_env(options))
    try:
        with console.status("waiting for the server to be ready"):
            await asyncio.to_thread(wait_until_ready, server.url)
        figures = await measure(server, options)
    finally:
        server.stop()
    return {
        "options": asdict(options),
        "cores": {"server": sorted(server_cores or ()), "client": sorted(client_cores or ())},
        "password_hash_profile": PROFILE,
        "password_hashes_at_once": at_once,
        **figures,
        "targets": targets_of(figures, options),
    }


def targets_of(figures: dict[str, Any], options: RegistrationOptions) -> dict[str, Any]:
    peak = figures["concurrent"]["server_peak_rss_mb"]
    ratio = round(
        figures["concurrent"]["registrations_per_s"] / figures["sequential"]["registrations_per_s"],
        3,
    )
    return {
        f"peak_rss_under_{TARGET_PEAK_RSS_MB}_mb": {
            "target": f"server peak RSS < {TARGET_PEAK_RSS_MB} MB with "
            f"{options.concurrency} clients registering at once",
            "measured": peak,
            "met": peak < TARGET_PEAK_RSS_MB,
        },
        "concurrent_within_10_percent_of_sequential": {
            "target": f"registrations/s with {options.concurrency} clients ≥ "
            f"{TARGET_RATE_RATIO:g} times one client's",
            "measured": ratio,
            "met": ratio >= TARGET_RATE_RATIO,
        },
    }


def print_table(results: dict[str, Any]) -> None:
    idle = results["idle"]
    table = Table(
        title=f"townhall bench registration ({results['password_hashes_at_once']} hashes at once;"
        f" idle: server {idle['server_rss_mb']} MB, children {idle['children_rss_mb']} MB)"
    )
    for column in ("phase", "clients", "registrations/s", "p50 / p99 ms", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for name in ("sequential", "concurrent"):
        phase = results[name]
        table.add_row(
            name,
            str(phase["clients"]),
            f"{phase['registrations_per_s']:.2f}",
            f"{phase['p50_ms']:.0f} / {phase['p99_ms']:.0f}",
            f"{phase['server_peak_rss_mb']:.0f}",
        )
    console.print(table)


def run(options: RegistrationOptions, json_file: Path | None) -> dict[str, Any]:
    return run_and_report(run_async(options), print_table, json_file)
