"""The full id number, legal name and phone appear nowhere but in the audited reveal: in no
answer, no error, no WebSocket frame, no line of the log, no file under the data dir, and no row
of the database (its SQLite files, or every PostgreSQL table read out as text)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    AGREEMENT_VERSION,
    PASSWORD,
    MakeStaff,
    MakeUser,
    Server,
    ServerPool,
    User,
    fresh_identity,
    unique_handle,
)
from tests.databases import on_postgresql, plain_url
from tests.support import (
    DATABASE_URLS,
    group_of,
    identity_secrets,
    leaks,
    masked_phone,
    sms_codes,
    sms_outbox,
    with_wrong_check_digit,
)


def files_under(root: Path) -> list[Path]:
    """Every file: townhall.db, its -wal and -shm, the keys, sms-outbox.jsonl."""
    return [path for path in sorted(root.rglob("*")) if path.is_file()]


def postgresql_rows(url: str) -> bytes:
    """Every row of every table of a PostgreSQL database as text, bytea columns in hex."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(plain_url(url)) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        rows = [
            text
            for (table,) in tables.fetchall()
            for (text,) in conn.execute(
                sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(table))
            )
        ]
    assert rows, "no rows read"
    return "\n".join(rows).encode()


@pytest.fixture
def own_server(servers: ServerPool) -> Iterator[Server]:
    """A server of this test's own, logging at debug level: the most it ever writes."""
    own = servers.start(log_level="debug")
    yield own
    own.stop()


async def test_a_real_session_leaks_the_identity_nowhere(
    own_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = own_server
    identity = fresh_identity(legal_name="欧阳娜娜")
    bad_checksum = {**identity, "id_number": with_wrong_check_digit(identity["id_number"])}
    secrets = {
        **identity_secrets(identity),
        **{
            f"refused {label}": value
            for label, value in identity_secrets(bad_checksum).items()
            if label.startswith("id number")
        },
    }
    # Letters only: a run of digits would read as a phone number, which no name may hold.
    visible_name = (
        f"Visible {uuid.uuid4().hex.translate(str.maketrans('0123456789', 'ghijklmnop'))}"
    )
    handle = unique_handle("ouyang")
    answers: list[httpx.Response] = []
    body = {
        "handle": handle,
        "password": PASSWORD,
        "display_name": visible_name,
        "identity": identity,
        "agreement_version": AGREEMENT_VERSION,
    }

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answers.append(await http.get("/api/v1/policy"))
        answers.append(await http.get("/api/v1/agreement"))
        registered = await http.post("/api/v1/accounts", json=body)
        answers.append(registered)
        refusals = [
            # the handle is taken
            await http.post("/api/v1/accounts", json=body),
            # the identity is taken, typed another way
            await http.post(
                "/api/v1/accounts",
                json={
                    **body,
                    "handle": unique_handle("again"),
                    "identity": {**identity, "id_number": " " + identity["id_number"].lower()},
                },
            ),
            # a typo in the number
            await http.post(
                "/api/v1/accounts",
                json={**body, "handle": unique_handle("typo"), "identity": bad_checksum},
            ),
            # a phone number that cannot be one
            await http.post(
                "/api/v1/accounts",
                json={
                    **body,
                    "handle": unique_handle("typo"),
                    "identity": {**identity, "phone": identity["phone"][:-2]},
                },
            ),
            # the name written for another document type
            await http.post(
                "/api/v1/accounts",
                json={
                    **body,
                    "handle": unique_handle("typo"),
                    "identity": {**identity, "id_type": "passport"},
                },
            ),
            # a field the API does not know
            await http.post(
                "/api/v1/accounts",
                json={
                    **body,
                    "handle": unique_handle("typo"),
                    "identity": {**identity, "note": identity["id_number"]},
                },
            ),
        ]
        answers.extend(refusals)
        login = await http.post("/api/v1/sessions", json={"handle": handle, "password": PASSWORD})
        answers.append(login)
    assert registered.status_code == 201, registered.text
    assert [(a.status_code, a.json()["error"]["code"]) for a in refusals] == [
        (409, "handle_taken"),
        (409, "identity_limit"),
        (422, "id_checksum"),
        (422, "phone_invalid"),
        (422, "legal_name_invalid"),
        (400, "invalid_request"),
    ]

    ouyang = User(server.base_url, user_id=registered.json()["id"], handle=handle, password="")
    ouyang.token = login.json()["token"]
    # The friend only reads: no phone of theirs in the SMS outbox checked below.
    friend = await make_user("friend", on=server, confirm_phone=False)
    reviewer = await make_staff("reviewer", on=server)
    admin = await make_staff("admin", on=server)
    async with ouyang:
        answers.append(await ouyang.raw("GET", "/api/v1/me"))
        answers.append(await ouyang.raw("POST", "/api/v1/me/phone/code"))
        (code,) = sms_codes(server.data_dir, ouyang.id)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        answers.append(await ouyang.raw("POST", "/api/v1/me/phone/verify", json={"code": wrong}))
        answers.append(await ouyang.raw("POST", "/api/v1/me/phone/verify", json={"code": code}))
        answers.append(await ouyang.raw("GET", "/api/v1/me"))
        chat = await friend.open_direct(ouyang.id)
        group = await group_of(ouyang, "tea", friend)
        await ouyang.send(chat["id"], "hello")
        await ouyang.send(group["id"], "hello, everyone")
        for path in (
            "/api/v1/sync",
            "/api/v1/conversations",
            f"/api/v1/conversations/{chat['id']}",
        ):
            answers.append(await ouyang.raw("GET", path))
            answers.append(await friend.raw("GET", path))
        answers.append(await friend.raw("GET", f"/api/v1/conversations/{group['id']}/messages"))
        async with ouyang.websocket(since=0) as socket:
            frames = [socket.ready] + [await socket.receive() for _ in range(4)]
        for status in ("provider_verified", "pending_review", "rejected"):
            answers.append(
                await reviewer.raw("GET", "/api/v1/admin/identities", params={"status": status})
            )
        reveal = await reviewer.raw(
            "POST",
            f"/api/v1/admin/identities/{ouyang.id}/reveal",
            json={"reason": "police request 2024-118", "reference": "request:TEST-118"},
        )
        answers.append(await admin.raw("GET", "/api/v1/admin/identity-access"))
        answers.append(await ouyang.raw("POST", "/api/v1/me/phone/code"))  # already verified

    # The session did what it meant to: the phone got verified, the queue lists the user.
    assert answers[-1].json()["error"]["code"] == "phone_already_verified"
    verified = next(a for a in answers if a.request.url.params.get("status") == "provider_verified")
    assert ouyang.id in [item["user_id"] for item in verified.json()["identities"]]
    assert {f["type"] for f in frames} >= {"ready", "conversation", "message"}
    # The reveal is the one answer that holds the identity, as it was normalized.
    assert reveal.status_code == 200
    assert reveal.json()["identity"] == identity
    assert leaks(reveal.content, secrets)

    for answer in answers:
        assert leaks(answer.content, secrets) == [], (answer.request.url, answer.text)
        assert leaks(str(answer.headers).encode(), secrets) == []
    assert leaks(repr(frames).encode(), secrets) == []
    # The outbox addressed the code to the masked number, which is all it holds of the phone.
    assert [line["to"] for line in sms_outbox(server.data_dir)] == [masked_phone(identity["phone"])]

    def scan() -> dict[str, list[str]]:
        files = [*files_under(server.data_dir), server.log_file]
        contents = {str(path): path.read_bytes() for path in files}
        found = {path: leaks(data, secrets) for path, data in contents.items()}
        if server.data_dir in DATABASE_URLS:
            rows = contents["the database"] = postgresql_rows(DATABASE_URLS[server.data_dir])
            # bytea columns are read out in hex: a secret kept in one in the clear shows so.
            hex_forms = {f"{label}, hex": value.hex().encode() for label, value in secrets.items()}
            found["the database"] = leaks(rows, secrets | hex_forms)
        # The scan reads what the server wrote: the display name is there, in the clear.
        assert any(visible_name.encode() in data for data in contents.values())
        return found

    names = {path.name for path in files_under(server.data_dir)}
    sqlite_files = {"townhall.db", "townhall.db-wal", "townhall.db-shm"}
    database_files = set() if on_postgresql() else sqlite_files
    assert {*database_files, "sms-outbox.jsonl"} <= names
    assert {path: found for path, found in scan().items() if found} == {}
    # Stopped, the server checkpoints its WAL into the database file: scan that too.
    server.stop()
    assert {path: found for path, found in scan().items() if found} == {}
    assert "unhandled error" not in server.log()
