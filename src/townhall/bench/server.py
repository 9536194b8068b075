"""Start a throwaway server for a benchmark, pinned to its own core, and read the RSS and CPU
of the servers and of what serves them."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import psutil

from townhall.packs import load_pack

BENCH_PACK = "cn-2014"
# One `[identity.requirements.<capability>]` table and its lines, up to the next table.
REQUIREMENT_TABLE = re.compile(r"^\[identity\.requirements\.\w+\]\n(?:(?!\[)[^\n]*\n)*", re.M)


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def with_descendants(roots: Sequence[psutil.Process]) -> Iterator[psutil.Process]:
    """The roots and every process under them: `townhall serve --workers N` is a supervisor
    whose workers do the serving, and a server's classifier worker is its child."""
    for root in roots:
        yield root
        with contextlib.suppress(psutil.NoSuchProcess):
            yield from root.children(recursive=True)


def postgresql_backends(database: str) -> Iterator[psutil.Process]:
    """The PostgreSQL backends connected to `database`: the processes titled `postgres: [cluster:]
    user database host(port) state`, the same pids as pg_stat_activity's for that datname. Other
    databases' backends and the cluster's own writers (shared with every database) are left out."""
    title = re.compile(rf"^postgres: (?:\S+: )?[^\s:]+ {re.escape(database)} ")
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and title.match(
            " ".join(process.info["cmdline"] or ())
        ):
            yield process


@dataclass
class CpuSource:
    """Processes whose CPU a phase counts under one name, listed again at every sample: pooled
    connections and restarted workers come and go."""

    name: str
    processes: Callable[[], Iterable[psutil.Process]]

    def sample(self) -> dict[int, float]:
        seconds = {}
        for process in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                seconds[process.pid] = cpu_seconds(process)
        return seconds


@dataclass
class ServerUsage:
    """RSS and CPU of the server processes over a phase, and the CPU of what serves them
    (PostgreSQL's backends, Redis) when asked."""

    servers: Sequence[psutil.Process]
    others: Sequence[CpuSource] = ()
    _started: dict[str, dict[int, float]] = field(default_factory=dict)
    _wall_start: float = field(default_factory=time.perf_counter)

    @property
    def sources(self) -> list[CpuSource]:
        server = CpuSource("server", lambda: with_descendants(self.servers))
        return [server, *self.others] if self.servers else list(self.others)

    def begin(self) -> None:
        self._wall_start = time.perf_counter()
        self._started = {source.name: source.sample() for source in self.sources}

    def report(self, messages: int | None = None) -> dict[str, Any]:
        """RSS and CPU share of the servers; with `messages`, also each source's CPU-seconds
        over the phase and per 1,000 of those messages. A process that started during the phase
        counts from its start; one that ended during it is missed."""
        wall = time.perf_counter() - self._wall_start
        spent = {}
        for source in self.sources:
            started = self._started.get(source.name, {})
            ended = source.sample()
            spent[source.name] = sum(ended[pid] - started.get(pid, 0.0) for pid in ended)
        figures: dict[str, Any] = {"server_rss_mb": None, "server_cpu_percent": None}
        if self.servers:
            figures["server_rss_mb"] = round(self.rss_mb(), 1)
            figures["server_cpu_percent"] = round(100 * spent["server"] / wall, 1) if wall else None
        if messages is not None and spent:
            spent["total"] = sum(spent.values())
            figures["cpu_seconds"] = {name: round(value, 2) for name, value in spent.items()}
            figures["cpu_seconds_per_1000_messages"] = {
                name: round(1000 * value / messages, 3) if messages else None
                for name, value in spent.items()
            }
        return figures

    def rss_mb(self) -> float:
        """The servers' own RSS: a classifier worker under one is not the sockets' cost."""
        rss = 0
        for process in self.servers:
            with contextlib.suppress(psutil.NoSuchProcess):
                rss += process.memory_info().rss
        return rss / 2**20


@dataclass
class LocalServer:
    url: str
    process: subprocess.Popen
    data_dir: Path
    # The temporary data dir this server made for itself, removed when it stops; None when the
    # caller gave a data dir and keeps it (to load it between runs, say).
    owned_dir: tempfile.TemporaryDirectory | None = None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.owned_dir is not None:
            self.owned_dir.cleanup()


PR_SET_PDEATHSIG = 1  # prctl(2)


def stop_with_the_bench() -> None:
    """Run in a server's process before it starts (Popen's preexec_fn): Linux sends it SIGTERM
    when the bench ends, however it ends. A test's timeout kills the bench with SIGKILL, which
    runs no `finally`, and its servers would serve on, orphaned."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def split_cores() -> tuple[set[int] | None, set[int] | None]:
    """Server on the first core, the load generator on the others, when there are two or more."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None, None
    return {cores[0]}, set(cores[1:])


def bench_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a bench server, and of CLI commands run on its data dir."""
    return {
        **os.environ,
        # Registering thousands of bench users at 120 ms a hash would dominate the run.
        "TOWNHALL_PASSWORD_HASH_PROFILE": "cheapest",
        # Thousands of bench users register from one address.
        "TOWNHALL_LIMITS__REGISTRATIONS_PER_IP_PER_HOUR": "100000000",
        # Each bench user sends as fast as its acks come back: far past a person's rate. The
        # limiter still counts every send, so its cost is measured.
        "TOWNHALL_LIMITS__SENDS_PER_USER": "1000000/second",
        # Thousands of bench sockets and connections come from one address.
        "TOWNHALL_LIMITS__CONNECTIONS_PER_ADDRESS": "1000000",
        "TOWNHALL_LOG_LEVEL": "warning",
        **(extra or {}),
    }


def bench_pack_text(name: str = BENCH_PACK) -> str:
    """A built-in pack without its identity requirements: bench users are registered by the
    thousand with no identity-verification provider and no phone to confirm, and a benchmark
    measures delivery, not verification. Every other rule stays as the pack has it."""
    text = resources.files("townhall.packs").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return REQUIREMENT_TABLE.sub("", text) + "\n[identity.requirements]\n"


def write_bench_pack(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    if load_pack(str(path)).identity.requirements:
        raise RuntimeError(f"could not lift the identity requirements of {BENCH_PACK}")


def start_server(
    server_cores: set[int] | None,
    *,
    data_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> LocalServer:
    """Start `townhall serve` on a free port. Without `data_dir` it runs on a temporary one that
    goes when it stops; `env` adds settings (e.g. TOWNHALL_POLICY_PACK: by default the built-in
    pack without identity requirements)."""
    owned_dir = None
    if data_dir is None:
        owned_dir = tempfile.TemporaryDirectory(prefix="townhall-bench-")
        data_dir = Path(owned_dir.name)
    if "TOWNHALL_POLICY_PACK" not in (env or {}):
        pack_path = data_dir / "bench-pack.toml"
        write_bench_pack(pack_path, bench_pack_text())
        env = {**(env or {}), "TOWNHALL_POLICY_PACK": str(pack_path)}
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "townhall"),
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    if server_cores:
        command = ["taskset", "-c", ",".join(map(str, sorted(server_cores))), *command]
    process = subprocess.Popen(command, env=bench_environment(env), preexec_fn=stop_with_the_bench)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return LocalServer(url, process, data_dir, owned_dir)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    if owned_dir is not None:
        owned_dir.cleanup()
    raise RuntimeError("the server did not start within 30 s")
