"""What the server shows about itself: health, the OpenAPI document, the landing page."""

from __future__ import annotations

import re

import httpx

from tests.conftest import Server


async def test_health_names_the_version(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


async def test_the_openapi_document_lists_the_core_endpoints(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.get("/openapi.json")
    assert answer.status_code == 200
    paths = answer.json()["paths"]
    for path in (
        "/api/v1/accounts",
        "/api/v1/sessions",
        "/api/v1/sessions/current",
        "/api/v1/me",
        "/api/v1/conversations",
        "/api/v1/conversations/{conversation_id}/messages",
        "/api/v1/sync",
    ):
        assert path in paths


async def test_the_landing_page_is_html(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "<html" in answer.text.lower()


async def test_the_api_pages_work_offline_from_assets_the_server_ships(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for page in ("/docs", "/redoc"):
            answer = await http.get(page)
            assert answer.status_code == 200
            assets = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
            assert assets, page
            for asset in assets:
                assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
                fetched = await http.get(asset)
                assert fetched.status_code == 200, asset
                assert len(fetched.content) > 1000, asset
