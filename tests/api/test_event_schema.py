"""The events of a user's stream and the WebSocket's frames have a JSON Schema,
docs/events.schema.json, generated from src/townhall/api/models/events.py
(TOWNHALL_REGENERATE_DOCS=1 rewrites it). Real events of every type, read by sync and over the
WebSocket, validate against it, and every type it names turns up."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match
from PIL import Image
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import BASE_PACK_TEXT, MakeStaff, MakeUser, ServerPool, User
from tests.support import (
    CASES,
    FLAGGED,
    applied,
    befriend,
    case_of,
    decided_case,
    full_sync,
    group_of,
    lifted,
    public_account,
    report,
    review_pack,
    sent,
    tagged,
)
from townhall.api.models.events import events_json_schema
from townhall.domain import enforcement, messaging, review
from townhall.domain.frames import AuthFrame, PingFrame, ResumeFrame, SendFrame, TypingFrame

pytestmark = pytest.mark.usefixtures("no_server_errors")

EVENTS_SCHEMA = Path(__file__).parents[2] / "docs" / "events.schema.json"
WAIT = 10  # seconds: generous, only reached when something is wrong
STATEMENT = "经核实此说法纯属谣言。请勿转发。"


@cache
def schema() -> dict[str, Any]:
    return json.loads(EVENTS_SCHEMA.read_text(encoding="utf-8"))


def violation(ref: str, instance: Any) -> ValidationError | None:
    """What is wrong with the instance as the schema at `ref` sees it, or None. In a union it
    looks into the member the discriminator picks, which says more than "valid under none"."""
    document = schema()
    checker = Draft202012Validator(
        {"$schema": document["$schema"], "$defs": document["$defs"], "$ref": ref}
    )
    error = best_match(checker.iter_errors(instance))
    if error is None or error.validator != "oneOf" or not isinstance(error.instance, dict):
        return error
    discriminator = error.schema.get("discriminator", {})
    picked = discriminator.get("mapping", {}).get(
        error.instance.get(discriminator.get("propertyName"))
    )
    return (violation(picked, error.instance) if picked else None) or error


def assert_valid(union: str, instance: Any) -> None:
    """The instance is one of the union's (StreamEvent, ServerFrame or ClientFrame)."""
    error = violation(f"#/$defs/{union}", instance)
    assert error is None, f"not a {union}: {error.message}\nin {instance}"


def variants(union: str) -> set[str]:
    """The values of the union's discriminator: every type (or notice kind) it describes."""
    return set(schema()["$defs"][union]["discriminator"]["mapping"])


def member(union: str, value: str) -> str:
    """The name of the model a union's discriminator value picks."""
    return schema()["$defs"][union]["discriminator"]["mapping"][value].rsplit("/", 1)[-1]


# The document -----------------------------------------------------------------------------------


def test_the_event_schema_is_documented_as_it_is() -> None:
    """docs/events.schema.json is generated: edit api/models/events.py, then run this test with
    TOWNHALL_REGENERATE_DOCS=1."""
    generated = json.dumps(events_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("TOWNHALL_REGENERATE_DOCS") == "1":
        EVENTS_SCHEMA.write_text(generated, encoding="utf-8")
    assert EVENTS_SCHEMA.read_text(encoding="utf-8") == generated, (
        "docs/events.schema.json is stale: run "
        "TOWNHALL_REGENERATE_DOCS=1 pytest tests/api/test_event_schema.py -k documented"
    )
    Draft202012Validator.check_schema(json.loads(generated))


@pytest.mark.parametrize("frame", [AuthFrame, SendFrame, ResumeFrame, PingFrame, TypingFrame])
def test_each_client_frame_is_described_as_the_server_decodes_it(frame: Any) -> None:
    decoded = msgspec.json.schema(frame)
    decoded = decoded["$defs"][decoded["$ref"].rsplit("/", 1)[-1]]
    tag = decoded["properties"]["type"]["enum"][0]
    described = schema()["$defs"][member("ClientFrame", tag)]
    assert set(described["properties"]) == set(decoded["properties"])
    assert set(described["required"]) == set(decoded["required"])


@pytest.mark.parametrize(
    ("model", "field", "values"),
    [
        ("Message", "moderation", messaging.MessageModeration),
        ("Conversation", "kind", messaging.ConversationKind),
        ("Member", "role", messaging.MemberRole),
        ("Sanction", "kind", enforcement.Kind),
        ("Sanction", "state", enforcement.SanctionState),
        ("SanctionSubject", "type", enforcement.SubjectType),
        ("Appeal", "state", enforcement.AppealState),
        ("ReportedTarget", "type", review.Target),
    ],
)
def test_each_closed_set_of_values_is_the_domains(model: str, field: str, values: type) -> None:
    """A new moderation state, role or sanction kind cannot be missing from the schema."""
    named = {value for name, value in vars(values).items() if name.isupper()}
    assert set(schema()["$defs"][model]["properties"][field]["enum"]) == named


# Real events ------------------------------------------------------------------------------------


class RecordedSocket:
    """A WebSocket whose every frame, sent or received, is kept to be checked."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.sent: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        self.sent.append(frame)
        await self.connection.send(orjson.dumps(frame).decode())

    async def until(self, frame_type: str) -> dict[str, Any]:
        """Receive (and keep) frames up to the first of `frame_type`."""
        while True:
            frame = orjson.loads(await asyncio.wait_for(self.connection.recv(), WAIT))
            self.received.append(frame)
            if frame["type"] == frame_type:
                return frame

    async def settled(self) -> None:
        """Everything queued for the socket so far has come: a pong is answered in order."""
        await self.send({"type": "ping"})
        await self.until("pong")


@asynccontextmanager
async def recorded_socket(user: User, since: int | None = None) -> AsyncIterator[RecordedSocket]:
    url = "ws" + user.base_url.removeprefix("http") + "/api/v1/ws"
    async with connect(url, compression=None, proxy=None) as connection:
        socket = RecordedSocket(connection)
        auth: dict[str, Any] = {"type": "auth", "token": user.token}
        if since is not None:
            auth["since"] = since
        await socket.send(auth)
        await socket.until("ready")
        yield socket


async def corrections_delivered(staff: User, case_id: int) -> None:
    """Wait until the worker has told everyone the case's item reached."""
    deadline = time.monotonic() + WAIT
    while True:
        case = await staff.request("GET", f"{CASES}/{case_id}")
        if case["corrections"] and all(c["done_at"] for c in case["corrections"]):
            return
        assert time.monotonic() < deadline, case
        await asyncio.sleep(0.05)


async def found_false(staff: User, case_id: int, decision: str) -> None:
    """Decide that the item is a rumour, with a correction for everyone it reached."""
    body = {
        "decision": decision,
        "reason": "a fabricated story",
        "category": "rumour",
        "correction": {"statement": STATEMENT},
    }
    await staff.request("POST", f"{CASES}/{case_id}/decision", json=body)
    await corrections_delivered(staff, case_id)


async def reported(reporter: User, staff: User, target_type: str, target_id: int) -> int:
    """The case a rumour report of the reporter's opens."""
    filed = await report(reporter, target_type, target_id, "rumour")
    assert filed.status_code == 201, filed.text
    return (await case_of(staff, target_type, target_id))["id"]


async def test_every_event_and_frame_a_user_gets_is_one_the_schema_describes(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    # The review pack holds a suspect message in a direct chat: messages held, released and
    # withheld as well as delivered and removed.
    host = servers.shared(
        policy_pack=review_pack(servers.root, BASE_PACK_TEXT),
        limits__identity_reveals_alert_per_hour=1,  # the second reveal alerts the admins
    )
    alice, bob, carol, operator = [
        await make_user(name, on=host) for name in ("alice", "bob", "carol", "operator")
    ]
    reviewer = await make_staff("reviewer", on=host)
    admin = await make_staff("admin", on=host)
    appeals_reviewer = await make_staff("reviewer", on=host, new=True)
    account = await public_account(operator, reviewer)
    await alice.subscribe(account["id"])

    async with recorded_socket(alice) as live:
        chat = (await alice.open_direct(bob.id))["id"]
        group = (await group_of(alice, "茶话会", bob, carol))["id"]
        # A request to join by a link that needs approval: its owner alone is told.
        link = await alice.request(
            "POST", f"/api/v1/conversations/{group}/links", json={"needs_approval": True}
        )
        await operator.request("POST", "/api/v1/join-links/join", json={"token": link["token"]})
        await befriend(carol, alice)  # a friend request, its acceptance, the two contacts
        await live.send(
            {"type": "send", "conversation_id": chat, "text": "你好", "client_id": "hello-1"}
        )
        await live.until("ack")
        # A picture with no words: a message carrying media.
        picture = io.BytesIO()
        Image.new("RGB", (32, 24), "teal").save(picture, "PNG")
        image = await alice.upload(picture.getvalue())
        await live.send(
            {
                "type": "send",
                "conversation_id": chat,
                "text": "",
                "client_id": "picture-1",
                "media_ids": [image["id"]],
            }
        )
        assert (await live.until("ack"))["message"]["media"] == [image]
        await live.connection.send('{"type": "send", "conversation_id": "not an id"}')
        await live.until("error")
        # A reply mentioning everyone, its original recalled; a read receipt; typing, live only.
        original = await sent(bob, group, "大家好")
        await alice.request(
            "POST",
            f"/api/v1/conversations/{group}/messages",
            json={
                "text": "欢迎",
                "client_id": "reply-1",
                "reply_to": original["id"],
                "mentions": [bob.id],
                "mention_everyone": True,
            },
        )
        await bob.request("POST", f"/api/v1/conversations/{group}/messages/{original['id']}/recall")
        await live.until("recall")
        await bob.request("POST", f"/api/v1/conversations/{chat}/read", json={"seq": 1})
        await live.until("read")
        async with recorded_socket(bob) as typist:
            await typist.send({"type": "typing", "conversation_id": group})
            await live.until("typing")
        await live.send({"type": "typing", "conversation_id": group})

        # Held (only alice has it), then released to bob; held again, then withheld.
        for decision in ("approve", "remove"):
            held = await sent(alice, chat, tagged(FLAGGED))
            case = await case_of(reviewer, "message", held["id"])
            await decided_case(reviewer, case["id"], decision)
        # Delivered to the group and removed: a tombstone, a notice and a sanction, appealed
        # in vain, then lifted.
        flagged = await sent(alice, group, tagged(FLAGGED))
        removal = (await case_of(reviewer, "message", flagged["id"]))["id"]
        await decided_case(reviewer, removal, "remove", "gambling ad")
        warning = await applied(admin, "user", alice.id, "warning", case_id=removal)
        appeal = await alice.request(
            "POST",
            "/api/v1/appeals",
            json={"sanction_id": warning["id"], "statement": "a joke among friends"},
        )
        await appeals_reviewer.request(
            "POST",
            f"/api/v1/admin/appeals/{appeal['id']}/decision",
            json={"verdict": "uphold", "reason": "a second look"},
        )
        await lifted(admin, warning["id"])

        # A post pushed live, read, reported, removed as a rumour: its readers are corrected.
        post = await operator.publish(account["id"], tagged("自来水含毒"), "转给家人。")
        await live.until("post")
        await alice.read_post(post["id"])
        await found_false(reviewer, await reported(carol, reviewer, "post", post["id"]), "remove")
        assert (await live.until("post"))["post"]["moderation"] == "removed"  # its tombstone
        await live.until("correction")
        # A message in the group marked false: it stays, and the others are corrected.
        rumour = await sent(bob, group, tagged("听说自来水有毒"))
        await found_false(
            reviewer, await reported(carol, reviewer, "message", rumour["id"]), "mark_false"
        )
        # A reviewer who reveals more identities than the hour's alert allows.
        for subject in (bob, carol):
            await reviewer.request(
                "POST",
                f"/api/v1/admin/identities/{subject.id}/reveal",
                json={"reason": "checking a fraud ring", "reference": "request:TEST-118"},
            )
        await live.settled()
        synced = {
            user.handle: (await full_sync(user))[0] for user in (alice, bob, carol, operator, admin)
        }

        await alice.log_out()  # every socket of the session is told, and closed
        await live.until("signed_out")
        with pytest.raises(ConnectionClosed):
            await live.until("anything more")
        assert live.connection.close_code == 4401

    async with recorded_socket(bob, since=0) as replay:  # bob's stream, replayed twice over
        await replay.send({"type": "resume", "since": 0})
        await replay.settled()

    stream_events = [event for events in synced.values() for event in events]
    for event in stream_events:
        assert_valid("StreamEvent", event)
    frames = live.received + replay.received
    for frame in frames:
        assert_valid("ServerFrame", frame)
    for frame in live.sent + replay.sent:
        assert_valid("ClientFrame", frame)

    assert {event["type"] for event in stream_events} == variants("StreamEvent")
    changed = {e["change"]["action"] for e in synced[alice.handle] if "change" in e}
    assert "join_requested" in changed
    assert {frame["type"] for frame in frames} == variants("ServerFrame")
    assert {frame["type"] for frame in live.sent + replay.sent} == variants("ClientFrame")
    notices = [event["notice"] for event in stream_events if event["type"] == "notice"]
    assert {notice["kind"] for notice in notices} == variants("Notice")
    messages = [e["message"] for e in [*stream_events, *frames] if e["type"] == "message"]
    assert {m.get("moderation") for m in messages} == {None, "held", "removed", "withheld"}
