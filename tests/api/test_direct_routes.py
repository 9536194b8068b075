"""Routes answered directly (api/direct.py) answer as FastAPI would: the same route for every path
and method, and the same status, body and headers for what a client gets wrong."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match, Mount, Route

from townhall.api.direct import DirectRoutes, _direct
from townhall.app import build_app
from townhall.cli.bench_middleware import serving, settings_for

pytestmark = pytest.mark.http_layer

# What an app's answers differ in whatever it does: the request's id is drawn anew.
DRAWN = {"x-request-id"}
# The hottest routes: a dependency added to one that direct routes cannot resolve would hand it
# back to FastAPI unnoticed but for this.
HOT = {
    ("GET", "/healthz"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/sync"),
    ("GET", "/api/v1/timeline"),
    ("GET", "/api/v1/conversations/{conversation_id}/messages"),
    ("POST", "/api/v1/conversations/{conversation_id}/messages"),
}


def direct_routes_of(app: FastAPI) -> DirectRoutes:
    return DirectRoutes(app.router, routes_of=app)


def http_scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def fastapi_choice(app: FastAPI, scope: dict[str, Any]) -> Route | Mount | None:
    """The route FastAPI's router takes: the first that matches in full."""
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            assert isinstance(route, Route | Mount)
            return route
    return None


def sample_paths(route: Route | Mount) -> list[str]:
    """Paths the route matches, with each parameter as a number and as a word, and near misses."""
    template = route.path
    filled = [re.sub(r"\{[^}]+\}", value, template) for value in ("7", "x", "a/b")]
    return [*filled, *(path + "/" for path in filled), template]


def test_every_path_finds_the_route_fastapi_takes(tmp_path: Path) -> None:
    app = build_app(settings_for(tmp_path))
    direct = direct_routes_of(app)
    routes = [route for route in app.router.routes if isinstance(route, Route | Mount)]
    paths = {path for route in routes for path in sample_paths(route)}
    paths |= {"/", "/nowhere", "/api/v1", "/api/v1/", "/api/v1/me/me", "//api/v1/me"}
    methods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
    answered_directly: set[tuple[str, str]] = set()
    routes_taken: set[int] = set()
    for path in paths:
        for method in methods:
            scope = http_scope(method, path)
            found = direct._find(scope)
            taken = fastapi_choice(app, scope)
            if found is None:
                # Left to FastAPI: a route it answers itself, or none (404, 405, a redirect).
                assert not isinstance(taken, Route) or _direct(taken) is None, (method, path)
                continue
            assert found[0].route is taken, (method, path)
            answered_directly.add((method, taken.path))
            routes_taken.add(id(taken))
    assert answered_directly >= HOT
    # All but a few: what takes a header, a form, the response object, or a dependency of its own.
    api_routes = [route for route in routes if isinstance(route, APIRoute)]
    assert routes_taken == {id(route) for route in api_routes if _direct(route) is not None}
    assert len(routes_taken) >= len(api_routes) - 20


def test_a_route_fastapi_answers_itself_is_never_taken(tmp_path: Path) -> None:
    app = build_app(settings_for(tmp_path))
    direct = direct_routes_of(app)
    for method, path in [
        ("GET", "/api/v1/media/7"),  # takes a Range header
        ("GET", "/api/v1/audit/cases"),  # a listing dependency of its own
        ("POST", "/api/v1/conversations"),  # sets a header on the response object
        ("GET", "/static-offline-docs/swagger-ui.css"),  # a mount of static files
        ("GET", "/openapi.json"),  # a plain route
    ]:
        assert fastapi_choice(app, http_scope(method, path)) is not None
        assert direct._find(http_scope(method, path)) is None, (method, path)


async def both_apps(tmp_path: Path, stack: AsyncExitStack) -> list[httpx.AsyncClient]:
    """The app as served, and the same app without direct routes, each with a user signed in."""
    served = build_app(settings_for(tmp_path / "served"))
    by_fastapi = build_app(settings_for(tmp_path / "fastapi"))
    by_fastapi.user_middleware = [
        layer for layer in by_fastapi.user_middleware if layer.cls is not DirectRoutes
    ]
    return [await stack.enter_async_context(serving(app)) for app in (served, by_fastapi)]


JSON = {"content-type": "application/json"}
MESSAGES = "/api/v1/conversations/{}/messages"
# (method, path, headers, body): what a client may send wrong, or right where the answer does not
# depend on the data.
REQUESTS: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("GET", "/healthz", {}, None),
    ("GET", "/api/v1/policy", {}, None),
    ("GET", "/api/v1/sync?since=999999&timeout=0", {}, None),
    ("GET", "/api/v1/sync?since=-1", {}, None),
    ("GET", "/api/v1/sync?since=abc", {}, None),
    ("GET", "/api/v1/sync?timeout=601", {}, None),
    ("GET", "/api/v1/sync?limit=0&since=99999999999999999999999", {}, None),
    ("GET", "/api/v1/sync?since=1&since=2&timeout=0", {}, None),
    ("GET", "/api/v1/timeline?limit=100000", {}, None),
    ("GET", "/api/v1/timeline?cursor=%ZZ", {}, None),
    ("GET", MESSAGES.format("abc"), {}, None),
    ("GET", MESSAGES.format(0), {}, None),
    ("GET", MESSAGES.format(424242), {}, None),
    ("POST", MESSAGES.format(424242), JSON, b'{"text": "hi"}'),
    ("POST", MESSAGES.format(1), JSON, b"{"),
    ("POST", MESSAGES.format(1), JSON, b"\xff\xfe not text"),
    ("POST", MESSAGES.format(1), JSON, b"[" * 5000 + b"]" * 5000),
    ("POST", MESSAGES.format(1), JSON, b"null"),
    ("POST", MESSAGES.format(1), JSON, b""),
    ("POST", MESSAGES.format(1), JSON, b'{"text": 5}'),
    ("POST", MESSAGES.format(1), {"content-type": "text/plain"}, b'{"text": "hi"}'),
    ("POST", MESSAGES.format(1), {"content-type": "application/vnd.x+json"}, b'{"text": ""}'),
    ("POST", MESSAGES.format(1), {}, b'{"text": "hi"}'),
    ("PATCH", "/api/v1/me", JSON, b'{"display_name": ""}'),
    ("PUT", "/api/v1/me", JSON, b"{}"),
    ("GET", "/api/v1/me/", {}, None),
    ("DELETE", "/api/v1/sessions/0", {}, None),
]


@pytest.fixture
async def clients(tmp_path: Path) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with AsyncExitStack() as stack:
        yield await both_apps(tmp_path, stack)


@pytest.mark.parametrize("signed_in", ["token", "no token", "not a token", "not bearer"])
async def test_direct_answers_are_fastapis(
    clients: list[httpx.AsyncClient], signed_in: str
) -> None:
    for method, path, headers, body in REQUESTS:
        answers = []
        for client in clients:
            sent = {**headers}
            if signed_in != "token":
                sent["authorization"] = {
                    "no token": "",
                    "not a token": "Bearer nope",
                    "not bearer": "Basic bm9wZQ==",
                }[signed_in]
            answer = await client.request(method, path, headers=sent, content=body)
            kept = sorted((k, v) for k, v in answer.headers.items() if k not in DRAWN)
            answers.append((answer.status_code, answer.content, kept))
        assert answers[0] == answers[1], (method, path, signed_in)
