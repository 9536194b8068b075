"""Schemathesis against /openapi.json, as each role: every operation gets generated requests,
valid and invalid, and every answer must be no 5xx, a status the operation declares, and a body
and headers that match the document; a request that breaks the document must be refused.

A bounded number of examples per operation in `make test`, more under `make drill`. The server is
the module's own: an administrator's generated writes (lexicon terms, sanctions, blacklisted
identities) must not reach the other tests' shared server. Each role's principal stays alive: the
operations that end their caller's sessions or account get a throwaway principal of the same role
per request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis

from tests.conftest import (
    AGREEMENT_VERSION,
    PASSWORD,
    Server,
    ServerPool,
    fresh_identity,
    unique_handle,
)
from tests.support import drill_scale, latest_sms_code

pytestmark = pytest.mark.long  # among the longest modules: scheduled first (conftest.py)

# The desk roles last: their generated sanctions and decisions may land on the user's account.
ROLES = ("user", "auditor", "reviewer", "admin")
ENDS_THE_SESSION = "DELETE /api/v1/sessions/current"
ENDS_THE_ACCOUNT = "DELETE /api/v1/me"
# A generated id may name the caller's own session, and wrong current passwords fill the
# caller's failed-login window, which the spare logins of ENDS_THE_SESSION need open.
ENDS_SESSIONS = ("DELETE /api/v1/me/sessions/{session_id}", "POST /api/v1/me/password")
# What an answer must be: no 5xx, and described by the document (status, content type, body,
# headers); and a request that breaks the document must be refused.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
# A body over the request limit is refused before it is read, with 413: a rejection too.
REJECTIONS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 429]
# Generated requests per operation and role. Under `make drill` the coverage phase adds its own
# boundary cases (missing, empty, too long, wrong type: some 3,000 requests a role).
MAX_EXAMPLES = drill_scale(5, 100)
# Generated long-polls (GET /api/v1/sync?timeout=…) wait at most this long on the fuzzed server.
SYNC_TIMEOUT_MAX = 5
COVERAGE = bool(drill_scale(False, True))


def config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            # The tests give each request its role's token, so the generator leaves the token out
            # of its cases; and unknown query parameters are ignored, as HTTP APIs do.
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "with-security-parameters": False,
                "allow-extra-parameters": False,
            },
            "phases": {"coverage": {"enabled": COVERAGE}, "stateful": {"enabled": False}},
            "checks": {
                "enabled": False,
                **{check: {"enabled": True} for check in CHECKS},
                "negative_data_rejection": {"enabled": True, "expected-statuses": REJECTIONS},
            },
            "warnings": False,
            # Longer than the server's longest long-poll (SYNC_TIMEOUT_MAX below).
            "request-timeout": 3 * SYNC_TIMEOUT_MAX,
        }
    )


@dataclass(frozen=True)
class Principal:
    role: str
    handle: str
    token: str


def register_user(server: Server) -> Principal:
    """A new user with a verified identity and a confirmed phone, logged in."""
    handle = unique_handle("fuzz")
    with httpx.Client(base_url=server.base_url) as http:
        registered = http.post(
            "/api/v1/accounts",
            json={
                "handle": handle,
                "password": PASSWORD,
                "display_name": "Fuzz",
                "identity": fresh_identity(),
                "agreement_version": AGREEMENT_VERSION,
            },
        )
        assert registered.status_code == 201, registered.text
        http.headers["Authorization"] = f"Bearer {log_in(server, handle)}"
        assert http.post("/api/v1/me/phone/code").status_code == 202
        code = latest_sms_code(server.data_dir, registered.json()["id"])
        assert http.post("/api/v1/me/phone/verify", json={"code": code}).status_code == 200
    return Principal("user", handle, http.headers["Authorization"].removeprefix("Bearer "))


def log_in(server: Server, handle: str) -> str:
    login = httpx.post(
        f"{server.base_url}/api/v1/sessions", json={"handle": handle, "password": PASSWORD}
    )
    assert login.status_code == 201, login.text
    token: str = login.json()["token"]
    return token


def new_principal(server: Server, role: str) -> Principal:
    if role == "user":
        return register_user(server)
    login = server.create_staff(role)
    return Principal(role, login.handle, login.token)


def seed(server: Server, user: Principal) -> None:
    """A group with a message and a public-account application, so that the small ids the
    generator likes name real objects."""
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {user.token}"}
    ) as http:
        group = http.post(
            "/api/v1/conversations", json={"kind": "group", "title": "fuzz", "member_ids": []}
        )
        assert group.status_code == 201, group.text
        sent = http.post(
            f"/api/v1/conversations/{group.json()['id']}/messages",
            json={"text": "你好", "client_id": "seed-1"},
        )
        assert sent.status_code == 201, sent.text
        applied = http.post(
            "/api/v1/public-accounts",
            json={"name": "读书会fuzz", "category": "individual", "account_type": "subscription"},
        )
        assert applied.status_code == 201, applied.text


@pytest.fixture(scope="module")
def fuzz_server(servers: ServerPool) -> Iterator[Server]:
    # Generated logins fail by the hundred from one address: the test servers' limit of them is
    # out of reach (ServerPool.start), so the throwaway logins still succeed.
    own = servers.start(limits__sync_timeout_max_seconds=SYNC_TIMEOUT_MAX)
    seed(own, register_user(own))
    yield own
    own.stop()


@pytest.fixture(scope="module", params=ROLES)
def principal(request: pytest.FixtureRequest, fuzz_server: Server) -> Principal:
    return new_principal(fuzz_server, request.param)


@pytest.fixture(scope="module")
def api_schema(fuzz_server: Server) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzz_server.base_url}/openapi.json", config=config())


@dataclass
class Spares:
    """Throwaway principals of one role for the operations that end their caller: a session to
    log out, an account to deregister. One is made when needed and kept until an answer (204)
    says it was used up, since most generated requests are refused first."""

    server: Server
    principal: Principal
    tokens: dict[str, str] = field(default_factory=dict)  # by operation

    def token(self, operation: str) -> str:
        if operation not in self.tokens:
            if operation == ENDS_THE_SESSION:
                self.tokens[operation] = log_in(self.server, self.principal.handle)
            else:
                self.tokens[operation] = new_principal(self.server, self.principal.role).token
        return self.tokens[operation]

    def used(self, operation: str) -> None:
        self.tokens.pop(operation, None)


@pytest.fixture(scope="module")
def spares(principal: Principal, fuzz_server: Server) -> Spares:
    return Spares(fuzz_server, principal)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def named_per_operation(request: pytest.FixtureRequest) -> None:
    """Schemathesis 4.32 renames the test after each operation through `Node._nodeid`, which
    pytest 9.2 no longer has: give it one to rename."""
    request.node._nodeid = request.node.nodeid


@pytest.mark.drill
@pytest.mark.usefixtures("principal", "named_per_operation")  # principal: one run per role
@schema.parametrize()
def test_every_answer_matches_the_document(
    case: schemathesis.Case, principal: Principal, spares: Spares
) -> None:
    operation = case.operation.label
    ends_the_caller = operation in (ENDS_THE_SESSION, ENDS_THE_ACCOUNT, *ENDS_SESSIONS)
    token = spares.token(operation) if ends_the_caller else principal.token
    answer = case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
    if ends_the_caller and answer.status_code == 204:
        spares.used(operation)
