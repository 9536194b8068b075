"""Start a throwaway server for a benchmark, pinned to its own core, and read its RSS and CPU."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil


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
    data_dir: tempfile.TemporaryDirectory

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.data_dir.cleanup()


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


def start_server(server_cores: set[int] | None) -> LocalServer:
    data_dir = tempfile.TemporaryDirectory(prefix="townhall-bench-")
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "townhall"),
        "serve",
        "--port",
        str(port),
        "--data-dir",
        data_dir.name,
    ]
    if server_cores:
        command = ["taskset", "-c", ",".join(map(str, sorted(server_cores))), *command]
    env = {
        **os.environ,
        # Registering thousands of bench users at 120 ms a hash would dominate the run.
        "TOWNHALL_PASSWORD_HASH_PROFILE": "cheapest",
        # Thousands of bench users register from one address.
        "TOWNHALL_LIMITS__REGISTRATIONS_PER_IP_PER_HOUR": "100000000",
        "TOWNHALL_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return LocalServer(url, process, data_dir)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start within 30 s")
