"""The policy pack model: what it accepts, how it names a bad key, what it shows the public."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from townhall.domain.policy import PolicyPack, PolicyPackError, parse_pack

PACK: dict[str, Any] = {
    "name": "test-pack",
    "title": "A pack for tests",
    "timezone": "Asia/Shanghai",
    "identity": {
        "accepted_id_types": ["cn_ric", "passport"],
        "minimum_age_years": 14,
        "accounts_per_identity": 1,
        "verification_mode": "auto",
        "retention_days_after_deregistration": 180,
        "requirements": {
            "create_group": {"accepted": ["provider_verified"], "phone_confirmed": True}
        },
    },
    "agreement": {"version": "1", "text": "Be kind."},
    "phone": {
        "default_region": "CN",
        "code_length": 6,
        "code_ttl_seconds": 300,
        "max_codes_per_hour": 5,
        "max_attempts_per_code": 5,
    },
    "public_accounts": {
        "categories": {
            "news_site": {
                "label": "News site",
                "entity": "organisation",
                "may_originate_news": True,
            },
            "person": {"label": "Person", "entity": "individual", "may_originate_news": False},
        },
        "caps_per_identity": {"individual": 1, "organisation": 2},
        "broadcast_quota": {"subscription": {"posts": 1, "period_hours": 24}},
        "content_classes": ["news", "other"],
        "news_content_classes": ["news"],
        "registration_number_types": ["cn_uscc"],
    },
    "naming": {
        "restricted": [
            {"what": "news media", "terms": ["news"], "allowed_categories": ["news_site"]}
        ],
        "refuse_urls": True,
        "refuse_contact_details": True,
        "max_digit_run": 6,
    },
    "groups": {
        "max_created_per_day": 10,
        "max_joined": 500,
        "invite_consent_above": 40,
        "verified_identity_above": 100,
        "link_join_max_members": 200,
        "join_link_days": 7,
    },
    "messaging": {"recall_seconds": 120},
    "contacts": {"direct_needs_friendship": True, "stranger_greetings": 3},
    "reach": {"serious_views": 5000, "serious_forwards": 500, "window_days": 365},
    "moderation": {
        "categories": ["fraud"],
        "severities": ["low", "high"],
        "surfaces": {
            **{
                surface: {"low": "flag", "high": "block"}
                for surface in ("direct", "group", "public_post")
            },
            "name": {"low": "block", "high": "block"},
        },
        "homophone_min_syllables": 3,
        "homophone_max_share": 0.5,
        "near_duplicate_threshold": 0.7,
        "near_duplicate_min_chars": 30,
        "images": {
            "max_distance": 31,
            "min_quality": 50,
            "on_match": {"direct": "block", "group": "block", "public_post": "hold"},
        },
        "terms": [{"text": "scam", "category": "fraud", "severity": "high"}],
        "allowlist": ["scampi"],
    },
    "review": {
        "service_hours": {"hold": 1, "escalation": 1, "flag": 24, "report": 24},
        "report_reasons": ["fraud", "other"],
        "reporter_limit": {"unfounded": 5, "window_days": 30, "per_day": 3},
        "claim_minutes": 30,
        "bulk_max": 200,
        "max_detail_chars": 1000,
    },
    "enforcement": {
        "ground": "the terms of service",
        "strike_points": {"low": 1, "high": 4},
        "decay_days": 180,
        "ladder": [
            {"min_points": 0, "sanction": "warning"},
            {"min_points": 4, "sanction": "suspend_updates", "days": 30},
        ],
        "credit_start": 100,
        "credit_per_point": 5,
        "credit_bands": [
            {"name": "good", "min_score": 80},
            {"name": "poor", "min_score": 0, "withheld": ["create_group"]},
        ],
        "appeal_window_days": 30,
        "close_bars_return_days": 0,
        "require_warning_before_suspension": False,
        "dsa_statements": False,
    },
    "retention": {"audit_log_days": 183, "case_content_days": 365},
}


def changed(path: str, value: object) -> dict[str, Any]:
    """PACK with one key (`section.key`) set; `...` as the value removes it."""
    data = copy.deepcopy(PACK)
    *sections, key = path.split(".")
    target = data
    for section in sections:
        target = target[section]
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return data


def refusal(data: dict[str, Any]) -> str:
    with pytest.raises(PolicyPackError) as caught:
        parse_pack(data)
    return str(caught.value)


def test_a_complete_pack_parses_into_typed_rules() -> None:
    pack = parse_pack(PACK)
    assert isinstance(pack, PolicyPack)
    assert pack.identity.accepted_id_types == ("cn_ric", "passport")
    assert pack.phone.code_length == 6


def test_an_unknown_key_is_refused_by_its_path() -> None:
    assert refusal(changed("identity.minimum_age", 14)) == "identity.minimum_age: unknown key"
    assert refusal(changed("colour", "red")) == "colour: unknown key"


def test_a_missing_key_is_refused_by_its_path() -> None:
    assert refusal(changed("phone.code_length", ...)) == "phone.code_length: missing key"
    assert refusal(changed("agreement", ...)) == "agreement: missing key"


def test_a_wrong_type_is_refused_by_its_path() -> None:
    message = refusal(changed("identity.minimum_age_years", "14"))
    assert message == "identity.minimum_age_years: Expected `int`, got `str`"
    assert refusal(changed("identity.accepted_id_types", ["cn_ric", 3])).startswith(
        "identity.accepted_id_types[1]: Expected `str`"
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("identity.minimum_age_years", -1),
        ("identity.accounts_per_identity", 0),
        ("identity.retention_days_after_deregistration", -1),
        ("identity.verification_mode", "manual"),
        ("identity.accepted_id_types", []),
        ("agreement.version", ""),
        ("phone.code_length", 3),
        ("phone.code_length", 11),
        ("phone.code_ttl_seconds", 0),
        ("phone.max_codes_per_hour", 0),
        ("phone.max_attempts_per_code", 0),
    ],
)
def test_values_out_of_range_are_refused_by_their_path(path: str, value: object) -> None:
    assert refusal(changed(path, value)).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("id_types", "position"),
    [(["cn_ric", "library_card"], 1), (["taiwan_permit"], 0)],
)
def test_id_types_without_document_rules_are_refused(id_types: list[str], position: int) -> None:
    message = refusal(changed("identity.accepted_id_types", id_types))
    assert message.startswith(f"identity.accepted_id_types[{position}]: ")


def test_an_id_type_listed_twice_is_refused() -> None:
    message = refusal(changed("identity.accepted_id_types", ["cn_ric", "cn_ric"]))
    assert message.startswith("identity.accepted_id_types: ")


@pytest.mark.parametrize(
    ("requirements", "path"),
    [
        (
            {"send_fax": {"accepted": ["staff_verified"], "phone_confirmed": False}},
            "identity.requirements.send_fax: not a capability an identity can gate",
        ),
        (
            {"update_profile": {"accepted": ["staff_verified"], "phone_confirmed": False}},
            "identity.requirements.update_profile: not a capability an identity can gate",
        ),
        (
            {"create_group": {"accepted": ["verified"], "phone_confirmed": False}},
            "identity.requirements.create_group.accepted: unknown status 'verified'",
        ),
        # msgspec names a table's entry `[...]`, not by its key.
        (
            {"create_group": {"accepted": ["staff_verified"], "phone": True}},
            "identity.requirements[...].phone: unknown key",
        ),
        (
            {"create_group": {"accepted": ["staff_verified"], "phone_confirmed": "yes"}},
            "identity.requirements[...].phone_confirmed: Expected `bool`",
        ),
        (
            {"create_group": {"accepted": [], "phone_confirmed": True}},
            "identity.requirements[...].accepted: Expected `array` of length >= 1",
        ),
    ],
)
def test_requirements_name_known_capabilities_and_statuses(
    requirements: dict[str, Any], path: str
) -> None:
    assert refusal(changed("identity.requirements", requirements)).startswith(path)


def test_only_known_registration_number_types_are_accepted() -> None:
    message = refusal(changed("public_accounts.registration_number_types", ["us_ein"]))
    assert message.startswith("public_accounts.registration_number_types: unknown type 'us_ein'")
    assert "cn_uscc" in message
    empty = refusal(changed("public_accounts.registration_number_types", []))
    assert empty.startswith("public_accounts.registration_number_types: ")


def test_an_unknown_phone_region_is_refused() -> None:
    assert refusal(changed("phone.default_region", "XX")).startswith("phone.default_region: ")


def test_the_pack_is_frozen() -> None:
    pack = parse_pack(PACK)
    with pytest.raises(AttributeError):
        pack.name = "other"  # type: ignore[misc]


def test_the_public_view_shows_the_rules_but_not_the_agreement_text() -> None:
    public = parse_pack(PACK).public()
    assert public == {
        "name": "test-pack",
        "title": "A pack for tests",
        "timezone": "Asia/Shanghai",
        "identity": {
            "accepted_id_types": ["cn_ric", "passport"],
            "minimum_age_years": 14,
            "accounts_per_identity": 1,
            "verification_mode": "auto",
            "requirements": {
                "create_group": {"accepted": ["provider_verified"], "phone_confirmed": True}
            },
        },
        "agreement": {"version": "1"},
        "phone": {"code_length": 6, "code_ttl_seconds": 300},
        "public_accounts": {
            **PACK["public_accounts"],
            "news_check": {"enabled": False, "exempt_entitlements": ["originate", "repost"]},
        },
        "groups": PACK["groups"],
        "messaging": PACK["messaging"],
        "reach": PACK["reach"],
        "moderation": {
            "categories": ["fraud"],
            "severities": ["low", "high"],
            "surfaces": PACK["moderation"]["surfaces"],
        },
        "review": {"report_reasons": ["fraud", "other"]},
        "enforcement": {
            "appeal_window_days": 30,
            "credit_bands": [
                {"name": "good", "min_score": 80, "withheld": []},
                {"name": "poor", "min_score": 0, "withheld": ["create_group"]},
            ],
        },
        "contacts": PACK["contacts"],
    }


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("public_accounts.categories", {}, "public_accounts.categories"),
        ("contacts.stranger_greetings", 0, "contacts.stranger_greetings"),
        ("public_accounts.caps_per_identity", {"individual": 1}, "caps_per_identity"),
        ("public_accounts.broadcast_quota", {}, "public_accounts.broadcast_quota"),
        (
            "public_accounts.broadcast_quota",
            {"subscription": {"posts": 0, "period_hours": 24}},
            "broadcast_quota.subscription",
        ),
        ("public_accounts.news_content_classes", ["gossip"], "news_content_classes"),
        (
            "naming.restricted",
            [{"what": "x", "terms": ["a"], "allowed_categories": ["nope"]}],
            "naming.restricted[0].allowed_categories",
        ),
        ("naming.restricted", [{"what": "x", "terms": []}], "naming.restricted[0].terms"),
        ("naming.restricted", [{"what": "x", "terms": ["!!"]}], "naming.restricted[0].terms"),
        ("naming.max_digit_run", 0, "naming.max_digit_run"),
        ("reach.serious_views", 0, "reach.serious_views"),
        ("reach.window_days", ..., "reach.window_days"),
        ("moderation.surfaces", {"direct": {"low": "allow", "high": "block"}}, "surfaces"),
        (
            "moderation.surfaces",
            {
                s: {"low": "quarantine", "high": "block"}
                for s in ("direct", "group", "public_post", "name")
            },
            "moderation.surfaces.direct.low",
        ),
        ("review.service_hours", {"hold": 1, "flag": 24, "report": 24}, "review.service_hours"),
        (
            "review.service_hours",
            {"hold": 0, "escalation": 1, "flag": 24, "report": 24},
            "review.service_hours.hold",
        ),
        ("review.report_reasons", ["fraud", "gossip"], "review.report_reasons"),
        (
            "review.reporter_limit",
            {"unfounded": 0, "window_days": 30, "per_day": 3},
            "review.reporter_limit.unfounded",
        ),
        ("review.bulk_max", 0, "review.bulk_max"),
        (
            "moderation.terms",
            [{"text": "x", "category": "gossip", "severity": "high"}],
            "moderation.terms[0]",
        ),
        ("moderation.severities", [], "moderation"),
        ("enforcement.strike_points", {"low": 1}, "enforcement.strike_points"),
        ("enforcement.decay_days", 0, "enforcement.decay_days"),
        ("enforcement.ladder", [], "enforcement.ladder"),
        ("enforcement.ladder", [{"min_points": 0, "sanction": "ban"}], "enforcement.ladder[0]"),
        (
            "enforcement.ladder",
            [{"min_points": 0, "sanction": "suspend_updates"}],
            "enforcement.ladder[0].days",
        ),
        (
            "enforcement.credit_bands",
            [{"name": "x", "min_score": 0, "withheld": ["fly"]}],
            "enforcement.credit_bands[0].withheld",
        ),
        ("enforcement.credit_bands", [{"name": "x", "min_score": 10}], "enforcement.credit_bands"),
        ("retention.audit_log_days", 30, "retention.audit_log_days"),
        ("groups.link_join_max_members", 0, "groups.link_join_max_members"),
        ("groups.join_link_days", 0, "groups.join_link_days"),
        ("groups.invite_consent_above", -1, "groups.invite_consent_above"),
        ("groups.verified_identity_above", -1, "groups.verified_identity_above"),
    ],
)
def test_public_account_rules_are_checked_by_key(path: str, value: object, named: str) -> None:
    assert named in refusal(changed(path, value))


def with_news_check(**section: object) -> dict[str, Any]:
    return changed(
        "public_accounts.news_check",
        {"enabled": True, "severity": "high", "terms": ["记者"], **section},
    )


def test_a_news_check_section_parses_and_a_pack_without_one_reads_no_post() -> None:
    rules = parse_pack(with_news_check(hold_at=2)).public_accounts.news_check
    assert (rules.enabled, rules.hold_at, rules.terms) == (True, 2, ("记者",))
    assert parse_pack(PACK).public_accounts.news_check.enabled is False


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"severity": "grave"}, "public_accounts.news_check.severity: 'grave' is not one of"),
        ({"hold_at": 0}, "public_accounts.news_check.hold_at: Expected `int` >= 1"),
        ({"colour": "red"}, "public_accounts.news_check.colour: unknown key"),
        (
            {"exempt_entitlements": ["originate", "press"]},
            "public_accounts.news_check.exempt_entitlements[1]: unknown entitlement 'press'",
        ),
        (
            {"exempt_entitlements": ["repost"]},
            "public_accounts.news_check.exempt_entitlements: must include 'originate'",
        ),
        (
            {"patterns": [{"name": "byline", "pattern": "(新华社"}]},
            "public_accounts.news_check.patterns[0].pattern: not a regular expression",
        ),
        (
            {"patterns": [{"name": "byline", "pattern": "新华社", "weight": 0}]},
            "public_accounts.news_check.patterns[0].weight: Expected `int` >= 1",
        ),
        (
            {"classifier": {"name": "news_zh", "threshold": 1.5, "weight": 3}},
            "public_accounts.news_check.classifier.threshold: Expected `float` <= 1",
        ),
    ],
)
def test_a_bad_news_check_is_refused_by_its_key(section: dict[str, Any], problem: str) -> None:
    assert refusal(with_news_check(**section)).startswith(problem)
