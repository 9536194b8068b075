"""Helpers the API, WebSocket and crash tests share: error shape, full history, full sync,
public accounts, review and reports, the audit log."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import httpx
import pytest
from stdnum.cn import ric, uscc
from websockets.exceptions import ConnectionClosed

from townhall.client import LiveSocket, TownhallClient
from townhall.domain.audit import GENESIS, Entry, chain_hash
from townhall.packs import load_pack

if TYPE_CHECKING:
    from tests.conftest import MakeUser, User

SMS_CODE = re.compile(r"Townhall code: (\d+) ")
PUBLIC_ACCOUNT_RULES = load_pack("cn-2014").public_accounts
_SERIALS = itertools.count(1)


SEND_WINDOW = 32  # sends a client has in flight: like an app, it waits for acks


async def send_until_killed(
    kill: Callable[[], None],
    live: LiveSocket,
    conversation_id: int,
    messages: Iterable[tuple[str, str]],
    acked: dict[str, dict[str, Any]],
    *,
    kill_at: int,
) -> None:
    """Send `messages` ((text, client_id) pairs) over `live` with at most SEND_WINDOW waiting
    for their ack, recording each acknowledged message in `acked` (which several sockets may
    share), until the socket closes: `kill()` the server once `acked` holds `kill_at`."""
    window = asyncio.Semaphore(SEND_WINDOW)

    async def send() -> None:
        with contextlib.suppress(ConnectionClosed):
            for text, client_id in messages:
                await window.acquire()
                await live.send_message(conversation_id, text, client_id)

    sending = asyncio.create_task(send())
    with contextlib.suppress(ConnectionClosed):
        while True:
            frame = await live.receive()
            assert frame["type"] != "error", frame
            if frame["type"] == "ack":
                window.release()
                acked[frame["client_id"]] = frame["message"]
                if len(acked) == kill_at:
                    kill()
    sending.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sending


def bench_results(
    tmp_path: Path, name: str, options: list[str], *, timeout: float
) -> dict[str, Any]:
    """`townhall bench NAME OPTIONS` run to its end: the results it wrote as JSON. A failed
    run fails the test with the end of what the bench wrote to stderr."""
    results_file = tmp_path / f"{name}.json"
    townhall = Path(sys.executable).parent / "townhall"
    done = subprocess.run(
        [str(townhall), "bench", name, "--json", str(results_file), *options],
        timeout=timeout,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.fail(f"townhall bench {name} exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(results_file.read_text())


def strangers_may_chat(pack_text: str) -> str:
    """A pack's text with direct messages open to strangers (no friendship first)."""
    rule = "direct_needs_friendship = true"
    assert pack_text.count(rule) == 1, "the pack asks for friendship in no single line"
    return pack_text.replace(rule, "direct_needs_friendship = false")


def drill_scale(short: int, long: int) -> int:
    """How many times a drill repeats: the long count under `make drill` (TOWNHALL_DRILL=1),
    the short one in `make test`."""
    return long if os.environ.get("TOWNHALL_DRILL") == "1" else short


def unavailable_here(reason: str) -> NoReturn:
    """What the test needs is not on this machine: skipped with the reason on a developer's
    machine, failed under CI (CI=true), where every test must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI every test must run")
    pytest.skip(reason)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    """The API's one error shape: {"error": {"code", "message"}}, with the expected status; a
    429 may say when to come back, in the body and the Retry-After header alike."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    extra = set(body["error"]) - {"code", "message"}
    if status == 429 and extra:
        assert extra == {"retry_after"}, body
        assert response.headers["Retry-After"] == str(body["error"]["retry_after"])
        assert body["error"]["retry_after"] >= 1
    else:
        assert not extra, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body


async def full_history(user: TownhallClient, conversation_id: int) -> list[dict[str, Any]]:
    """Every message of a conversation, oldest first, read page by page."""
    newest_first: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await user.history(conversation_id, cursor=cursor, limit=200)
        newest_first.extend(page["messages"])
        cursor = page["next_cursor"]
        if cursor is None:
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


def cn_ric(birth: date, sequence: int, region: str = "110105") -> str:
    """A Resident Identity Card number with a correct check digit."""
    first17 = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "X")


def with_wrong_check_digit(number: str) -> str:
    digits = "0123456789X"
    return number[:-1] + digits[(digits.index(number[-1].upper()) + 1) % len(digits)]


def masked_id_number(number: str) -> str:
    return number[:6] + "*" * 8 + number[-4:]


def masked_phone(e164: str) -> str:
    """`+8613800138000` as the API shows it: `+86 138****8000`."""
    return f"+86 {e164[3:6]}****{e164[-4:]}"


def identity_secrets(identity: dict[str, str]) -> dict[str, bytes]:
    """Every form in which a full id number, phone or legal name could be written out."""
    number, phone, name = identity["id_number"], identity["phone"], identity["legal_name"]
    national = phone.removeprefix("+86")
    forms = {
        "id number": number,
        "id number, lower case": number.lower(),
        "phone": phone,
        "phone digits": phone.lstrip("+"),
        "national phone": national,
        "legal name": name,
    }
    secrets = {label: text.encode() for label, text in forms.items()}
    for label, text in forms.items():
        secrets[f"{label}, UTF-16"] = text.encode("utf-16-le")
    escaped = json.dumps(name).strip('"')  # \u6b27\u9633...
    secrets["legal name, JSON-escaped"] = escaped.encode()
    secrets["legal name, JSON-escaped upper case"] = re.sub(
        r"\\u([0-9a-f]{4})", lambda m: "\\u" + m[1].upper(), escaped
    ).encode()
    return secrets


def leaks(data: bytes, secrets: dict[str, bytes]) -> list[str]:
    return [label for label, secret in secrets.items() if secret in data]


def sms_outbox(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / "sms-outbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def sms_codes(data_dir: Path, account_id: int) -> list[str]:
    """The phone-check codes sent to an account, oldest first, as the outbox holds them."""
    codes = []
    for line in sms_outbox(data_dir):
        if line["account_id"] == account_id:
            found = SMS_CODE.search(line["text"])
            assert found, line
            codes.append(found[1])
    return codes


# The newest lines of the outbox: a code just sent is among them.
OUTBOX_TAIL_BYTES = 64 * 1024


def latest_sms_code(data_dir: Path, account_id: int) -> str:
    """The newest phone-check code sent to an account, read from the end of the outbox."""
    path = data_dir / "sms-outbox.jsonl"
    marker = f'"account_id":{account_id},'.encode()
    with path.open("rb") as outbox:
        size = outbox.seek(0, 2)
        outbox.seek(max(0, size - OUTBOX_TAIL_BYTES))
        tail = outbox.read()
    lines = [line for line in tail.splitlines() if marker in line]
    if not lines:  # an older code, further up
        return sms_codes(data_dir, account_id)[-1]
    found = SMS_CODE.search(json.loads(lines[-1])["text"])
    assert found, lines[-1]
    return found[1]


async def confirm_phone_of(user: User, data_dir: Path) -> None:
    """Confirm the user's phone as a person would: ask for a code, read it, send it back."""
    asked = await user.raw("POST", "/api/v1/me/phone/code")
    assert asked.status_code == 202, asked.text
    code = latest_sms_code(data_dir, user.id)
    confirmed = await user.raw("POST", "/api/v1/me/phone/verify", json={"code": code})
    assert confirmed.status_code == 200, confirmed.text


# The PostgreSQL database of each test server's data dir (tests/databases.py); a data dir not
# here has its SQLite file.
DATABASE_URLS: dict[Path, str] = {}


def query_db(data_dir: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Read the server's database directly, as an operator would: its SQLite file read-only, or
    its PostgreSQL database (`sql` written with `?` placeholders either way)."""
    if data_dir in DATABASE_URLS:
        from tests.databases import query_postgres

        return query_postgres(DATABASE_URLS[data_dir], sql, params)
    uri = f"file:{data_dir / 'townhall.db'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=10)) as conn:
        return conn.execute(sql, params).fetchall()


def write_db(data_dir: Path, sql: str, *params: object) -> None:
    """Rewrite the server's database behind its back, as someone with access to it could: one
    statement, committed (written with `?` placeholders on either database)."""
    if data_dir in DATABASE_URLS:
        from tests.databases import query_postgres

        query_postgres(DATABASE_URLS[data_dir], sql, params)
        return
    with closing(sqlite3.connect(data_dir / "townhall.db", timeout=10)) as conn, conn:
        conn.execute(sql, params)


def valid_uscc() -> str:
    """A unified social credit code with a correct check digit, a new one on every call."""
    first17 = f"91110000{next(_SERIALS):09d}"
    return first17 + uscc.calc_check_digit(first17)


def account_name(label: str = "读书会") -> str:
    """A public-account name no other test of this session has used: names are unique per
    server, and tests share servers."""
    return f"{label}{next(_SERIALS)}"


async def public_account(
    operator: TownhallClient,
    reviewer: TownhallClient | None = None,
    *,
    category: str = "individual",
    account_type: str = "subscription",
    entitlement: str = "none",
    **fields: str,
) -> dict[str, Any]:
    """An application of `operator`'s with complete papers, approved by `reviewer` if given."""
    if PUBLIC_ACCOUNT_RULES.categories[category].entity == "organisation":
        fields.setdefault("entity_name", "山海文化传播有限公司")
        fields.setdefault("registration_number_type", "cn_uscc")
        fields.setdefault("registration_number", valid_uscc())
    if entitlement != "none":
        fields.setdefault("news_licence", f"10120{next(_SERIALS):05d}")
    name = fields.pop("name", None) or account_name()
    applied = await operator.apply_public_account(name, category, account_type, **fields)
    if reviewer is None:
        return applied
    return await reviewer.request(
        "POST",
        f"/api/v1/admin/public-accounts/{applied['id']}/decision",
        json={"decision": "approve", "news_entitlement": entitlement},
    )


# Groups -------------------------------------------------------------------------------------------


async def post_matching_a_new_term(
    operator: TownhallClient, reviewer: TownhallClient, admin: TownhallClient
) -> dict[str, Any]:
    """A post of a new public account of the operator's that a lexicon term added after it
    matches (fraud, medium): what a rescan finds. The term is the operator's own, so other
    tests' posts stay clean."""
    account = await public_account(
        operator, reviewer, category="enterprise", account_type="service"
    )
    term = "新式刷卡套现" + operator.handle[-6:]
    post: dict[str, Any] = await operator.publish(
        account["id"], title="理财小贴士", body=f"教你{term}的办法"
    )
    await admin.request(
        "POST",
        "/api/v1/admin/lexicon/terms",
        json={"text": term, "category": "fraud", "severity": "medium"},
    )
    return post


async def group_of(owner: TownhallClient, title: str, *members: User) -> dict[str, Any]:
    """A group of `owner` that each of `members` joined by accepting its invitation."""
    created = await owner.create_group(title, [member.id for member in members])
    for member in members:
        await member.accept_invitation(created["id"])
    return await owner.request("GET", f"/api/v1/conversations/{created['id']}")


async def befriend(first: User, second: User) -> None:
    """Make the two friends: `first` asks, `second` accepts."""
    await first.request_friend(second.id, "你好")
    await second.answer_friend(first.id)


# Messages -----------------------------------------------------------------------------------------

FLAGGED = "今晚百家乐走起"  # a medium gambling match: flagged in chats, a 2-point strike


def tagged(text: str) -> str:
    """A text no other test sends: a removal bans its text on the whole server."""
    return f"{text}{uuid.uuid4().hex[:8]}"


async def send(user: User, conversation_id: int, text: str = "你好") -> httpx.Response:
    """POST a message; the answer as it is."""
    return await user.raw(
        "POST",
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": text, "client_id": uuid.uuid4().hex},
    )


async def sent(user: User, conversation_id: int, text: str = "你好") -> dict[str, Any]:
    answer = await send(user, conversation_id, text)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def subscribed_account(
    make_user: MakeUser, reviewer: User, *subscribers: User
) -> tuple[User, dict[str, Any]]:
    """A new operator and its approved service account, which `subscribers` follow."""
    operator = await make_user("operator")
    account = await public_account(operator, reviewer, account_type="service")
    for subscriber in subscribers:
        await subscriber.subscribe(account["id"])
    return operator, account


# Review and reports -------------------------------------------------------------------------------

CASES = "/api/v1/admin/review/cases"


async def pages(client: TownhallClient, path: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
    """Each page of a paged list in turn, following `next_cursor` until it is null."""
    cursor = None
    while True:
        page = await client.request(
            "GET", path, params=params if cursor is None else {**params, "cursor": cursor}
        )
        yield page
        cursor = page["next_cursor"]
        if cursor is None:
            return


async def every_item(
    client: TownhallClient, path: str, items: str, **params: Any
) -> list[dict[str, Any]]:
    """Every item of a paged list: `items` names the list in each page."""
    return [item async for page in pages(client, path, **params) for item in page[items]]


async def review_case(
    staff: TownhallClient, target_type: str, target_id: int, state: str = "pending"
) -> dict[str, Any] | None:
    """The case of a target among the review queue's cases in `state`, or None."""
    async for page in pages(staff, CASES, state=state, limit=500):
        for case in page["cases"]:
            if case["target"] == {"type": target_type, "id": target_id}:
                return case
    return None


async def case_of(staff: TownhallClient, target_type: str, target_id: int) -> dict[str, Any]:
    """The pending case of a target, which must be there."""
    case = await review_case(staff, target_type, target_id)
    assert case is not None, f"no pending case for {target_type} {target_id}"
    return case


async def decide_case(
    staff: User, case_id: int, decision: str, reason: str = "reviewed"
) -> httpx.Response:
    """POST a case's decision; the answer as it is."""
    return await staff.raw(
        "POST", f"{CASES}/{case_id}/decision", json={"decision": decision, "reason": reason}
    )


async def decided_case(staff: User, case_id: int, decision: str, reason: str = "reviewed") -> Any:
    answer = await decide_case(staff, case_id, decision, reason)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def report(
    user: User, target_type: str, target_id: int, reason: str = "other", **extra: Any
) -> httpx.Response:
    """POST a report; the answer as it is."""
    body = {"target_type": target_type, "target_id": target_id, "reason": reason, **extra}
    return await user.raw("POST", "/api/v1/reports", json=body)


def notices_of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["notice"] for e in events if e["type"] == "notice" and e["notice"]["kind"] == kind]


REVIEW_PACK_REPORT_HOURS = 0.0005  # 1.8 s


def review_pack(root: Path, base_text: str) -> str:
    """A pack for review tests, one server for them all: a medium match in a direct chat is
    held, a report case falls overdue in 1.8 s, and two unfounded reports bring on a limit of
    one report a day."""
    changes = {
        '[moderation.surfaces.direct]\nlow = "allow"\nmedium = "flag"\n': (
            '[moderation.surfaces.direct]\nlow = "allow"\nmedium = "hold"\n'
        ),
        "\nreport = 24\n": f"\nreport = {REVIEW_PACK_REPORT_HOURS}\n",
        "\nunfounded = 5\n": "\nunfounded = 2\n",
        "\nper_day = 3\n": "\nper_day = 1\n",
    }
    text = base_text
    for old, new in changes.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = root / "packs" / "review.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


# Sanctions ----------------------------------------------------------------------------------------

SANCTIONS = "/api/v1/admin/sanctions"


async def sanction(
    staff: User,
    subject_type: str,
    subject_id: int,
    kind: str,
    reason: str | None = "spreads rumours",
    **fields: Any,
) -> httpx.Response:
    body = {"subject_type": subject_type, "subject_id": subject_id, "kind": kind, **fields}
    if reason is not None:
        body["reason"] = reason
    return await staff.raw("POST", SANCTIONS, json=body)


async def applied(
    staff: User, subject_type: str, subject_id: int, kind: str, **fields: Any
) -> dict[str, Any]:
    answer = await sanction(staff, subject_type, subject_id, kind, **fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def lift(staff: User, sanction_id: int, reason: str = "the appeal was upheld") -> Any:
    return await staff.raw("POST", f"{SANCTIONS}/{sanction_id}/lift", json={"reason": reason})


async def lifted(staff: User, sanction_id: int) -> dict[str, Any]:
    answer = await lift(staff, sanction_id)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "lifted"
    return answer.json()


async def standing(staff: User, subject_type: str, subject_id: int, **params: Any) -> Any:
    return await staff.request(
        "GET",
        f"{SANCTIONS}/standing",
        params={"subject_type": subject_type, "subject_id": subject_id, **params},
    )


# The audit log ------------------------------------------------------------------------------------


async def add_terms(admin: TownhallClient, first: int, count: int) -> None:
    """`count` lexicon terms, each an audit row: 代开发票{first}, and on."""
    for number in range(first, first + count):
        await admin.request(
            "POST",
            "/api/v1/admin/lexicon/terms",
            json={"text": f"代开发票{number}", "category": "fraud", "severity": "high"},
        )


# The route table ----------------------------------------------------------------------------------

WRITE_METHODS = ("post", "put", "patch", "delete")


def openapi_routes(spec: dict[str, Any], methods: tuple[str, ...]) -> list[tuple[str, str]]:
    """(METHOD, path template) of every route of the OpenAPI document with one of `methods`."""
    return [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in methods
    ]


def request_bodies(
    spec: dict[str, Any], method: str, path: str, values: dict[str, Any]
) -> list[Any]:
    """A valid body for each shape the route takes (one per variant of a union), built from its
    schema: `values` gives a field by name, the rest take the simplest value their type allows.
    A route without a body gives [None]."""
    operation = spec["paths"][path][method.lower()]
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return [None]
    schema = content["schema"]
    variants = schema.get("oneOf") or schema.get("anyOf") or [schema]
    return [_example(spec, variant, values) for variant in variants]


def query_parameters(
    spec: dict[str, Any], method: str, path: str, values: dict[str, Any]
) -> dict[str, Any]:
    """The route's required query parameters, valued as `request_bodies` values fields."""
    operation = spec["paths"][path][method.lower()]
    return {
        p["name"]: values[p["name"]] if p["name"] in values else _example(spec, p["schema"], values)
        for p in operation.get("parameters", ())
        if p["in"] == "query" and p.get("required")
    }


def _example(spec: dict[str, Any], schema: dict[str, Any], values: dict[str, Any]) -> Any:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _example(spec, spec["components"]["schemas"][name], values)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for union in ("anyOf", "oneOf"):
        if union in schema:
            choice = next(s for s in schema[union] if s.get("type") != "null")
            return _example(spec, choice, values)
    kind = schema.get("type")
    if kind == "object":
        return {
            name: values[name] if name in values else _example(spec, field, values)
            for name, field in schema.get("properties", {}).items()
            if name in schema.get("required", ()) or name in values
        }
    if kind == "array":
        return [_example(spec, schema["items"], values)] * schema.get("minItems", 0)
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return "2026-01-01T00:00:00Z"
    return "an example text"


def tamper(data_dir: Path, *statements: str) -> None:
    """Rewrite the server's database behind its back, statement by statement."""
    for statement in statements:
        write_db(data_dir, statement)


def rewrite_audit_row(data_dir: Path, seq: int, reason: str) -> None:
    """What someone with write access to the database but not the signing key can do: change
    an audit row and recompute every chain hash after it."""
    write_db(data_dir, "UPDATE audit_log SET reason = ? WHERE seq = ?", reason, seq)
    rows = query_db(
        data_dir,
        "SELECT seq, at, actor_id, actor_role, action, subject_type, subject_id, reason, details"
        " FROM audit_log ORDER BY seq",
    )
    previous = GENESIS
    for row in rows:
        entry = Entry(*row[:8], details=json.loads(row[8]))
        previous = chain_hash(previous, entry)
        write_db(
            data_dir, "UPDATE audit_log SET chain_hash = ? WHERE seq = ?", previous.hex(), entry.seq
        )


# What a closed account may still do: leave, log out, secure itself (change its password, end
# its sessions: tests/api/test_account_security.py) and appeal (logging in and registering take
# no token).
OPEN_TO_CLOSED = {
    ("POST", "/api/v1/accounts"),
    ("POST", "/api/v1/sessions"),
    ("DELETE", "/api/v1/sessions/current"),
    ("POST", "/api/v1/me/password"),
    ("DELETE", "/api/v1/me/sessions/{session_id}"),
    ("DELETE", "/api/v1/me"),
    ("POST", "/api/v1/appeals"),
}
STAFF_PREFIXES = ("/api/v1/admin/", "/api/v1/audit/")


@dataclass
class World:
    """What a user owns for a walk over every write route: ids for the paths' parameters and
    values for the bodies' fields, by name."""

    spec: dict[str, Any]
    ids: dict[str, Any]
    fields: dict[str, Any]


async def world_of(user: User, other: User, reviewer: User) -> World:
    """`user` owning a group with `other` in it (`conversation_id`), an approved public account
    and a post."""
    group = (await group_of(user, "茶话会", other))["id"]
    account = await public_account(user, reviewer)
    post = await user.request(
        "POST",
        f"/api/v1/public-accounts/{account['id']}/posts",
        json={"title": "春茶上市", "body": "春茶上市。正文。", "content_class": "culture"},
    )
    ids = {
        "conversation_id": group,
        "public_account_id": account["id"],
        "post_id": post["id"],
        "user_id": other.id,
    }
    fields = {
        "member_ids": [other.id],
        "title": "茶话会",
        "text": "你好",
        "client_id": uuid.uuid4().hex,
        "name": account_name(),
        "category": "individual",
        "account_type": "subscription",
        "content_class": "culture",
        "target_type": "user",
        "target_id": other.id,
        "display_name": "Alice",
        "token": "a1b2c3",  # a join link's, well formed
    }
    return World(await user.request("GET", "/openapi.json"), ids, fields)


async def walk_write_routes(
    user: User, world: World, *, leaving_out: Collection[tuple[str, str]]
) -> AsyncIterator[tuple[str, str, httpx.Response]]:
    """(METHOD, path template, answer) of every write route of the API but those left out, each
    called by `user` with a body of each shape it takes."""
    spec, fields = world.spec, {**world.ids, **world.fields}
    for method, path in openapi_routes(spec, WRITE_METHODS):
        if (method, path) in leaving_out:
            continue
        named = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        url = path.format(**{name: world.ids.get(name, 1) for name in named})
        params = query_parameters(spec, method, path, fields)
        for body in request_bodies(spec, method, path, fields):
            yield method, path, await user.raw(method, url, json=body, params=params)


def without_townhall_settings() -> dict[str, str]:
    """This process's environment less every Townhall setting (TOWNHALL_*)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("TOWNHALL_")}
