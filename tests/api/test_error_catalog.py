"""The API's error messages in the caller's language: `Accept-Language` picks the catalog, each
code reads as its meaning translated, a refusal names what it is about (the categories of a
`content_blocked`, the field of an `invalid_request`), over HTTP and on the WebSocket; and each
shipped catalog translates every code and nothing else."""

from __future__ import annotations

import orjson
import pytest
from websockets.asyncio.client import connect

from tests.conftest import MakeUser, Server
from tests.support import assert_error
from townhall.api.i18n import (
    LIST_SEPARATOR,
    WITH_SUBJECTS,
    catalogs,
    negotiate,
    preferred_languages,
)
from townhall.domain.errors import ErrorCode
from townhall.packs import available_packs, load_pack

pytestmark = pytest.mark.usefixtures("no_server_errors")
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
ZH = catalogs()["zh_CN"]


def with_subjects(code: ErrorCode, subjects: str) -> str:
    """The Chinese message of `code` naming `subjects` (punctuated as the catalog says)."""
    return ZH[WITH_SUBJECTS].format(meaning=ZH[code.meaning], subjects=subjects)


def test_every_catalog_translates_every_code_and_only_what_messages_name() -> None:
    categories = {
        category for name in available_packs() for category in load_pack(name).moderation.categories
    }
    expected = {code.meaning for code in ErrorCode} | categories | {WITH_SUBJECTS, LIST_SEPARATOR}
    assert catalogs(), "no catalog shipped"
    for locale, words in catalogs().items():
        assert set(words) == expected, locale
        assert "{meaning}" in words[WITH_SUBJECTS] and "{subjects}" in words[WITH_SUBJECTS]


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh-TW,en;q=0.5", "zh_CN"),  # the nearest there is before English
        ("fr-FR, zh-CN;q=0.7, en;q=0.8", None),  # English is wanted more than Chinese
        ("en-US,en;q=0.9", None),
        ("de, *;q=0.1", None),
        ("zh-CN;q=0", None),  # "not this one"
        ("zh-CN;q=x, zh;q=0.3", "zh_CN"),  # a weight that is no number drops its tag only
        ("", None),
        (None, None),
    ],
)
def test_the_language_is_negotiated_from_the_header(header: str | None, locale: str | None) -> None:
    assert negotiate(header) == locale


def test_a_long_header_is_read_only_so_far() -> None:
    assert len(preferred_languages(",".join(["fr"] * 1000))) <= 32


async def test_refusals_read_in_chinese_when_asked(server: Server, make_user: MakeUser) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    login = {"handle": alice.handle, "password": "wrong password"}
    english = await alice.http.post("/api/v1/sessions", json=login)
    chinese = await alice.http.post("/api/v1/sessions", json=login, headers=CHINESE)
    assert_error(english, 401, "login_failed")
    assert_error(chinese, 401, "login_failed")
    assert english.json()["error"]["message"].isascii()
    assert chinese.json()["error"]["message"] == "账号名或密码错误"

    # What a refusal is about is named: the categories of blocked content, a request's field.
    blocked = await alice.raw(
        "POST",
        "/api/v1/friend-requests",
        json={"user_id": bob.id, "greeting": "再不还钱砍死你"},
        headers=CHINESE,
    )
    assert_error(blocked, 422, "content_blocked")
    assert blocked.json()["error"]["message"] == with_subjects(ErrorCode.CONTENT_BLOCKED, "暴力")
    missing = await alice.raw("POST", "/api/v1/friend-requests", json={}, headers=CHINESE)
    assert_error(missing, 400, "invalid_request")
    assert missing.json()["error"]["message"] == with_subjects(ErrorCode.INVALID_REQUEST, "user_id")
    nobody = await alice.raw(
        "POST", "/api/v1/friend-requests", json={"user_id": 10**12}, headers=CHINESE
    )
    assert_error(nobody, 404, "user_not_found")
    assert nobody.json()["error"]["message"] == with_subjects(ErrorCode.USER_NOT_FOUND, str(10**12))
    unknown = await alice.raw("GET", "/api/v1/nowhere", headers=CHINESE)
    assert unknown.json()["error"]["message"] == "该路径不存在"


async def test_websocket_refusals_follow_the_language_it_was_opened_with(
    server: Server, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    url = server.base_url.replace("http", "ws", 1) + "/api/v1/ws"
    async with connect(url, additional_headers=CHINESE) as socket:
        await socket.send(orjson.dumps({"type": "auth", "token": alice.token}).decode())
        assert orjson.loads(await socket.recv())["type"] == "ready"
        send = {"type": "send", "conversation_id": 10**9, "text": "在吗", "client_id": "c1"}
        await socket.send(orjson.dumps(send).decode())
        refusal = orjson.loads(await socket.recv())
    assert refusal["error"]["code"] == "conversation_not_found"
    assert refusal["error"]["message"] == ZH[ErrorCode.CONVERSATION_NOT_FOUND.meaning]
