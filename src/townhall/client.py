"""A small Python client of the public API (HTTP + WebSocket), for the CLI, tests and benchmarks."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect


class ApiError(Exception):
    """An error answer: the HTTP status and the API's stable error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class LiveSocket:
    """An authenticated WebSocket: `ready` holds the server's first frame."""

    def __init__(self, connection: ClientConnection, ready: dict[str, Any]) -> None:
        self.connection = connection
        self.ready = ready

    async def receive(self) -> dict[str, Any]:
        return orjson.loads(await self.connection.recv())

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.connection.send(orjson.dumps(frame).decode())

    async def send_message(
        self, conversation_id: int, text: str, client_id: str | None = None
    ) -> str:
        client_id = client_id or new_client_id()
        await self.send_frame(
            {
                "type": "send",
                "conversation_id": conversation_id,
                "text": text,
                "client_id": client_id,
            }
        )
        return client_id

    async def receive_until(self, frame_type: str, limit: int = 10_000) -> dict[str, Any]:
        for _ in range(limit):
            frame = await self.receive()
            if frame["type"] == frame_type:
                return frame
        raise AssertionError(f"no {frame_type!r} frame in {limit} frames")


def new_client_id() -> str:
    return secrets.token_urlsafe(12)


class TownhallClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        # A kept-alive connection is given up well before the server's idle timeout (5 s by
        # default) would close it: one closed just as a request goes out fails that request.
        self.http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, limits=httpx.Limits(keepalive_expiry=2.0)
        )

    async def __aenter__(self) -> TownhallClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response = await self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            error = response.json().get("error", {})
            raise ApiError(response.status_code, error.get("code", ""), error.get("message", ""))
        return response.json() if response.content else None

    async def register(
        self,
        handle: str,
        password: str,
        display_name: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body = {"handle": handle, "password": password, "display_name": display_name or handle}
        return await self.request("POST", "/api/v1/accounts", json={**body, **extra})

    async def log_in(self, handle: str, password: str) -> str:
        answer = await self.request(
            "POST", "/api/v1/sessions", json={"handle": handle, "password": password}
        )
        self.token = answer["token"]
        return self.token

    async def log_out(self) -> None:
        await self.request("DELETE", "/api/v1/sessions/current")

    async def me(self) -> dict[str, Any]:
        return await self.request("GET", "/api/v1/me")

    async def request_friend(self, user_id: int, greeting: str = "") -> dict[str, Any]:
        """Ask to be friends (or greet again on the open request)."""
        return await self.request(
            "POST", "/api/v1/friend-requests", json={"user_id": user_id, "greeting": greeting}
        )

    async def answer_friend(self, user_id: int, answer: str = "accept") -> dict[str, Any]:
        """Accept, decline or ignore the friend request `user_id` sent."""
        return await self.request("POST", f"/api/v1/friend-requests/{user_id}/{answer}")

    async def open_direct(self, user_id: int) -> dict[str, Any]:
        return await self.request(
            "POST", "/api/v1/conversations", json={"kind": "direct", "user_id": user_id}
        )

    async def create_group(
        self, title: str, member_ids: list[int], description: str = ""
    ) -> dict[str, Any]:
        """A new group: its members named here are invited, and join by accepting."""
        return await self.request(
            "POST",
            "/api/v1/conversations",
            json={
                "kind": "group",
                "title": title,
                "description": description,
                "member_ids": member_ids,
            },
        )

    async def accept_invitation(self, conversation_id: int) -> dict[str, Any]:
        return await self.request("POST", f"/api/v1/invitations/{conversation_id}/accept")

    async def send(
        self,
        conversation_id: int,
        text: str,
        client_id: str | None = None,
        *,
        media_ids: list[int] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text, "client_id": client_id or new_client_id()}
        if media_ids:
            body["media_ids"] = media_ids
        return await self.request(
            "POST", f"/api/v1/conversations/{conversation_id}/messages", json=body
        )

    async def upload(self, data: bytes, filename: str | None = None) -> dict[str, Any]:
        """An image or a file, uploaded as the request body; the media object to attach."""
        params = {} if filename is None else {"filename": filename}
        return await self.request("POST", "/api/v1/media", content=data, params=params)

    async def history(
        self, conversation_id: int, *, cursor: str | None = None, limit: int = 50
    ) -> dict[str, Any]:
        """One page of messages, newest first; `cursor` is the previous page's `next_cursor`."""
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        return await self.request(
            "GET", f"/api/v1/conversations/{conversation_id}/messages", params=params
        )

    async def sync(self, since: int = 0, timeout: float = 0) -> dict[str, Any]:
        return await self.request(
            "GET",
            "/api/v1/sync",
            params={"since": since, "timeout": timeout},
            timeout=timeout + 30,
        )

    async def apply_public_account(
        self, name: str, category: str, account_type: str = "subscription", **extra: Any
    ) -> dict[str, Any]:
        body = {"name": name, "category": category, "account_type": account_type, **extra}
        return await self.request("POST", "/api/v1/public-accounts", json=body)

    async def subscribe(self, public_account_id: int) -> dict[str, Any]:
        return await self.request(
            "PUT", f"/api/v1/public-accounts/{public_account_id}/subscription"
        )

    async def publish(
        self,
        public_account_id: int,
        title: str,
        body: str,
        content_class: str = "culture",
        source_post_id: int | None = None,
    ) -> dict[str, Any]:
        return await self.request(
            "POST",
            f"/api/v1/public-accounts/{public_account_id}/posts",
            json={
                "title": title,
                "body": body,
                "content_class": content_class,
                "source_post_id": source_post_id,
            },
        )

    async def timeline(
        self, *, since: int = 0, cursor: str | None = None, limit: int = 20
    ) -> dict[str, Any]:
        """Posts newest first: what is new `since` a `latest`, or an older page by `cursor`."""
        params: dict[str, Any] = {"since": since, "limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        return await self.request("GET", "/api/v1/timeline", params=params)

    async def read_post(self, post_id: int) -> dict[str, Any]:
        return await self.request("GET", f"/api/v1/posts/{post_id}")

    async def forward(
        self, post_id: int, conversation_id: int, from_message_id: int | None = None
    ) -> dict[str, Any]:
        return await self.request(
            "POST",
            f"/api/v1/posts/{post_id}/forwards",
            json={"conversation_id": conversation_id, "from_message_id": from_message_id},
        )

    async def report(
        self, target_type: str, target_id: int, reason: str, detail: str | None = None
    ) -> dict[str, Any]:
        body = {"target_type": target_type, "target_id": target_id, "reason": reason}
        return await self.request("POST", "/api/v1/reports", json={**body, "detail": detail})

    @asynccontextmanager
    async def websocket(self, since: int | None = None) -> AsyncIterator[LiveSocket]:
        ws_url = "ws" + self.base_url.removeprefix("http") + "/api/v1/ws"
        async with connect(ws_url, max_size=None, compression=None) as connection:
            auth: dict[str, Any] = {"type": "auth", "token": self.token}
            if since is not None:
                auth["since"] = since
            await connection.send(orjson.dumps(auth).decode())
            ready = orjson.loads(await connection.recv())
            if ready.get("type") != "ready":
                error = ready.get("error", {})
                raise ApiError(401, error.get("code", ""), error.get("message", ""))
            yield LiveSocket(connection, ready)
