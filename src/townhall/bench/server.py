"""Start a throwaway server for a benchmark, pinned to its own core, and read its RSS and CPU."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import httpx
import psutil

from townhall.packs import load_pack

BENCH_PACK = "cn-2014"
# One `[identity.requirements.<capability>]` table and its lines, up to the next table.
REQUIREMENT_TABLE = re.compile(r"^\[identity\.requirements\.\w+\]\n(?:(?!\[)[^\n]*\n)*", re.M)


@dataclass
class ServerUsage:
    """RSS and CPU of the server process over a phase."""

    process: psutil.Process | None
    _cpu_start: float = 0.0
    _wall_start: float = field(default_factory=time.perf_counter)

    def begin(self) -> None:
        self._wall_start = time.perf_counter()
        if self.process is not None:
            times = self.process.cpu_times()
            self._cpu_start = times.user + times.system

    def report(self) -> dict[str, float | None]:
        if self.process is None:
            return {"server_rss_mb": None, "server_cpu_percent": None}
        times = self.process.cpu_times()
        wall = time.perf_counter() - self._wall_start
        cpu = times.user + times.system - self._cpu_start
        return {
            "server_rss_mb": round(self.rss_mb(), 1),
            "server_cpu_percent": round(100 * cpu / wall, 1) if wall > 0 else None,
        }

    def rss_mb(self) -> float:
        return self.process.memory_info().rss / 2**20 if self.process is not None else 0.0


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
    process = subprocess.Popen(command, env=bench_environment(env))
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
