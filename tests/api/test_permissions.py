"""Who may do what, route by route: every route the server documents, called by each role,
refuses exactly the roles that lack the permission it declares (`x-permission`, the permission
its service requires, from domain/permissions.py); and docs/permissions.md is that table as it
is, generated here (TOWNHALL_REGENERATE_DOCS=1 rewrites it)."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, MakeStaff, MakeUser, Server, User
from tests.support import openapi_routes, query_parameters, request_bodies
from townhall.api.deps import PERMISSION_KEY, READING_METHODS
from townhall.domain.accounts import Role
from townhall.domain.permissions import READ_ONLY_ROLES, ROLES, TABLE, Permission, permits

pytestmark = pytest.mark.usefixtures("no_server_errors")

ROOT = Path(__file__).parents[2]
PERMISSIONS_DOC = ROOT / "docs" / "permissions.md"
SERVICES = ROOT / "src" / "townhall" / "services"
NO_SUCH_ID = 999_999_999
ALL_METHODS = ("get", "post", "put", "patch", "delete")
# Routes that end the caller's session: each is called on a session of its own, and leaving
# (which ends the account) last of all.
LOG_OUT = ("DELETE", "/api/v1/sessions/current")
LEAVE = ("DELETE", "/api/v1/me")


def refusal_code(role: str, method: str) -> str:
    """A read-only role's write is refused as such; every other refusal names the role needed."""
    if role in READ_ONLY_ROLES and method not in READING_METHODS:
        return "read_only_role"
    return "role_required"


def walk_order(route: tuple[str, str]) -> tuple[bool, str, str]:
    return (route == LEAVE, route[1], route[0])


async def test_every_route_refuses_exactly_the_roles_its_permission_leaves_out(
    fresh_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = fresh_server
    members: dict[str, User] = {Role.USER: await make_user("alice", on=server)}
    for role in ROLES[1:]:
        members[role] = await make_staff(role, on=server)
    spec = await members[Role.USER].request("GET", "/openapi.json")
    # Ids that name nothing: a role let through meets a 404 at worst, and changes nothing.
    fields: dict[str, Any] = {
        "user_id": NO_SUCH_ID,
        "other_user_id": NO_SUCH_ID - 1,
        "subject_id": NO_SUCH_ID,
        "target_id": NO_SUCH_ID,
        "sanction_id": NO_SUCH_ID,
        "case_ids": [NO_SUCH_ID],
        "member_ids": [],
        "text": f"nobody says this {uuid.uuid4().hex}",
        "title": "茶话会",
        "client_id": uuid.uuid4().hex,
        "target_type": "user",
        "subject_type": "user",
        "display_name": "Alice",
    }
    walked = []
    for method, path in sorted(openapi_routes(spec, ALL_METHODS), key=walk_order):
        declared = spec["paths"][path][method.lower()].get(PERMISSION_KEY)
        permission = None if declared is None else Permission(declared)
        url = re.sub(r"\{\w+\}", str(NO_SUCH_ID), path)
        params = query_parameters(spec, method, path, fields)
        for role, member in members.items():
            if (method, path) in (LOG_OUT, LEAVE):
                await member.log_in(member.handle, PASSWORD)
            for body in request_bodies(spec, method, path, fields):
                answer = await member.raw(method, url, json=body, params=params)
                if permission is None or permits(role, permission):
                    assert not is_role_refusal(answer), (role, method, path, answer.text)
                else:
                    assert answer.status_code == 403, (role, method, path, answer.text)
                    code = answer.json()["error"]["code"]
                    assert code == refusal_code(role, method), (role, method, path, code)
        walked.append((method, path, permission))
    decide = ("POST", "/api/v1/admin/review/cases/{case_id}/decision", Permission.DECIDE_CASE)
    assert decide in walked
    assert ("POST", "/api/v1/conversations/{conversation_id}/messages", Permission.ACT) in walked
    assert {p for *_, p in walked} - {None} == set(TABLE) - WEIGHED_WITHIN


# Permissions a use case weighs partway, on what it finds (the case, the sanction's kind), and
# that no route declares on its own.
WEIGHED_WITHIN = {
    Permission.TAKE_OVER_CASE,
    Permission.DECIDE_ESCALATED_CASE,
    Permission.APPLY_CLOSING_SANCTION,
}


def is_role_refusal(answer: httpx.Response) -> bool:
    if answer.status_code != 403:
        return False
    return answer.json()["error"]["code"] in ("role_required", "read_only_role")


def test_every_permission_is_checked_by_a_service() -> None:
    """No permission in the table that no use case asks for."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in SERVICES.glob("*.py"))
    for permission in Permission:
        assert f"Permission.{permission.name}" in source, permission


async def test_the_permission_table_is_documented_as_it_is(server: Server) -> None:
    """docs/permissions.md is generated: edit domain/permissions.py or a route's declaration,
    then run this test with TOWNHALL_REGENERATE_DOCS=1."""
    current = PERMISSIONS_DOC.read_text(encoding="utf-8")
    generated = permissions_doc(await routes_and_permissions(server)) + written_by_hand(current)
    if os.environ.get("TOWNHALL_REGENERATE_DOCS") == "1":
        PERMISSIONS_DOC.write_text(generated, encoding="utf-8")
    assert current == generated, (
        "docs/permissions.md is stale: run "
        "TOWNHALL_REGENERATE_DOCS=1 pytest tests/api/test_permissions.py -k documented"
    )


# The generated page -----------------------------------------------------------------------------

INTRODUCTION = """\
# Permissions

<!-- Generated from src/townhall/domain/permissions.py and the routes' declarations by
tests/api/test_permissions.py: do not edit by hand (but for "Whose objects", at the end); change
the table or a route, then run
TOWNHALL_REGENERATE_DOCS=1 pytest tests/api/test_permissions.py -k documented -->

Every decision about who may do what is a named permission, held by the roles in the table
below and nowhere else (`src/townhall/domain/permissions.py`). The service that runs a use case
checks it (`require(principal, Permission.X)`), so HTTP, the WebSocket and the command line get
the same answer: 403 `role_required` to a role without it, and 403 `read_only_role` when a
read-only role (the auditor, which holds no permission that changes anything) asks to change
something. Over HTTP a read-only role's write is refused before its body is read, so it is 403
whatever it sends; over the WebSocket a `send` frame gets the same error frame.

Each route declares the permission its service requires as `x-permission` in `/openapi.json`;
`tests/api/test_permissions.py` calls every route as every role and checks it against this
table.
"""


# The page's last part, its ownership rules, is written by hand: regenerating keeps it.
BY_HAND = "<!-- Written by hand from here on: the generator keeps it as it is. -->"


def written_by_hand(page: str) -> str:
    """The hand-written part of the page, from its marker on, after a blank line."""
    start = page.find(BY_HAND)
    assert start >= 0, f"docs/permissions.md lost its marker {BY_HAND!r}"
    return "\n" + page[start:]


Route = tuple[str, str, "Permission | None", bool]


async def routes_and_permissions(server: Server) -> list[Route]:
    """(method, path, its declared permission, whether it takes a session) of every route the
    server documents; a route declaring nothing is asked without a token to tell which."""
    routes = []
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        spec = (await anonymous.get("/openapi.json")).json()
        for method, path in openapi_routes(spec, ALL_METHODS):
            declared = spec["paths"][path][method.lower()].get(PERMISSION_KEY)
            if declared is not None:
                routes.append((method, path, Permission(declared), True))
                continue
            answer = await anonymous.request(method, re.sub(r"\{\w+\}", "1", path))
            routes.append((method, path, None, answer.status_code == 401))
    return sorted(routes, key=lambda route: (route[1], ALL_METHODS.index(route[0].lower())))


def permissions_doc(routes: list[Route]) -> str:
    on_a_route = {permission for _, _, permission, _ in routes}
    lines = [INTRODUCTION, "## Permissions and roles", ""]
    lines.append(f"| permission | {' | '.join(ROLES)} | changes | what |")
    lines.append("| --- " * (len(ROLES) + 3) + "|")
    for permission, grant in TABLE.items():
        held = " | ".join("✓" if role in grant.roles else "" for role in ROLES)
        changes = "yes" if grant.writes else "no"
        lines.append(f"| `{permission}` | {held} | {changes} | {grant.what} |")
    lines += [
        "",
        "Weighed partway through a use case, on what it finds (a case's state and claim, a"
        " sanction's kind), rather than declared by a route: "
        + ", ".join(f"`{p}`" for p in TABLE if p not in on_a_route)
        + ".",
        "",
        "## Routes",
        "",
        "The permission each route's service requires. *Signed in*: any account with a"
        " session, each seeing only what is its own to see; *anyone*: no token needed.",
        "",
        "| route | permission |",
        "| --- | --- |",
    ]
    for method, path, permission, signed_in in routes:
        who = f"`{permission}`" if permission else "*signed in*" if signed_in else "*anyone*"
        lines.append(f"| `{method} {path}` | {who} |")
    return "\n".join(lines) + "\n"
