"""Every name and short text a user gives, walked field by field: none hides characters (bidi
overrides and isolates, line separators, control characters), a name that shows nothing is as
empty as one of spaces, every script and emoji is welcome, and the naming rules apply alike to
every public name and the profile texts beside it. One table names the fields; each test runs
over all of them, so a field added to the table is held to every rule at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import (
    AGREEMENT_VERSION,
    PASSWORD,
    MakeUser,
    Server,
    User,
    fresh_identity,
    unique_handle,
)
from tests.support import account_name, assert_error, befriend, public_account, report, send

pytestmark = pytest.mark.usefixtures("no_server_errors")

Put = Callable[[str], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Cast:
    server: Server
    make_user: MakeUser
    reviewer: User


@dataclass(frozen=True)
class Field:
    """A name or text field: where it is set, what it reads back as, how it is refused."""

    opens: Callable[[Cast], Awaitable[Put]]  # ready to PUT values into the field
    stored: Callable[[dict[str, Any]], Any]  # the value as the success answer shows it
    invalid: str  # the field's code for characters it may not hold
    empty: str | None  # the code for a value that shows nothing; None: stored as no value
    layout: str  # "line" (a name, a title), "prose" (lines welcome), "message"
    naming_rules: bool | None = None  # reserved terms refused; False: on purpose not; None: n/a


async def registration(cast: Cast) -> Put:
    async def put(value: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=cast.server.base_url) as anonymous:
            return await anonymous.post(
                "/api/v1/accounts",
                json={
                    "handle": unique_handle("named"),
                    "password": PASSWORD,
                    "display_name": value,
                    "identity": fresh_identity(),
                    "agreement_version": AGREEMENT_VERSION,
                },
            )

    return put


def profile(key: str) -> Callable[[Cast], Awaitable[Put]]:
    async def opens(cast: Cast) -> Put:
        alice = await cast.make_user("alice")
        return lambda value: alice.raw("PATCH", "/api/v1/me", json={key: value})

    return opens


def new_group(key: str) -> Callable[[Cast], Awaitable[Put]]:
    async def opens(cast: Cast) -> Put:
        alice = await cast.make_user("alice")
        group = {"kind": "group", "title": "读书会", "description": "", "member_ids": []}
        return lambda value: alice.raw("POST", "/api/v1/conversations", json={**group, key: value})

    return opens


def group_change(key: str) -> Callable[[Cast], Awaitable[Put]]:
    async def opens(cast: Cast) -> Put:
        alice = await cast.make_user("alice")
        group = await alice.create_group("读书会", [])
        path = f"/api/v1/conversations/{group['id']}"
        return lambda value: alice.raw("PATCH", path, json={key: value})

    return opens


def application(key: str) -> Callable[[Cast], Awaitable[Put]]:
    async def opens(cast: Cast) -> Put:
        alice = await cast.make_user("alice")

        async def put(value: str) -> httpx.Response:
            body = {
                "name": account_name(),
                "category": "individual",
                "account_type": "subscription",
                "description": "每天推荐一本好书",
                key: value,
            }
            return await alice.raw("POST", "/api/v1/public-accounts", json=body)

        return put

    return opens


async def post_title(cast: Cast) -> Put:
    operator = await cast.make_user("operator")
    account = await public_account(operator, cast.reviewer, account_type="service")
    path = f"/api/v1/public-accounts/{account['id']}/posts"
    body = {"body": "今天读了一本好书。", "content_class": "culture"}
    return lambda value: operator.raw("POST", path, json={**body, "title": value})


async def remark(cast: Cast) -> Put:
    alice, bob = await cast.make_user("alice"), await cast.make_user("bob")
    await befriend(alice, bob)
    path = f"/api/v1/contacts/{bob.id}/remark"
    return lambda value: alice.raw("PUT", path, json={"remark": value})


async def greeting(cast: Cast) -> Put:
    alice, bob = await cast.make_user("alice"), await cast.make_user("bob")
    body = {"user_id": bob.id}
    return lambda value: alice.raw(
        "POST", "/api/v1/friend-requests", json={**body, "greeting": value}
    )


async def message(cast: Cast) -> Put:
    alice, bob = await cast.make_user("alice"), await cast.make_user("bob")
    chat = (await alice.open_direct(bob.id))["id"]
    return lambda value: send(alice, chat, value)


async def report_detail(cast: Cast) -> Put:
    alice, bob = await cast.make_user("alice"), await cast.make_user("bob")
    return lambda value: report(alice, "user", bob.id, "fraud", detail=value)


def key(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda answer: answer[name]


FIELDS = {
    "display_name-at-registration": Field(
        registration, key("display_name"), "display_name_invalid", "display_name_invalid", "line",
        naming_rules=True,
    ),
    "display_name": Field(
        profile("display_name"), key("display_name"), "display_name_invalid",
        "display_name_invalid", "line", naming_rules=True,
    ),
    # Prose: the reserved terms are everyday words there ("I read the news"); links and contact
    # details are refused.
    "bio": Field(profile("bio"), key("bio"), "bio_invalid", None, "prose", naming_rules=False),
    "group-title": Field(
        new_group("title"), key("title"), "title_invalid", "title_invalid", "line",
        naming_rules=True,
    ),
    "group-description": Field(
        new_group("description"), key("description"), "description_invalid", None, "prose",
        naming_rules=False,
    ),
    "group-title-change": Field(
        group_change("title"), key("title"), "title_invalid", "title_invalid", "line",
        naming_rules=True,
    ),
    "group-announcement": Field(
        group_change("announcement"), lambda group: group["group"]["announcement"],
        "announcement_invalid", None, "prose",
    ),
    "public-account-name": Field(
        application("name"), key("name"), "name_invalid", "name_invalid", "line",
        naming_rules=True,
    ),
    "public-account-description": Field(
        application("description"), key("description"), "description_invalid", None, "prose",
        naming_rules=False,
    ),
    "post-title": Field(post_title, key("title"), "title_invalid", "title_invalid", "line"),
    # Read by its writer alone: nobody to mislead with a reserved term.
    "remark": Field(remark, key("remark"), "name_invalid", None, "line", naming_rules=False),
    "greeting": Field(greeting, key("greeting"), "greeting_invalid", None, "line"),
    "message": Field(message, key("text"), "text_invalid", "text_empty", "message"),
    "report-detail": Field(report_detail, key("detail"), "detail_invalid", None, "prose"),
}  # fmt: skip

# Refused in every field: they reorder or hide what is shown, or cannot be shown at all.
HIDDEN = {
    "right-to-left override": "\u202eevil",
    "left-to-right override": "a\u202dbc",
    "NUL": "a\u0000b",
    "escape": "a\u001b[31mb",
    "delete": "a\u007fb",
}
# What places a run of right-to-left text: a name or prose has no need of it, a message pasted
# from a right-to-left document has it.
PLACING = {
    "embedding": "\u202bab\u202c",
    "isolates": "\u2066x\u2069",
    "first-strong isolate": "a\u2068b",
}
# A line break a name cannot show; prose has "\n" for it. A message keeps what its platform sent.
SEPARATORS = {"line separator": "Alice\u2028x", "paragraph separator": "a\u2029b"}
NEWLINES = {"newline": "a\nb", "tab": "a\tb"}
# Nothing to see: a name of these is empty, as one of spaces is.
INVISIBLE = {
    "space": " ",
    "ideographic space": "\u3000",
    "zero-width space": "\u200b",
    "two zero-width spaces": "\u200b\u200b",
    "byte-order mark": "\ufeff",
    "word joiner": "\u2060",
    "tag character": "\U000e0041",
    "combining marks": "\u0301\u0301",
    "variation selector": "\ufe0f",
    "Hangul filler": "\u3164",
    "Braille blank": "\u2800",
    "left-to-right mark": "\u200e",
}
# Chinese, a family emoji (zero-width joiners inside), Arabic and Hebrew (with the marks that
# order mixed text, which are not overrides): every field takes them as they are.
SHALOM = "\u05e9\u05dc\u05d5\u05dd"  # Hebrew, spelt out: its vav looks like a latin l
EVERY_SCRIPT = f"小张 Zoë 👨\u200d👩\u200d👧 محمد \u200f{SHALOM}\u200f"


def refused_in(field: Field) -> dict[str, str]:
    refused = dict(HIDDEN)
    if field.layout != "message":
        refused |= SEPARATORS | PLACING
    if field.layout == "line":
        refused |= NEWLINES
    return refused


@pytest.fixture(params=list(FIELDS), ids=list(FIELDS))
def field(request: pytest.FixtureRequest) -> Field:
    return FIELDS[request.param]


NAMED = [name for name, field in FIELDS.items() if field.naming_rules is not None]


@pytest.fixture(params=NAMED, ids=NAMED)
def named_field(request: pytest.FixtureRequest) -> Field:
    """A name, or a text beside one, that the naming rules speak of."""
    return FIELDS[request.param]


@pytest.fixture
def cast(server: Server, make_user: MakeUser, reviewer: User) -> Cast:
    return Cast(server, make_user, reviewer)


async def test_no_name_or_text_hides_characters(field: Field, cast: Cast) -> None:
    put = await field.opens(cast)
    for what, value in refused_in(field).items():
        answer = await put(value)
        assert answer.status_code == 400, (what, answer.text)
        assert_error(answer, 400, field.invalid)


async def test_a_value_that_shows_nothing_is_empty(field: Field, cast: Cast) -> None:
    put = await field.opens(cast)
    if field.empty is not None:
        for what, value in INVISIBLE.items():
            answer = await put(value)
            assert answer.status_code == 400, (what, answer.text)
            assert_error(answer, 400, field.empty)
        return
    # An optional text is stored as nothing, as "" would be (once: some fields take one value).
    answer = await put("".join(INVISIBLE.values()))
    assert answer.status_code in (200, 201), answer.text
    assert field.stored(answer.json()) in ("", None)


async def test_every_field_takes_every_script_and_emoji(field: Field, cast: Cast) -> None:
    value = account_name(EVERY_SCRIPT)  # unique: public-account names must be
    answer = await (await field.opens(cast))(value)
    assert answer.status_code in (200, 201), answer.text
    assert field.stored(answer.json()) == value


@pytest.mark.parametrize("what", list(PLACING))
async def test_a_message_keeps_the_runs_of_pasted_right_to_left_text(what: str, cast: Cast) -> None:
    value = f"{SHALOM} {PLACING[what]}"
    answer = await (await FIELDS["message"].opens(cast))(value)
    assert answer.status_code == 201, answer.text
    assert answer.json()["text"] == value


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("新华社", "name_restricted"),
        ("新\u3164华社", "name_restricted"),  # a Hangul filler between: shown as nothing
        ("人民日报读者", "name_restricted"),
        ("www.example.com", "name_url"),
        ("加微信 wx123456", "name_contact_details"),
    ],
)
async def test_the_naming_rules_hold_for_every_public_name_and_profile_text(
    named_field: Field, cast: Cast, value: str, code: str
) -> None:
    answer = await (await named_field.opens(cast))(value)
    if named_field.naming_rules or code != "name_restricted":
        assert_error(answer, 422, code)
    else:  # links and contact details refused, reserved terms not: see the field's note
        assert answer.status_code in (200, 201), answer.text
        assert named_field.stored(answer.json()) == value
