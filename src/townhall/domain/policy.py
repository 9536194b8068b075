"""The policy pack: one jurisdiction's real-name, agreement and phone rules as a typed model."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec
import phonenumbers

from townhall.domain.accounts import ID_TYPES, VERIFICATION_STATUSES
from townhall.domain.contacts import ContactRules, check_contact_rules
from townhall.domain.enforcement import Capability, EnforcementRules
from townhall.domain.enforcement import check_rules as check_enforcement_rules
from townhall.domain.identity import CHECKED_ID_TYPES, IdentityRequirement
from townhall.domain.messaging import (
    GroupRules,
    MessagingRules,
    check_group_rules,
    check_messaging_rules,
)
from townhall.domain.moderation import ModerationRules, check_rules
from townhall.domain.naming import NamingRules
from townhall.domain.news_check import check_rules as check_news_rules
from townhall.domain.normalize import normalize
from townhall.domain.public_accounts import (
    ENTITLEMENTS,
    REGISTRATION_NUMBER_CHECKS,
    Entitlement,
    PublicAccountRules,
)
from townhall.domain.reach import ReachRules
from townhall.domain.retention import RetentionRules
from townhall.domain.retention import check_rules as check_retention_rules
from townhall.domain.review import ReviewRules
from townhall.domain.review import check_rules as check_review_rules

NonNegative = Annotated[int, msgspec.Meta(ge=0)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
Text = Annotated[str, msgspec.Meta(min_length=1)]
# An SMS code shorter than 4 digits is guessable within the attempt cap; longer than 10 is mistyped.
CodeLength = Annotated[int, msgspec.Meta(ge=4, le=10)]
IdTypes = Annotated[tuple[str, ...], msgspec.Meta(min_length=1)]

# The capabilities identity.requirements may gate: where services/standing.py is asked.
GATED_CAPABILITIES = frozenset(
    {
        Capability.SEND_DIRECT,
        Capability.SEND_GROUP,
        Capability.CREATE_GROUP,
        Capability.PUBLISH_POST,
        Capability.APPLY_PUBLIC_ACCOUNT,
    }
)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<key>[^`]*)`$")
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<key>[^`]*)`$")


class PolicyPackError(ValueError):
    """A pack that cannot be used; the message names the bad key path, e.g. `phone.code_length`."""


class IdentityRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    accepted_id_types: IdTypes
    minimum_age_years: NonNegative
    accounts_per_identity: Positive
    verification_mode: Literal["auto", "review"]
    retention_days_after_deregistration: NonNegative
    # By capability (create_group, send_direct, ...): a capability not named asks nothing.
    requirements: dict[str, IdentityRequirement]


class AgreementRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: Text
    text: Text


class PhoneRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    default_region: Text
    code_length: CodeLength
    code_ttl_seconds: Positive
    max_codes_per_hour: Positive
    max_attempts_per_code: Positive


class PolicyPack(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Text
    title: Text
    timezone: Text  # the jurisdiction's local time: ages turn over at its midnight, not UTC's
    identity: IdentityRules
    agreement: AgreementRules
    phone: PhoneRules
    public_accounts: PublicAccountRules
    naming: NamingRules
    groups: GroupRules
    messaging: MessagingRules
    reach: ReachRules
    moderation: ModerationRules
    review: ReviewRules
    enforcement: EnforcementRules
    retention: RetentionRules
    contacts: ContactRules

    def public(self) -> dict[str, Any]:
        """What anyone may read before registering; the agreement text is served on its own."""
        return {
            "name": self.name,
            "title": self.title,
            "timezone": self.timezone,
            "identity": {
                "accepted_id_types": list(self.identity.accepted_id_types),
                "minimum_age_years": self.identity.minimum_age_years,
                "accounts_per_identity": self.identity.accounts_per_identity,
                "verification_mode": self.identity.verification_mode,
                "requirements": _as_json(self.identity.requirements),
            },
            "agreement": {"version": self.agreement.version},
            "phone": {
                "code_length": self.phone.code_length,
                "code_ttl_seconds": self.phone.code_ttl_seconds,
            },
            "public_accounts": {
                **_as_json(self.public_accounts),
                "news_check": self.public_accounts.news_check.public(),
            },
            "groups": _as_json(self.groups),
            "messaging": _as_json(self.messaging),
            "reach": _as_json(self.reach),
            "moderation": {
                "categories": list(self.moderation.categories),
                "severities": list(self.moderation.severities),
                "surfaces": self.moderation.surfaces,
            },
            "review": {"report_reasons": list(self.review.report_reasons)},
            "enforcement": {
                "appeal_window_days": self.enforcement.appeal_window_days,
                "credit_bands": _as_json(self.enforcement.credit_bands),
            },
            "contacts": _as_json(self.contacts),
        }


def _as_json(rules: object) -> Any:
    """Plain JSON values (lists, not tuples) as a client will read them."""
    return msgspec.json.decode(msgspec.json.encode(rules))


def parse_pack(data: Mapping[str, Any]) -> PolicyPack:
    """Validate a decoded pack once, at start-up, so a bad key stops the server by name."""
    try:
        pack = msgspec.convert(dict(data), PolicyPack)
    except msgspec.ValidationError as error:
        raise PolicyPackError(_with_key_path(str(error))) from None
    _check_id_types(pack.identity.accepted_id_types)
    _check_requirements(pack.identity.requirements)
    _check_public_accounts(pack.public_accounts)
    _check_news_check(pack.public_accounts, pack.moderation.severities)
    _check_naming(pack.naming, pack.public_accounts)
    _check_reach(pack.reach)
    for problem in (
        check_rules(pack.moderation),
        check_review_rules(pack.review, pack.moderation.categories),
        check_enforcement_rules(pack.enforcement, pack.moderation.severities),
        check_retention_rules(pack.retention),
        check_group_rules(pack.groups),
        check_messaging_rules(pack.messaging),
        check_contact_rules(pack.contacts),
    ):
        if problem is not None:
            raise PolicyPackError(problem)
    if pack.phone.default_region not in phonenumbers.SUPPORTED_REGIONS:
        raise PolicyPackError(
            "phone.default_region: not a region phone numbers are known for (e.g. CN)"
        )
    return pack


def _check_id_types(accepted: tuple[str, ...]) -> None:
    for position, id_type in enumerate(accepted):
        path = f"identity.accepted_id_types[{position}]"
        if id_type not in ID_TYPES:
            raise PolicyPackError(
                f"{path}: unknown id type {id_type!r}; known: {', '.join(sorted(ID_TYPES))}"
            )
        # A type without document rules would pass unchecked: refuse the pack instead.
        if id_type not in CHECKED_ID_TYPES:
            raise PolicyPackError(f"{path}: {id_type!r} has no document rules yet")
    if len(set(accepted)) != len(accepted):
        raise PolicyPackError("identity.accepted_id_types: lists a type twice")


def _check_requirements(requirements: Mapping[str, IdentityRequirement]) -> None:
    for capability, requirement in requirements.items():
        path = f"identity.requirements.{capability}"
        if capability not in GATED_CAPABILITIES:
            raise PolicyPackError(
                f"{path}: not a capability an identity can gate; "
                f"known: {', '.join(sorted(GATED_CAPABILITIES))}"
            )
        for status in requirement.accepted:
            if status not in VERIFICATION_STATUSES:
                raise PolicyPackError(
                    f"{path}.accepted: unknown status {status!r}; "
                    f"known: {', '.join(VERIFICATION_STATUSES)}"
                )


def _check_public_accounts(rules: PublicAccountRules) -> None:
    if not rules.categories:
        raise PolicyPackError("public_accounts.categories: lists no category")
    kinds = {category.entity for category in rules.categories.values()}
    missing = sorted(kinds - set(rules.caps_per_identity))
    if missing:
        raise PolicyPackError(f"public_accounts.caps_per_identity: no cap for {missing[0]!r}")
    for kind, cap in rules.caps_per_identity.items():
        if cap < 0:
            raise PolicyPackError(f"public_accounts.caps_per_identity.{kind}: must be >= 0")
    if not rules.broadcast_quota:
        raise PolicyPackError("public_accounts.broadcast_quota: lists no account type")
    for account_type, quota in rules.broadcast_quota.items():
        if quota.posts < 1 or quota.period_hours < 1:
            raise PolicyPackError(
                f"public_accounts.broadcast_quota.{account_type}: "
                "posts and period_hours must be >= 1"
            )
    for number_type in rules.registration_number_types:
        if number_type not in REGISTRATION_NUMBER_CHECKS:
            raise PolicyPackError(
                f"public_accounts.registration_number_types: unknown type {number_type!r}; "
                f"known: {', '.join(REGISTRATION_NUMBER_CHECKS)}"
            )
    if not rules.content_classes:
        raise PolicyPackError("public_accounts.content_classes: lists no class")
    for name in rules.news_content_classes:
        if name not in rules.content_classes:
            raise PolicyPackError(
                f"public_accounts.news_content_classes: {name!r} is not in content_classes"
            )


def _check_news_check(rules: PublicAccountRules, severities: tuple[str, ...]) -> None:
    news_check = rules.news_check
    problem = check_news_rules(news_check)
    if problem is not None:
        raise PolicyPackError(problem)
    key = "public_accounts.news_check"
    if news_check.severity is not None and news_check.severity not in severities:
        raise PolicyPackError(
            f"{key}.severity: {news_check.severity!r} is not one of moderation.severities"
        )
    for position, entitlement in enumerate(news_check.exempt_entitlements):
        if entitlement not in ENTITLEMENTS:
            raise PolicyPackError(
                f"{key}.exempt_entitlements[{position}]: unknown entitlement {entitlement!r}; "
                f"known: {', '.join(ENTITLEMENTS)}"
            )
    # An originate account publishes news by right: reading its posts for news holds them all.
    if Entitlement.ORIGINATE not in news_check.exempt_entitlements:
        raise PolicyPackError(f"{key}.exempt_entitlements: must include 'originate'")


def _check_naming(naming: NamingRules, rules: PublicAccountRules) -> None:
    if naming.max_digit_run < 1:
        raise PolicyPackError("naming.max_digit_run: must be >= 1")
    for position, group in enumerate(naming.restricted):
        if not group.terms:
            raise PolicyPackError(f"naming.restricted[{position}].terms: lists no term")
        for term in group.terms:
            if not normalize(term).text:  # nothing left to match once separators are gone
                raise PolicyPackError(
                    f"naming.restricted[{position}].terms: {term!r} has no letter or digit"
                )
        for category in group.allowed_categories:
            if category not in rules.categories:
                raise PolicyPackError(
                    f"naming.restricted[{position}].allowed_categories: "
                    f"unknown category {category!r}"
                )


def _check_reach(reach: ReachRules) -> None:
    for key in ("serious_views", "serious_forwards", "window_days"):
        if getattr(reach, key) < 1:
            raise PolicyPackError(f"reach.{key}: must be >= 1")


def _with_key_path(message: str) -> str:
    """msgspec says "... - at `$.identity.x`"; operators read "identity.x: ..." instead."""
    text, _, at = message.partition(" - at `$")
    path = at.removesuffix("`").lstrip(".")
    for pattern, explanation in ((_UNKNOWN_FIELD, "unknown key"), (_MISSING_FIELD, "missing key")):
        if field := pattern.match(text):
            return f"{_join(path, field['key'])}: {explanation}"
    return f"{path or '(pack)'}: {text}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
