"""Public-account rules without a database: applications and papers, the news entitlement, the
news gate along a re-post chain, and the rolling broadcast quota."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc

from townhall.domain.errors import DomainError, InvalidInput, PolicyRefusal
from townhall.domain.limits import Limits
from townhall.domain.public_accounts import (
    BroadcastQuota,
    Entitlement,
    Qualifications,
    RegistrationNumber,
    SourcePost,
    allowed_entitlements,
    check_application,
    check_entitlement,
    check_news_gate,
    check_post,
    quota_retry_after_ms,
)
from townhall.packs import load_pack

RULES = load_pack("cn-2014").public_accounts
LIMITS = Limits()
CODE = "91110000600037341L"  # a unified social credit code with a correct check digit
HOUR_MS = 3_600_000


def apply(**changes: Any) -> Any:
    fields: dict[str, Any] = {
        "category": "enterprise",
        "account_type": "subscription",
        "description": "",
        "entity_name": "山海文化传播有限公司",
        "registration": RegistrationNumber("cn_uscc", CODE),
        "news_licence": None,
        "rules": RULES,
        **changes,
    }
    return check_application(**fields, limits=LIMITS)


def numbered(number: str, number_type: str = "cn_uscc") -> RegistrationNumber:
    return RegistrationNumber(number_type, number)


def refusal(call: Any, **changes: Any) -> tuple[type[DomainError], str]:
    with pytest.raises(DomainError) as raised:
        call(**changes)
    return type(raised.value), raised.value.code


# Applications -----------------------------------------------------------------------------------


def test_an_organisation_files_its_name_and_a_checked_credit_code() -> None:
    category, description, papers = apply(
        registration=numbered("9111 0000-6000 3734 1l"),
        description="  山海之间。 ",
        news_licence="  ",
    )
    assert category == RULES.categories["enterprise"]
    assert description == "山海之间。"
    assert papers == Qualifications(
        entity_name="山海文化传播有限公司", registration=numbered(CODE), news_licence=None
    )
    assert uscc.is_valid(CODE)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"category": "blogger"}, (InvalidInput, "category_invalid")),
        ({"account_type": "broadcast"}, (InvalidInput, "account_type_invalid")),
        ({"entity_name": None}, (PolicyRefusal, "entity_name_required")),
        ({"entity_name": " \t "}, (PolicyRefusal, "entity_name_required")),
        ({"entity_name": "公司" * 65}, (InvalidInput, "entity_name_too_long")),
        ({"registration": None}, (PolicyRefusal, "registration_number_required")),
        ({"registration": numbered(" ")}, (PolicyRefusal, "registration_number_required")),
        (
            {"registration": numbered(CODE[:-1] + "M")},
            (PolicyRefusal, "registration_number_invalid"),
        ),
        ({"registration": numbered(CODE[:-1])}, (PolicyRefusal, "registration_number_invalid")),
        (
            {"registration": numbered("I" + CODE[1:])},
            (PolicyRefusal, "registration_number_invalid"),
        ),
        (
            {"registration": numbered("FR40303265045", "eu_vat")},
            (PolicyRefusal, "registration_number_type_not_accepted"),
        ),
        (
            {"registration": numbered(CODE, "")},
            (PolicyRefusal, "registration_number_type_not_accepted"),
        ),
        (
            {"description": "x" * (LIMITS.max_description_chars + 1)},
            (InvalidInput, "description_too_long"),
        ),
        ({"description": "bell\x07"}, (InvalidInput, "description_invalid")),
        ({"news_licence": "1" * 65}, (InvalidInput, "news_licence_too_long")),
    ],
)
def test_an_application_with_bad_papers_says_what_is_wrong(
    changes: dict[str, Any], error: tuple[type[DomainError], str]
) -> None:
    assert refusal(apply, **changes) == error


EU_RULES = load_pack("eu-dsa").public_accounts


@pytest.mark.parametrize(
    ("number_type", "number", "stored"),
    [
        ("eu_vat", "el 094259216", "EL094259216"),
        ("eu_vat", "BE 0697.449.992", "BE0697449992"),
        ("dk_cvr", "13585628", "13585628"),
        ("fi_ytunnus", "2077474-0", "20774740"),
        ("se_orgnr", "1234567897", "1234567897"),
        ("ee_registrikood", "12345678", "12345678"),
    ],
)
def test_the_eu_pack_checks_vat_and_national_company_numbers(
    number_type: str, number: str, stored: str
) -> None:
    _, _, papers = check_application(
        category="enterprise",
        account_type="subscription",
        description="",
        entity_name="Example Oy",
        registration=numbered(number, number_type),
        news_licence=None,
        rules=EU_RULES,
        limits=LIMITS,
    )
    assert papers.registration == numbered(stored, number_type)


@given(st.sampled_from(sorted(EU_RULES.registration_number_types)), st.text(max_size=80))
def test_any_registration_number_is_accepted_or_refused_by_code(
    number_type: str, number: str
) -> None:
    try:
        _, _, papers = apply(registration=numbered(number, number_type), rules=EU_RULES)
    except PolicyRefusal as refusal:
        assert refusal.code in ("registration_number_required", "registration_number_invalid")
    else:
        assert papers.registration is not None
        assert papers.registration.number.strip()


def test_an_individual_files_no_organisation_papers() -> None:
    category, _, papers = apply(
        category="individual",
        entity_name="某公司",
        registration=numbered("not checked"),
        news_licence=" A1 ",
    )
    assert category.entity == "individual"
    assert papers == Qualifications(entity_name=None, registration=None, news_licence="A1")


# The news entitlement ---------------------------------------------------------------------------

LICENSED = Qualifications(
    entity_name="报社", registration=numbered(CODE), news_licence="10120170001"
)
UNLICENSED = Qualifications(entity_name="报社", registration=numbered(CODE), news_licence=None)


@pytest.mark.parametrize(
    ("category", "papers", "allowed"),
    [
        ("news_organisation", LICENSED, ("none", "repost", "originate")),
        ("news_website", LICENSED, ("none", "repost", "originate")),
        ("news_organisation", UNLICENSED, ("none",)),
        ("media", LICENSED, ("none", "repost")),
        ("government", LICENSED, ("none", "repost")),
        ("individual", LICENSED, ("none", "repost")),
        ("enterprise", UNLICENSED, ("none",)),
    ],
)
def test_originate_for_licensed_news_organisations_repost_for_other_licensees(
    category: str, papers: Qualifications, allowed: tuple[str, ...]
) -> None:
    rules = RULES.categories[category]
    assert allowed_entitlements(rules, papers) == allowed
    for entitlement in ("none", "repost", "originate"):
        if entitlement in allowed:
            assert check_entitlement(entitlement, rules, papers) == entitlement
        else:
            assert refusal(
                check_entitlement, entitlement=entitlement, category=rules, qualifications=papers
            ) == (
                PolicyRefusal,
                "entitlement_not_allowed",
            )


# The news gate ----------------------------------------------------------------------------------

NEWS_ORIGINAL = SourcePost(root_post_id=1, root_content_class="news", root_entitlement="originate")


def gate(content_class: str, entitlement: str, source: SourcePost | None) -> str:
    """ "ok", or the code of the refusal."""
    try:
        check_news_gate(
            content_class=content_class, entitlement=entitlement, source=source, rules=RULES
        )
    except DomainError as refused:
        return refused.code
    return "ok"


@pytest.mark.parametrize("entitlement", ["none", "repost", "originate"])
@pytest.mark.parametrize(
    "source",
    [None, SourcePost(root_post_id=2, root_content_class="culture", root_entitlement="none")],
)
def test_other_content_is_anyones_to_publish_and_repost(
    entitlement: str, source: SourcePost | None
) -> None:
    for content_class in RULES.content_classes:
        if content_class not in RULES.news_content_classes:
            assert gate(content_class, entitlement, source) == "ok"


@pytest.mark.parametrize("content_class", ["culture", "commentary"])
def test_re_posting_a_news_original_is_news_whatever_the_label(content_class: str) -> None:
    assert gate(content_class, Entitlement.NONE, NEWS_ORIGINAL) == "news_not_entitled"
    assert gate(content_class, Entitlement.REPOST, NEWS_ORIGINAL) == "ok"


def test_an_unknown_content_class_is_bad_input() -> None:
    assert gate("gossip", Entitlement.ORIGINATE, None) == "content_class_invalid"
    with pytest.raises(InvalidInput):
        check_news_gate(content_class="gossip", entitlement="none", source=None, rules=RULES)


def test_only_an_originate_account_publishes_news_of_its_own() -> None:
    assert gate("news", Entitlement.ORIGINATE, None) == "ok"
    assert gate("news", Entitlement.REPOST, None) == "news_not_entitled"
    assert gate("news", Entitlement.NONE, None) == "news_not_entitled"


def test_news_is_reposted_by_entitled_accounts_from_a_proper_original_only() -> None:
    assert gate("news", Entitlement.REPOST, NEWS_ORIGINAL) == "ok"
    assert gate("news", Entitlement.ORIGINATE, NEWS_ORIGINAL) == "ok"
    assert gate("news", Entitlement.NONE, NEWS_ORIGINAL) == "news_not_entitled"
    for root_class, root_entitlement in [
        ("culture", "originate"),  # general content re-labelled as news
        ("news", "repost"),  # an original its account was never entitled to publish
        ("news", "none"),
        ("commentary", "none"),
    ]:
        source = SourcePost(3, root_class, root_entitlement)
        for entitlement in (Entitlement.REPOST, Entitlement.ORIGINATE):
            assert gate("news", entitlement, source) == "news_not_entitled"


def test_a_post_needs_a_title_and_a_body_within_limits() -> None:
    assert check_post("  标题 ", "正文\n第二行", LIMITS) == ("标题", "正文\n第二行")
    assert refusal(check_post, title=" ", body="x", limits=LIMITS) == (
        InvalidInput,
        "title_invalid",
    )
    assert refusal(check_post, title="t", body="", limits=LIMITS) == (InvalidInput, "body_invalid")
    long_title = "t" * (LIMITS.max_post_title_chars + 1)
    assert refusal(check_post, title=long_title, body="x", limits=LIMITS)[1] == "title_too_long"


# The broadcast quota ----------------------------------------------------------------------------


def test_an_account_below_its_quota_may_post() -> None:
    quota = BroadcastQuota(posts=4, period_hours=720)
    assert quota_retry_after_ms([], quota, 10**12) is None
    assert quota_retry_after_ms([10**12 - 5] * 3, quota, 10**12) is None


def test_a_daily_account_waits_until_its_post_is_a_day_old() -> None:
    quota = BroadcastQuota(posts=1, period_hours=24)
    now = 10**12
    assert quota_retry_after_ms([now - HOUR_MS], quota, now) == 23 * HOUR_MS


def in_window(times: list[int], period_ms: int, now: int) -> list[int]:
    """What the store returns: the account's posts created after now - period, oldest first."""
    return sorted(t for t in times if t > now - period_ms)


@given(
    posts=st.integers(1, 6),
    period_hours=st.integers(1, 24 * 31),
    data=st.data(),
)
def test_the_retry_time_is_when_the_blocking_post_leaves_the_window(
    posts: int, period_hours: int, data: st.DataObject
) -> None:
    quota = BroadcastQuota(posts=posts, period_hours=period_hours)
    period_ms = period_hours * HOUR_MS
    now = 10**12
    offsets = data.draw(st.lists(st.integers(0, period_ms - 1), min_size=posts, max_size=posts + 4))
    times = in_window([now - offset for offset in offsets], period_ms, now)

    wait = quota_retry_after_ms(times, quota, now)
    assert wait is not None  # at (or over) the quota: never let through
    assert 1 <= wait <= period_ms
    # Exactly then, and not a millisecond sooner, the window holds fewer posts than the quota.
    later = now + wait
    assert quota_retry_after_ms(in_window(times, period_ms, later), quota, later) is None
    sooner = later - 1
    assert quota_retry_after_ms(in_window(times, period_ms, sooner), quota, sooner) is not None
