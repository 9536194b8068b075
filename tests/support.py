"""Helpers the API, WebSocket and crash tests share: error shape, full history, full sync."""

from __future__ import annotations

from typing import Any

import httpx

from townhall.client import TownhallClient

IDENTITY = {
    "legal_name": "张三",
    "id_type": "cn_ric",
    "id_number": "11010519491231002X",
    "phone": "+8613800138000",
}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    """The API's one error shape: {"error": {"code", "message"}}, with the expected status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body


async def full_history(user: TownhallClient, conversation_id: int) -> list[dict[str, Any]]:
    """Every message of a conversation, oldest first, read page by page."""
    newest_first: list[dict[str, Any]] = []
    before = None
    while True:
        page = await user.history(conversation_id, before=before, limit=200)
        newest_first.extend(page["messages"])
        before = page["next_before"]
        if before is None:
            return newest_first[::-1]


async def full_sync(
    user: TownhallClient, since: int = 0, limit: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Every event after `since`, read page by page, and the cursor to continue from."""
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {} if limit is None else {"limit": limit}
    while True:
        page = await user.request("GET", "/api/v1/sync", params={"since": since, **params})
        assert page["next"] >= since
        events.extend(page["events"])
        if not page["events"]:
            return events, page["next"]
        since = page["next"]


def messages_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event["message"] for event in events if event["type"] == "message"]
