"""Every answer carries the security headers, refusals included; none names the server; CORS
is closed unless the operator names an origin; HSTS only over HTTPS."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Server, ServerPool

pytestmark = pytest.mark.http_layer  # the PostgreSQL run leaves it out (Makefile)

ANSWERS = [
    ("GET", "/", 200),
    ("GET", "/docs", 200),
    ("GET", "/openapi.json", 200),
    ("GET", "/api/v1/policy", 200),
    ("GET", "/api/v1/me", 401),
    ("GET", "/no/such/page", 404),
    ("POST", "/api/v1/sessions", 400),
]


@pytest.mark.parametrize(("method", "path", "status"), ANSWERS)
async def test_every_answer_carries_the_security_headers(
    server: Server, method: str, path: str, status: int
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.request(method, path, content=b"{" if method == "POST" else None)
    assert answer.status_code == status
    headers = answer.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert ("'unsafe-inline'" in policy) == (path == "/docs")
    assert "server" not in headers
    assert "strict-transport-security" not in headers  # plain HTTP
    assert (headers.get("cache-control") == "no-store") == path.startswith("/api/")


async def test_hsts_when_a_trusted_proxy_says_the_request_came_over_https(
    servers: ServerPool,
) -> None:
    proxied = servers.shared(trusted_proxies='["127.0.0.1", "::1"]')
    async with httpx.AsyncClient(base_url=proxied.base_url) as http:
        over_tls = await http.get("/api/v1/policy", headers={"X-Forwarded-Proto": "https"})
    assert over_tls.headers["strict-transport-security"] == "max-age=63072000"


async def test_a_client_cannot_claim_https_past_no_proxy(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.get("/api/v1/policy", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in answer.headers


async def preflight(server: Server, origin: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.options(
            "/api/v1/me",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )


async def test_cors_is_closed_by_default(server: Server) -> None:
    answer = await preflight(server, "https://evil.example")
    assert "access-control-allow-origin" not in answer.headers


async def test_cors_admits_only_the_origins_named(servers: ServerPool) -> None:
    open_to_one = servers.shared(cors_allowed_origins='["https://chat.example.org"]')
    allowed = await preflight(open_to_one, "https://chat.example.org")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://chat.example.org"
    assert "access-control-allow-credentials" not in allowed.headers
    refused = await preflight(open_to_one, "https://evil.example")
    assert "access-control-allow-origin" not in refused.headers
