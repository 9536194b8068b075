"""Real-name registration: the pack's rules and agreement, document checks, one account per
identity however the number is typed, and refusals that name the field but never echo it."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from tests.conftest import (
    AGREEMENT_VERSION,
    IDENTITY_SERIALS,
    PASSWORD,
    MakeUser,
    Server,
    ServerPool,
    User,
    fresh_identity,
    unique_handle,
)
from tests.support import assert_error, cn_ric, masked_id_number, with_wrong_check_digit
from townhall.packs import load_pack

PACK = load_pack("cn-2014")


def registration(identity: Any, **changes: Any) -> dict[str, Any]:
    return {
        "handle": unique_handle("real"),
        "password": PASSWORD,
        "display_name": "Real Name",
        "identity": identity,
        "agreement_version": AGREEMENT_VERSION,
        **changes,
    }


async def register(server: Server, identity: Any, **changes: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post("/api/v1/accounts", json=registration(identity, **changes))


def pack_today() -> date:
    """Today where the pack's jurisdiction is: ages turn over at its midnight."""
    return datetime.now(ZoneInfo(PACK.timezone)).date()


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def new_sequence() -> int:
    return next(IDENTITY_SERIALS)


def identity_ending_in_x() -> dict[str, str]:
    """A fresh identity whose check digit is the letter X."""
    while True:
        identity = fresh_identity()
        if identity["id_number"].endswith("X"):
            return identity


def spaced(number: str) -> str:
    return f"{number[:6]} {number[6:14]} {number[14:]}"


def full_width_digits(number: str) -> str:
    """Digits as a Chinese input method in full-width mode types them (U+FF10-U+FF19)."""
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in number)


def full_width(number: str) -> str:
    """Digits and the final X, all full-width."""
    return "".join(chr(ord(ch) + 0xFEE0) for ch in number)


# The pack and its agreement -------------------------------------------------------------------


async def test_the_policy_shows_the_packs_public_rules_and_not_the_agreement_text(
    server: Server,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        policy = await http.get("/api/v1/policy")
        agreement = await http.get("/api/v1/agreement")

    assert policy.status_code == agreement.status_code == 200
    shown = policy.json()
    assert shown["name"] == PACK.name
    assert shown["title"] == PACK.title
    assert shown["timezone"] == PACK.timezone
    assert shown["identity"]["accepted_id_types"] == list(PACK.identity.accepted_id_types)
    assert shown["identity"]["minimum_age_years"] == PACK.identity.minimum_age_years
    assert shown["identity"]["accounts_per_identity"] == PACK.identity.accounts_per_identity
    assert shown["identity"]["verification_mode"] == PACK.identity.verification_mode
    assert shown["agreement"] == {"version": PACK.agreement.version}
    assert shown["phone"]["code_length"] == PACK.phone.code_length
    assert PACK.agreement.text.strip()[:20] not in policy.text
    assert "text" not in shown["agreement"]
    assert agreement.json() == {"version": PACK.agreement.version, "text": PACK.agreement.text}


async def test_registering_with_the_version_the_server_serves(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        version = (await http.get("/api/v1/agreement")).json()["version"]
    answer = await register(server, fresh_identity(), agreement_version=version)
    assert answer.status_code == 201, answer.text
    assert answer.json()["agreement"] == {
        "accepted_version": version,
        "current_version": version,
        "must_accept": False,
    }


# Documents the pack accepts -------------------------------------------------------------------


async def test_an_identity_is_stored_normalized_and_shown_masked(make_user: MakeUser) -> None:
    identity = identity_ending_in_x()
    typed = {
        **identity,
        "id_number": " " + spaced(identity["id_number"]).lower() + " ",
        "legal_name": " 欧阳娜娜 ",
        "phone": identity["phone"].removeprefix("+86"),  # the pack's default region is CN
    }
    user = await make_user("typed", identity=typed)
    shown = (await user.me())["identity"]
    assert shown["id_number"] == masked_id_number(identity["id_number"])
    assert shown["legal_name"] == "欧阳**"
    assert shown["phone"] == f"+86 {identity['phone'][3:6]}****{identity['phone'][-4:]}"
    # However it was typed, it is the same document: a second account is refused.
    async with httpx.AsyncClient(base_url=user.base_url) as http:
        again = await http.post("/api/v1/accounts", json=registration(identity))
    assert_error(again, 409, "identity_limit")


@pytest.mark.parametrize(
    ("identity", "masked_name"),
    [
        (
            {"legal_name": "ZHANG San", "id_type": "passport", "id_number": "E{serial:08d}"},
            "Z**** S**",
        ),
        (
            {"legal_name": "陈大文", "id_type": "hk_macau_permit", "id_number": "H{serial:010d}"},
            "陈**",
        ),
        (
            {
                "legal_name": "Chan Tai Man",
                "id_type": "hk_macau_permit",
                "id_number": "M{serial:08d}",
            },
            "C*** T** M**",
        ),
    ],
    ids=["passport", "permit-han-name", "permit-latin-name"],
)
async def test_other_accepted_documents_register(
    make_user: MakeUser, identity: dict[str, str], masked_name: str
) -> None:
    number = identity["id_number"].format(serial=new_sequence())
    document = {**identity, "id_number": number, "phone": fresh_identity()["phone"]}
    user = await make_user("traveller", identity=document)
    shown = (await user.me())["identity"]
    assert shown["id_type"] == identity["id_type"]
    # The first character and the last two show; the rest is starred.
    assert shown["id_number"] == number[0] + "*" * (len(number) - 3) + number[-2:]
    assert shown["legal_name"] == masked_name
    assert shown["status"] == "provider_verified"


async def test_the_minimum_age_is_reached_on_the_birthday(server: Server) -> None:
    birthday_today = years_before(pack_today(), PACK.identity.minimum_age_years)
    old_enough = fresh_identity(id_number=cn_ric(birthday_today, new_sequence()))
    # Born a day later: the birthday is tomorrow.
    too_young = fresh_identity(id_number=cn_ric(birthday_today + timedelta(days=1), new_sequence()))

    assert (await register(server, old_enough)).status_code == 201
    refused = await register(server, too_young)
    assert_error(refused, 422, "underage")
    assert str(PACK.identity.minimum_age_years) in refused.json()["error"]["message"]


# Duplicates and the per-identity cap ----------------------------------------------------------


@pytest.mark.parametrize(
    "retype",
    [
        pytest.param(lambda n: n, id="as-is"),
        pytest.param(str.lower, id="lower-case-x"),
        pytest.param(spaced, id="spaces"),
        pytest.param(lambda n: f"{n[:6]}-{n[6:14]}-{n[14:]}", id="dashes"),
        pytest.param(lambda n: f"  {n}\t", id="surrounding-blanks"),
        pytest.param(full_width_digits, id="full-width-digits"),
        pytest.param(lambda n: f"{n[:6]}\u3000{n[6:14]}\u3000{n[14:]}", id="ideographic-spaces"),
        pytest.param(lambda n: f"{n[:6]}\u2014{n[6:]}", id="em-dash"),
    ],
)
async def test_the_same_document_cannot_hold_a_second_account(server: Server, retype: Any) -> None:
    identity = identity_ending_in_x()
    assert (await register(server, identity)).status_code == 201

    other_person_details = {
        **fresh_identity(),
        "id_number": retype(identity["id_number"]),
        "legal_name": "李四",
    }
    refused = await register(server, other_person_details)

    assert_error(refused, 409, "identity_limit")
    assert identity["id_number"] not in refused.text


async def test_a_number_typed_all_in_full_width_is_accepted(make_user: MakeUser) -> None:
    identity = identity_ending_in_x()
    user = await make_user(
        "ime", identity={**identity, "id_number": full_width(identity["id_number"])}
    )
    assert (await user.me())["identity"]["id_number"] == masked_id_number(identity["id_number"])


async def test_the_same_number_on_another_document_type_is_another_identity(
    make_user: MakeUser,
) -> None:
    number = f"H{new_sequence():08d}"  # a valid passport number and a valid permit number
    passport = fresh_identity(id_type="passport", id_number=number, legal_name="LI SI")
    permit = fresh_identity(id_type="hk_macau_permit", id_number=number)
    holders = [
        await make_user("passport", identity=passport),
        await make_user("permit", identity=permit),
    ]
    assert [(await u.me())["identity"]["id_type"] for u in holders] == [
        "passport",
        "hk_macau_permit",
    ]


async def test_concurrent_registrations_of_one_identity_make_one_account(server: Server) -> None:
    identity = fresh_identity()
    answers = await asyncio.gather(*(register(server, identity) for _ in range(6)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201, 409, 409, 409, 409, 409]
    for answer in answers:
        if answer.status_code == 409:
            assert_error(answer, 409, "identity_limit")


async def test_a_pack_may_allow_more_accounts_per_identity(
    servers: ServerPool, make_user: MakeUser
) -> None:
    roomy = servers.shared(policy_pack=servers.pack(accounts_per_identity=2))
    identity = fresh_identity()
    first = await make_user("first", on=roomy, identity=identity)
    await make_user(
        "second", on=roomy, identity={**identity, "id_number": spaced(identity["id_number"])}
    )

    assert_error(await register(roomy, identity), 409, "identity_limit")
    assert "2" in (await register(roomy, identity)).json()["error"]["message"]
    # A deregistered account no longer counts against the cap.
    assert (await first.raw("DELETE", "/api/v1/me")).status_code == 204
    assert (await register(roomy, identity)).status_code == 201


# Every kind of invalid identity: a 4xx with a code naming the field, never the value ----------

TODAY = pack_today()
VALID = fresh_identity()
SEQ = itertools.count(500)


def bad_birth(birth: str) -> str:
    """A number whose birth-date part reads `birth` (YYYYMMDD), with a correct check digit."""
    first17 = f"110105{birth}{next(SEQ):03d}"
    return first17 + ric.calc_check_digit(first17 + "X")


INVALID_IDENTITIES = [
    # document checks (422)
    ({"id_number": with_wrong_check_digit(VALID["id_number"])}, 422, "id_checksum", "id_number"),
    ({"id_number": bad_birth("19900230")}, 422, "id_birth_date_invalid", "id_number"),
    ({"id_number": bad_birth("19901301")}, 422, "id_birth_date_invalid", "id_number"),
    ({"id_number": bad_birth("18791231")}, 422, "id_birth_date_invalid", "id_number"),
    (
        {"id_number": bad_birth(f"{TODAY + timedelta(days=400):%Y%m%d}")},
        422,
        "id_birth_date_invalid",
        "id_number",
    ),
    (
        {"id_number": cn_ric(date(1990, 1, 1), next(SEQ), region="999999")},
        422,
        "id_region_unknown",
        "id_number",
    ),
    (
        {"id_number": cn_ric(years_before(TODAY, 10), next(SEQ))},
        422,
        "underage",
        "id_number",
    ),
    ({"id_number": VALID["id_number"][:17]}, 422, "id_number_invalid", "id_number"),
    ({"id_number": VALID["id_number"] + "1"}, 422, "id_number_invalid", "id_number"),
    ({"id_number": "11010519491231002A"}, 422, "id_number_invalid", "id_number"),
    ({"id_number": "1101051949X231002X"}, 422, "id_number_invalid", "id_number"),
    (
        {"id_type": "passport", "id_number": "E12", "legal_name": "ZHANG SAN"},
        422,
        "id_number_invalid",
        "id_number",
    ),
    (
        {"id_type": "passport", "id_number": "E1234567@", "legal_name": "ZHANG SAN"},
        422,
        "id_number_invalid",
        "id_number",
    ),
    (
        {"id_type": "hk_macau_permit", "id_number": "X12345678"},
        422,
        "id_number_invalid",
        "id_number",
    ),
    (
        {"id_type": "hk_macau_permit", "id_number": "H1234567"},
        422,
        "id_number_invalid",
        "id_number",
    ),
    ({"id_type": "taiwan_permit", "id_number": "12345678"}, 422, "id_type_not_accepted", "id_type"),
    ({"phone": "12345"}, 422, "phone_invalid", "phone"),
    ({"phone": "+86 138 0013 800"}, 422, "phone_invalid", "phone"),
    ({"phone": "call me maybe"}, 422, "phone_invalid", "phone"),
    ({"phone": "+999 1234 5678"}, 422, "phone_invalid", "phone"),
    ({"legal_name": "Zhang San"}, 422, "legal_name_invalid", "legal_name"),
    ({"legal_name": "张"}, 422, "legal_name_invalid", "legal_name"),
    ({"legal_name": "张三3"}, 422, "legal_name_invalid", "legal_name"),
    ({"legal_name": "张三!"}, 422, "legal_name_invalid", "legal_name"),
    ({"legal_name": "张" * 31}, 422, "legal_name_invalid", "legal_name"),
    (
        {"id_type": "passport", "id_number": "E99887766", "legal_name": "张三"},
        422,
        "legal_name_invalid",
        "legal_name",
    ),
    # shape checks (422 like the rest of the identity checks)
    ({"id_type": "drivers_licence"}, 422, "id_type_invalid", "id_type"),
    ({"legal_name": ""}, 422, "identity_invalid", "legal_name"),
    ({"legal_name": "   "}, 422, "identity_invalid", "legal_name"),
    ({"legal_name": "张" * 129}, 422, "identity_invalid", "legal_name"),
    ({"id_number": "1" * 129}, 422, "identity_invalid", "id_number"),
    ({"phone": "+86 138" + "0" * 125}, 422, "identity_invalid", "phone"),
    ({"legal_name": "张\n三"}, 422, "identity_invalid", "legal_name"),
    (
        {"id_number": VALID["id_number"][:9] + "\x00" + VALID["id_number"][9:]},
        422,
        "identity_invalid",
        "id_number",
    ),
    ({"phone": VALID["phone"] + "\x7f"}, 422, "identity_invalid", "phone"),
    ({"legal_name": "张" * 5000}, 422, "identity_invalid", "legal_name"),
    # wrong types and shapes of the JSON itself (400)
    ({"id_number": 110105194912310021}, 400, "invalid_request", "id_number"),
    ({"phone": 8613800138000}, 400, "invalid_request", "phone"),
    ({"legal_name": None}, 400, "invalid_request", "legal_name"),
    ({"legal_name": ["张三"]}, 400, "invalid_request", "legal_name"),
    ({"id_type": {"cn_ric": True}}, 400, "invalid_request", "id_type"),
    ({"middle_name": "x"}, 400, "invalid_request", "middle_name"),
]


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    INVALID_IDENTITIES,
    ids=[f"{case[2]}-{i}" for i, case in enumerate(INVALID_IDENTITIES)],
)
async def test_an_invalid_identity_is_refused_by_field_without_echoing_it(
    server: Server, changes: dict[str, Any], status: int, code: str, field: str
) -> None:
    identity = {**fresh_identity(), **changes}
    body = registration(identity)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.post("/api/v1/accounts", json=body)
        login = await http.post(
            "/api/v1/sessions", json={"handle": body["handle"], "password": PASSWORD}
        )

    assert_error(answer, status, code)
    message = answer.json()["error"]["message"]
    assert field in message
    personal = [identity.get(key) for key in ("legal_name", "id_number", "phone")]
    for value in personal:
        if isinstance(value, str) and len(value.strip()) >= 2:
            assert value.strip() not in answer.text
            assert value.strip().lower() not in answer.text.lower()
    assert_error(login, 401, "login_failed")


@pytest.mark.parametrize(
    "identity",
    [None, "张三 110105194912310021", ["张三"], {}, 5],
    ids=["null", "string", "list", "empty", "number"],
)
async def test_an_identity_of_the_wrong_shape_is_a_bad_request(
    server: Server, identity: Any
) -> None:
    answer = await register(server, identity)
    assert_error(answer, 400, "invalid_request")
    assert "identity" in answer.json()["error"]["message"]


identity_fields = st.text(max_size=40) | st.sampled_from(
    ["", " ", "X", "110105", "+86", "cn_ric", "passport", "11010519491231002X", "张三"]
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    identity=st.fixed_dictionaries(
        {
            "legal_name": identity_fields,
            "id_type": st.sampled_from(["cn_ric", "passport", "hk_macau_permit", "taiwan_permit"])
            | identity_fields,
            "id_number": identity_fields,
            "phone": identity_fields,
        }
    )
)
def test_no_identity_makes_the_server_fail(server: Server, identity: dict[str, str]) -> None:
    answer = httpx.post(f"{server.base_url}/api/v1/accounts", json=registration(identity))
    if answer.status_code != 201:
        assert_error(answer, answer.status_code)
        assert 400 <= answer.status_code < 500
        assert answer.json()["error"]["code"] not in ("internal_error", "")


# The agreement -------------------------------------------------------------------------------


async def test_accepting_the_current_agreement_again_changes_nothing(alice: User) -> None:
    answer = await alice.raw(
        "POST", "/api/v1/agreement/accept", json={"version": AGREEMENT_VERSION}
    )
    assert answer.status_code == 200
    assert answer.json() == {"accepted_version": AGREEMENT_VERSION}
    assert (await alice.me())["agreement"]["must_accept"] is False

    for version, code in (("2013.9", "agreement_outdated"), (None, "agreement_required")):
        refused = await alice.raw("POST", "/api/v1/agreement/accept", json={"version": version})
        assert_error(refused, 422, code)
    assert (await alice.me())["agreement"]["accepted_version"] == AGREEMENT_VERSION
    assert_error(
        await alice.raw("POST", "/api/v1/agreement/accept", json={"version": 2014.1}),
        400,
        "invalid_request",
    )
