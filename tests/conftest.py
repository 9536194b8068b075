"""Shared fixtures: real server processes, and logged-in users named alice, bob and carol."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import httpx._transports.default as httpx_transports
import pytest

from tests.cli_fork import ForkedCommand, Forks
from tests.databases import PostgresDatabases, on_postgresql
from tests.identity_provider import StandInProvider
from tests.response_validation import ResponseCheck, ResponseMismatch
from tests.support import (
    DATABASE_URLS,
    confirm_phone_of,
    strangers_may_chat,
    without_townhall_settings,
)
from townhall.bench.identities import synthetic_identity
from townhall.client import TownhallClient
from townhall.packs import load_pack

TOWNHALL = Path(sys.executable).parent / "townhall"
CLI = Forks(TOWNHALL)
# The tests' pack: cn-2014 with direct messages open to strangers, so that a test about something
# else need not befriend each pair it opens a chat for; tests/api/test_contacts.py runs the
# built-in cn-2014, friends first.
BASE_PACK_TEXT = strangers_may_chat(
    (resources.files("townhall.packs") / "cn-2014.toml").read_text(encoding="utf-8")
)

# Everything the tests talk to is on 127.0.0.1: never route it through a proxy from the environment.
for _variable in ("NO_PROXY", "no_proxy"):
    os.environ[_variable] = ",".join(filter(None, [os.environ.get(_variable), "127.0.0.1"]))
# Generous: on a busy machine importing the app alone has taken 10 s, and a drill restarts 20 times.
STARTUP_TIMEOUT_SECONDS = 90.0
SHARED_ALIVE_ON_POSTGRESQL = 6  # besides the default one (ServerPool.shared)
PASSWORD = "correct horse battery"


@dataclass
class Server:
    """A `townhall serve` process listening on 127.0.0.1."""

    base_url: str
    data_dir: Path
    log_file: Path
    process: ForkedCommand
    env: dict[str, str] = field(default_factory=dict, repr=False)
    staff: dict[str, StaffLogin] = field(default_factory=dict, repr=False)

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http") + "/api/v1/ws"

    def is_healthy(self) -> bool:
        # Start-up polls this every 50 ms: a refused connection costs microseconds, where
        # httpx.get builds a client (an SSL context: 25 ms of CPU) to meet the same refusal.
        url = httpx.URL(self.base_url)
        try:
            socket.create_connection((url.host, url.port or 80), timeout=2).close()
            return httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
        except (OSError, httpx.TransportError):
            return False

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def logged(self, logger: str) -> list[tuple[str, str]]:
        """(level, event) of each JSON line `logger` wrote, in order."""
        lines = (line for line in self.log().splitlines() if line.startswith("{"))
        entries = (json.loads(line) for line in lines)
        return [(e["level"], e["event"]) for e in entries if e.get("logger") == logger]

    def cli(
        self, *args: str, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`townhall ARGS` on this server's data dir, with the server's settings; not checked.
        Forked from a process that has imported Townhall already (tests/cli_fork.py)."""
        return CLI.run(
            [*args, "--data-dir", str(self.data_dir)], env=self.env, stdin=stdin, timeout=timeout
        )

    def admin(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """`townhall admin ARGS` on this server's data dir, with the server's settings."""
        return self.cli("admin", *args, stdin=stdin, timeout=60)

    def create_staff(self, role: str, name: str | None = None) -> StaffLogin:
        """A new staff account made with the CLI (as an operator does), logged in."""
        handle = unique_handle(name or role)
        made = self.admin(
            "create-staff", "--handle", handle, "--role", role, "--password-stdin",
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        login = httpx.post(
            f"{self.base_url}/api/v1/sessions", json={"handle": handle, "password": PASSWORD}
        )
        assert login.status_code == 201, login.text
        me = httpx.get(
            f"{self.base_url}/api/v1/me",
            headers={"Authorization": f"Bearer {login.json()['token']}"},
        ).json()
        assert me["role"] == role
        return StaffLogin(me["id"], handle, login.json()["token"])

    def staff_member(self, role: str) -> StaffLogin:
        """One staff member per role and server, made once and shared by the tests."""
        if role not in self.staff:
            self.staff[role] = self.create_staff(role)
        return self.staff[role]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@dataclass(frozen=True)
class StaffLogin:
    user_id: int
    handle: str
    token: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env_name(setting: str) -> str:
    # limits__max_group_members -> TOWNHALL_LIMITS__MAX_GROUP_MEMBERS
    return "TOWNHALL_" + setting.upper()


@dataclass
class ServerPool:
    """Starts servers; `shared` reuses one per distinct configuration for the whole session.

    Every server asks `provider`, a stand-in identity-verification provider that matches every
    identity unless a test tells it otherwise, so that users can be `provider_verified`; and
    every answer a server gives is validated against its /openapi.json by `response_check`."""

    root: Path
    provider: StandInProvider
    response_check: ResponseCheck
    postgres: PostgresDatabases
    started: list[Server] = field(default_factory=list)
    _shared: dict[tuple[tuple[str, str], ...], Server] = field(default_factory=dict)
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    def start(self, data_dir: Path | None = None, **settings: object) -> Server:
        """A new server process; `settings` are Settings fields (nested with `__`). A new data
        dir starts from a copy of a database migrated once for the session: every test server
        would otherwise run the same migrations (tests/test_migrations.py tests them)."""
        number = next(self._numbers)
        if data_dir is None:
            data_dir = self.root / f"server-{number}" / "data"
            data_dir.mkdir(parents=True, mode=0o700)
            if on_postgresql():
                DATABASE_URLS[data_dir] = self.postgres.fresh()
            else:
                shutil.copyfile(self._migrated_database(), data_dir / "townhall.db")
        log_file = self.root / f"server-{number}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        env = without_townhall_settings()
        env["TOWNHALL_PASSWORD_HASH_PROFILE"] = "cheapest"
        # Every test user registers from 127.0.0.1; test_registration_limits.py sets a low limit.
        env.setdefault("TOWNHALL_LIMITS__REGISTRATIONS_PER_IP_PER_HOUR", "1000000")
        # Every test client logs in from 127.0.0.1, and the fuzz and the failure tests fail
        # hundreds of logins; tests/api/test_login_throttling.py sets low limits.
        env.setdefault("TOWNHALL_LIMITS__LOGIN_FAILURES_PER_ADDRESS", "1000000/hour")
        # Tests send bursts of hundreds over one socket; test_caps.py sets a person's rate.
        env.setdefault("TOWNHALL_LIMITS__SENDS_PER_USER", "100000/second")
        env.setdefault("TOWNHALL_LIMITS__FORWARDS_PER_USER", "100000/second")
        env.setdefault("TOWNHALL_LIMITS__UPLOADS_PER_USER", "100000/second")
        # Tests search many times a second; test_search.py sets a person's rate.
        env.setdefault("TOWNHALL_LIMITS__SEARCHES_PER_USER", "100000/second")
        # Every test client connects from 127.0.0.1, hundreds at once in some tests;
        # tests/api/test_slow_clients.py sets a low cap and uses other addresses.
        env.setdefault("TOWNHALL_LIMITS__CONNECTIONS_PER_ADDRESS", "100000")
        # A classifier worker process per test server would cost a second of CPU each;
        # tests/api/test_classifiers.py starts one with them on.
        env.setdefault("TOWNHALL_CLASSIFIERS", "false")
        env.setdefault("TOWNHALL_POLICY_PACK", self.pack())
        for setting, value in self.provider.settings().items():
            env.setdefault(_env_name(setting), value)
        env.update({_env_name(key): str(value) for key, value in settings.items()})
        if data_dir in DATABASE_URLS:
            env.setdefault("TOWNHALL_DATABASE_URL", DATABASE_URLS[data_dir])
        # Dozens of test servers share one PostgreSQL of 100 connections: each keeps one open.
        env.setdefault("TOWNHALL_DATABASE_POOL_SIZE", "1")
        port = _free_port()
        log_file.touch()
        process = CLI.start(
            ["serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)],
            env=env,
            streams={"in": Path(os.devnull), "out": log_file, "err": log_file},
        )
        server = Server(f"http://127.0.0.1:{port}", data_dir, log_file, process, env)
        self.started.append(server)
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not server.is_healthy():
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                pytest.fail(f"server did not start; its log:\n{server.log()}")
            time.sleep(0.05)
        self.response_check.watch(server.base_url)
        return server

    def _migrated_database(self) -> Path:
        database = self.root / "migrated" / "townhall.db"
        if not database.exists():
            subprocess.run(
                [str(TOWNHALL), "migrate", "--data-dir", str(database.parent)],
                check=True,
                capture_output=True,
                env=without_townhall_settings(),
            )
        return database

    def shared(self, **settings: object) -> Server:
        key = tuple(sorted((name, str(value)) for name, value in settings.items()))
        server = self._shared.pop(key, None)  # put back last: the most recently used
        if server is None or server.process.poll() is not None:
            if on_postgresql():
                self._stop_least_used_beyond(SHARED_ALIVE_ON_POSTGRESQL - 1)
            server = self.start(**settings)
        self._shared[key] = server
        return server

    def _stop_least_used_beyond(self, alive: int) -> None:
        """Each server holds PostgreSQL connections, of which the machine's server has 100 for
        every test process: the shared servers used least recently stop (a test asking for one
        again gets a new one), all but the default one, which the `server` fixture holds."""
        running = [(key, s) for key, s in self._shared.items() if key and s.process.poll() is None]
        for _, server in running[: max(0, len(running) - alive)]:
            server.stop()

    def pack(self, extra: str = "", **changes: object) -> str:
        """The path of a policy pack file: cn-2014 with `changes` (e.g. verification_mode="review")
        and the TOML tables in `extra` added at its end.

        A key is named by its last part (`version` is agreement.version); each names one line.
        """
        text = BASE_PACK_TEXT + extra
        for key, value in changes.items():
            literal = json.dumps(value)  # a TOML string, integer or boolean alike
            text, found = re.subn(rf"^{key} = .*$", f"{key} = {literal}", text, flags=re.M)
            assert found == 1, f"the pack has no single key {key!r}"
        path = self.root / "packs" / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return str(path)

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture(scope="session", autouse=True)
def response_check() -> Iterator[ResponseCheck]:
    """Every answer from a test server, validated against its OpenAPI document."""
    check = ResponseCheck()
    with pytest.MonkeyPatch.context() as patch:
        check.install(patch)
        yield check


@pytest.fixture(scope="session", autouse=True)
def one_ssl_context() -> Iterator[None]:
    """Every httpx client builds an SSL context at its creation (certifi's bundle loaded: 29 ms
    of CPU) that the tests' plain-HTTP requests never use, and the tests make thousands of
    clients: those with the default verification share one context."""
    build = httpx_transports.create_ssl_context
    shared = functools.cache(build)

    def context(
        verify: ssl.SSLContext | str | bool = True, cert: Any = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        if verify is True and cert is None:
            return shared(trust_env=trust_env)
        return build(verify=verify, cert=cert, trust_env=trust_env)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx_transports, "create_ssl_context", context)
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked `long` first, the rest in their order: with `--dist loadfile` the
    workers take whole files in this order, and a long file taken last leaves the other worker
    idle until it ends."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember whether a test's setup or call failed, for `no_swallowed_mismatch`."""
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(autouse=True)
def no_swallowed_mismatch(
    request: pytest.FixtureRequest, response_check: ResponseCheck
) -> Iterator[None]:
    """A mismatch fails the request that got it; this also fails a test that caught it."""
    response_check.mismatches.clear()
    yield
    if response_check.mismatches and not request.node.stash.get(FAILED, False):
        raise ResponseMismatch("\n".join(response_check.mismatches))


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInProvider]:
    """The stand-in identity-verification provider every test server asks."""
    provider = StandInProvider(tmp_path_factory.mktemp("provider") / "secret").start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    """Fresh PostgreSQL databases, dropped at the end (tests/databases.py)."""
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
    identity_provider: StandInProvider,
    response_check: ResponseCheck,
    postgres_databases: PostgresDatabases,
) -> Iterator[ServerPool]:
    pool = ServerPool(
        tmp_path_factory.mktemp("servers"), identity_provider, response_check, postgres_databases
    )
    yield pool
    pool.stop_all()


@pytest.fixture(scope="session")
def server(servers: ServerPool) -> Server:
    """The server most tests share: every test registers its own users, so none interfere."""
    return servers.shared()


@pytest.fixture
def review_server(servers: ServerPool) -> Server:
    """A shared server whose pack has staff review every identity: new users are pending."""
    return servers.shared(policy_pack=servers.pack(verification_mode="review"))


@pytest.fixture
def fresh_server(servers: ServerPool) -> Iterator[Server]:
    """A server of this test's own, for tests that kill or restart it, or that need its data
    (its audit log, say) to themselves."""
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


def moved(user: User, server: Server) -> User:
    """The same account and session, talking to another server process."""
    again = User(server.base_url, user_id=user.id, handle=user.handle, password=user.password)
    again.token = user.token
    return again


_handles = itertools.count()


def unique_handle(name: str) -> str:
    """Handles are unique across the session, so tests can share a server."""
    return f"{name}{next(_handles)}-{uuid.uuid4().hex[:8]}"


async def post_registration(
    server: Server, identity: dict[str, str], *, handle: str | None = None
) -> httpx.Response:
    """POST /accounts with a complete body for `identity`; the answer as it is."""
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post(
            "/api/v1/accounts",
            json={
                "handle": handle or unique_handle("someone"),
                "password": PASSWORD,
                "display_name": "Someone",
                "identity": identity,
                "agreement_version": AGREEMENT_VERSION,
            },
        )


MakeUser = Callable[..., Awaitable[User]]
IDENTITY_SERIALS = itertools.count(1)
AGREEMENT_VERSION = load_pack("cn-2014").agreement.version


def fresh_identity(**changes: str) -> dict[str, str]:
    """A valid identity no other account of this test session was registered with."""
    return {**synthetic_identity(next(IDENTITY_SERIALS)), **changes}


@pytest.fixture
async def make_user(server: Server) -> AsyncIterator[MakeUser]:
    """Registers a fresh account and returns it logged in: `await make_user("dave")`.

    The stand-in provider verifies its identity and the user confirms the phone with the code
    from the SMS outbox, so that the user may do everything the pack allows;
    `confirm_phone=False` leaves the phone unconfirmed."""
    made: list[User] = []

    async def make(
        name: str = "user", *, on: Server | None = None, confirm_phone: bool = True, **extra: Any
    ) -> User:
        user = await new_user(on or server, name, confirm_phone=confirm_phone, **extra)
        made.append(user)
        return user

    yield make
    for user in made:
        await user.aclose()


async def new_user(host: Server, name: str, *, confirm_phone: bool = True, **extra: Any) -> User:
    """`make_user` without the fixture: the caller closes the user."""
    handle = unique_handle(name)
    extra.setdefault("identity", fresh_identity())
    extra.setdefault("agreement_version", AGREEMENT_VERSION)
    async with TownhallClient(host.base_url) as anonymous:
        profile = await anonymous.register(handle, PASSWORD, name.title(), **extra)
    user = User(host.base_url, user_id=profile["id"], handle=handle, password=PASSWORD)
    await user.log_in(handle, PASSWORD)
    if confirm_phone:
        await confirm_phone_of(user, host.data_dir)
    return user


MakeStaff = Callable[..., Awaitable[User]]


@pytest.fixture
async def make_staff(server: Server) -> AsyncIterator[MakeStaff]:
    """A logged-in staff member: `await make_staff("reviewer")`, the same one for each server
    and role unless `new=True` asks for another."""
    made: list[User] = []

    async def make(role: str, *, on: Server | None = None, new: bool = False) -> User:
        host = on or server
        login = await asyncio.to_thread(host.create_staff if new else host.staff_member, role)
        member = User(host.base_url, user_id=login.user_id, handle=login.handle, password=PASSWORD)
        member.token = login.token
        made.append(member)
        return member

    yield make
    for member in made:
        await member.aclose()


@pytest.fixture
async def reviewer(make_staff: MakeStaff) -> User:
    return await make_staff("reviewer")


@pytest.fixture
async def admin(make_staff: MakeStaff) -> User:
    return await make_staff("admin")


@pytest.fixture
async def second_reviewer(server: Server) -> AsyncIterator[User]:
    """Another reviewer than `make_staff("reviewer")`, made once per session."""
    if "second reviewer" not in server.staff:
        server.staff["second reviewer"] = await asyncio.to_thread(server.create_staff, "reviewer")
    login = server.staff["second reviewer"]
    member = User(server.base_url, user_id=login.user_id, handle=login.handle, password="")
    member.token = login.token
    yield member
    await member.aclose()


@pytest.fixture
def no_server_errors(servers: ServerPool) -> Iterator[None]:
    """No 500 and no failed background job: no server logged a traceback during the test.
    A module asks for it with `pytestmark = pytest.mark.usefixtures("no_server_errors")`."""
    sizes = {s.log_file: s.log_file.stat().st_size for s in servers.started}
    yield
    for started in servers.started:
        logged = started.log_file.read_bytes()[sizes.get(started.log_file, 0) :]
        assert b"Traceback" not in logged, logged.decode(errors="replace")


@pytest.fixture
async def alice(make_user: MakeUser) -> User:
    return await make_user("alice")


@pytest.fixture
async def bob(make_user: MakeUser) -> User:
    return await make_user("bob")


@pytest.fixture
async def carol(make_user: MakeUser) -> User:
    return await make_user("carol")
