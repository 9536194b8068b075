"""The real identity given at registration is never shown, and never stored or logged in clear."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from tests.conftest import PASSWORD, MakeUser, Server, User, unique_handle
from tests.support import IDENTITY

SECRETS = {
    "id number": IDENTITY["id_number"].encode(),
    "id number, lower case": IDENTITY["id_number"].lower().encode(),
    "phone": IDENTITY["phone"].encode(),
    "phone digits": IDENTITY["phone"].lstrip("+").encode(),
    "legal name": IDENTITY["legal_name"].encode(),
    "legal name, JSON-escaped": b"\\u5f20\\u4e09",
    "legal name, UTF-16": IDENTITY["legal_name"].encode("utf-16-le"),
}


def leaks(data: bytes) -> list[str]:
    return [name for name, secret in SECRETS.items() if secret in data]


def files_under(root: Path) -> list[Path]:
    """Every file: the database, its -wal and -shm, the keys."""
    return [path for path in sorted(root.rglob("*")) if path.is_file()]


async def test_the_identity_is_in_no_answer(server: Server, make_user: MakeUser) -> None:
    handle = unique_handle("zhang")
    answers: list[httpx.Response] = []
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        body = {
            "handle": handle,
            "password": PASSWORD,
            "display_name": "Zhang",
            "identity": IDENTITY,
            "agreement_version": "2014-08",
        }
        answers.append(await http.post("/api/v1/accounts", json=body))
        answers.append(await http.post("/api/v1/accounts", json=body))  # handle taken
        answers.append(
            await http.post(
                "/api/v1/accounts", json={**body, "identity": {**IDENTITY, "id_type": "other"}}
            )
        )
        answers.append(
            await http.post(
                "/api/v1/accounts", json={**body, "identity": {**IDENTITY, "phone": "x" * 1025}}
            )
        )
        answers.append(
            await http.post(
                "/api/v1/accounts", json={**body, "identity": {**IDENTITY, "extra": "y"}}
            )
        )
        login = await http.post("/api/v1/sessions", json={"handle": handle, "password": PASSWORD})
        answers.append(login)
    assert answers[0].status_code == 201
    assert [a.status_code for a in answers[1:5]] == [409, 400, 400, 400]

    zhang = User(server.base_url, user_id=answers[0].json()["id"], handle=handle, password="")
    zhang.token = login.json()["token"]
    friend = await make_user("friend")
    async with zhang:
        me = await zhang.raw("GET", "/api/v1/me")
        answers.append(me)
        chat = await friend.open_direct(zhang.id)
        await zhang.send(chat["id"], "hello")
        answers.append(await zhang.raw("GET", "/api/v1/sync"))
        answers.append(await zhang.raw("GET", "/api/v1/conversations"))
        answers.append(await friend.raw("GET", "/api/v1/sync"))
        answers.append(await friend.raw("GET", f"/api/v1/conversations/{chat['id']}"))
        answers.append(await friend.raw("GET", f"/api/v1/conversations/{chat['id']}/messages"))
        async with zhang.websocket(since=0) as socket:
            frames = [socket.ready, await socket.receive(), await socket.receive()]

    assert me.json()["identity_on_file"] is True
    for answer in answers:
        assert leaks(answer.content) == [], answer.request.url
        assert leaks(str(answer.headers).encode()) == []
    assert [frame["type"] for frame in frames] == ["ready", "conversation", "message"]
    assert leaks(repr(frames).encode()) == []


async def test_the_identity_is_never_in_clear_in_the_data_dir_or_the_log(
    server: Server, make_user: MakeUser
) -> None:
    visible_name = f"Visible {uuid.uuid4().hex}"
    zhang = await make_user("zhang", identity=IDENTITY, agreement_version="2014-08")
    await zhang.raw("GET", "/api/v1/me")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        refused = await http.post(
            "/api/v1/accounts",
            json={
                "handle": zhang.handle,
                "password": PASSWORD,
                "display_name": visible_name,
                "identity": {**IDENTITY, "id_type": "other"},
            },
        )
        assert refused.status_code == 400
        created = await http.post(
            "/api/v1/accounts",
            json={
                "handle": unique_handle("shown"),
                "password": PASSWORD,
                "display_name": visible_name,
                "identity": IDENTITY,
            },
        )
        assert created.status_code == 201

    files = [*files_under(server.data_dir), server.log_file]
    assert "townhall.db" in {path.name for path in files}
    contents = {path: path.read_bytes() for path in files}
    # The scan reads what the server wrote: the display name is there, in the clear.
    assert any(visible_name.encode() in data for data in contents.values())
    assert {str(path): leaks(data) for path, data in contents.items() if leaks(data)} == {}
