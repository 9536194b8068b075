"""Shared fixtures: real server processes, and logged-in users named alice, bob and carol."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from townhall.client import TownhallClient

TOWNHALL = Path(sys.executable).parent / "townhall"

# Everything the tests talk to is on 127.0.0.1: never route it through a proxy from the environment.
for _variable in ("NO_PROXY", "no_proxy"):
    os.environ[_variable] = ",".join(filter(None, [os.environ.get(_variable), "127.0.0.1"]))
STARTUP_TIMEOUT_SECONDS = 20.0
PASSWORD = "correct horse battery"


@dataclass
class Server:
    """A `townhall serve` process listening on 127.0.0.1."""

    base_url: str
    data_dir: Path
    log_file: Path
    process: subprocess.Popen[bytes]

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http") + "/api/v1/ws"

    def is_healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/api/v1/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env_name(setting: str) -> str:
    # limits__max_group_members -> TOWNHALL_LIMITS__MAX_GROUP_MEMBERS
    return "TOWNHALL_" + setting.upper()


@dataclass
class ServerPool:
    """Starts servers; `shared` reuses one per distinct configuration for the whole session."""

    root: Path
    started: list[Server] = field(default_factory=list)
    _shared: dict[tuple[tuple[str, str], ...], Server] = field(default_factory=dict)
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    def start(self, data_dir: Path | None = None, **settings: object) -> Server:
        """A new server process; `settings` are Settings fields (nested with `__`)."""
        number = next(self._numbers)
        if data_dir is None:
            data_dir = self.root / f"server-{number}" / "data"
        log_file = self.root / f"server-{number}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in os.environ.items() if not key.startswith("TOWNHALL_")}
        env["TOWNHALL_PASSWORD_HASH_PROFILE"] = "cheapest"
        env.update({_env_name(key): str(value) for key, value in settings.items()})
        port = _free_port()
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                [
                    str(TOWNHALL),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--data-dir",
                    str(data_dir),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = Server(f"http://127.0.0.1:{port}", data_dir, log_file, process)
        self.started.append(server)
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not server.is_healthy():
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                pytest.fail(f"server did not start; its log:\n{server.log()}")
            time.sleep(0.05)
        return server

    def shared(self, **settings: object) -> Server:
        key = tuple(sorted((name, str(value)) for name, value in settings.items()))
        server = self._shared.get(key)
        if server is None or server.process.poll() is not None:
            server = self._shared[key] = self.start(**settings)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    pool = ServerPool(tmp_path_factory.mktemp("servers"))
    yield pool
    pool.stop_all()


@pytest.fixture(scope="session")
def server(servers: ServerPool) -> Server:
    """The server most tests share: every test registers its own users, so none interfere."""
    return servers.shared()


@pytest.fixture
def fresh_server(servers: ServerPool) -> Iterator[Server]:
    """A server of this test's own, for tests that kill or restart it."""
    own = servers.start()
    yield own
    own.stop()


class User(TownhallClient):
    """A logged-in client that also knows who it is."""

    def __init__(self, base_url: str, *, user_id: int, handle: str, password: str) -> None:
        super().__init__(base_url)
        self.id = user_id
        self.handle = handle
        self.password = password

    async def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The HTTP answer as it is, errors included, sent with this user's token."""
        headers = kwargs.pop("headers", {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return await self.http.request(method, path, headers=headers, **kwargs)


_handles = itertools.count()


def unique_handle(name: str) -> str:
    """Handles are unique across the session, so tests can share a server."""
    return f"{name}{next(_handles)}-{uuid.uuid4().hex[:8]}"


MakeUser = Callable[..., Awaitable[User]]


@pytest.fixture
async def make_user(server: Server) -> AsyncIterator[MakeUser]:
    """Registers a fresh account and returns it logged in: `await make_user("dave")`."""
    made: list[User] = []

    async def make(name: str = "user", *, on: Server | None = None, **extra: Any) -> User:
        base_url = (on or server).base_url
        handle = unique_handle(name)
        async with TownhallClient(base_url) as anonymous:
            profile = await anonymous.register(handle, PASSWORD, name.title(), **extra)
        user = User(base_url, user_id=profile["id"], handle=handle, password=PASSWORD)
        made.append(user)
        await user.log_in(handle, PASSWORD)
        return user

    yield make
    for user in made:
        await user.aclose()


@pytest.fixture
async def alice(make_user: MakeUser) -> User:
    return await make_user("alice")


@pytest.fixture
async def bob(make_user: MakeUser) -> User:
    return await make_user("bob")


@pytest.fixture
async def carol(make_user: MakeUser) -> User:
    return await make_user("carol")
