"""Rules for public accounts: applications, qualifications, news entitlement, posts and quotas."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from stdnum.cn import uscc
from stdnum.de import handelsregisternummer
from stdnum.dk import cvr
from stdnum.ee import registrikood
from stdnum.eu import vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fi import ytunnus
from stdnum.fr import siren
from stdnum.se import orgnr

from townhall.domain.errors import ErrorCode, InvalidInput, PolicyRefusal
from townhall.domain.limits import Limits
from townhall.domain.naming import TextField, clean_text
from townhall.domain.news_check import NewsCheckRules

EntityKind = Literal["individual", "organisation"]
NEWS_LICENCE_MAX_CHARS = 64
ENTITY_NAME_MAX_CHARS = 128
REGISTRATION_NUMBER_MAX_CHARS = 64

# The registers an organisation's number may come from, each checked by python-stdnum (format
# and check digits; whether the organisation exists is the reviewer's to confirm). A pack names
# the ones it accepts in public_accounts.registration_number_types.
REGISTRATION_NUMBER_CHECKS: Mapping[str, Callable[[str], str]] = {
    "cn_uscc": uscc.validate,  # 统一社会信用代码, China's unified social credit code
    "eu_vat": vat.validate,  # an EU VAT number with its country prefix (EL for Greece)
    "de_handelsregisternummer": handelsregisternummer.validate,
    "dk_cvr": cvr.validate,
    "ee_registrikood": registrikood.validate,
    "fi_ytunnus": ytunnus.validate,
    "fr_siren": siren.validate,
    "se_orgnr": orgnr.validate,
}


class AccountState:
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    CLOSED = "closed"  # its operator deregistered: gone from view, still counted against caps


# A suspended account's posts stay readable; a closed account's are gone from view.
READABLE_ACCOUNTS = (AccountState.APPROVED, AccountState.SUSPENDED)


class Entitlement:
    """What current-affairs news an account may publish (its badge)."""

    NONE = "none"
    REPOST = "repost"
    ORIGINATE = "originate"


ENTITLEMENTS = (Entitlement.NONE, Entitlement.REPOST, Entitlement.ORIGINATE)


class PostState:
    PUBLISHED = "published"
    DELETED = "deleted"  # by its operator
    HELD = "held"  # waiting for a reviewer; only its operator sees it
    REMOVED = "removed"  # by a reviewer: a tombstone wherever it reached
    WITHHELD = "withheld"  # removed while held: no one but its operator ever saw it


class CategoryRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    label: str
    entity: EntityKind
    # News organisations and news websites may originate news once they hold a licence.
    may_originate_news: bool = False


class BroadcastQuota(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    posts: int
    period_hours: int


class PublicAccountRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    categories: dict[str, CategoryRules]
    caps_per_identity: dict[str, int]  # by entity kind: individual, organisation
    broadcast_quota: dict[str, BroadcastQuota]  # by account type: subscription, service
    content_classes: tuple[str, ...]
    news_content_classes: tuple[str, ...]
    registration_number_types: Annotated[tuple[str, ...], msgspec.Meta(min_length=1)]
    news_check: NewsCheckRules = NewsCheckRules()


@dataclass(frozen=True, slots=True)
class RegistrationNumber:
    """An organisation's number in a public register, and which register."""

    type: str
    number: str


@dataclass(frozen=True, slots=True)
class Qualifications:
    entity_name: str | None
    registration: RegistrationNumber | None
    news_licence: str | None


def check_application(
    *,
    category: str,
    account_type: str,
    description: str,
    entity_name: str | None,
    registration: RegistrationNumber | None,
    news_licence: str | None,
    rules: PublicAccountRules,
    limits: Limits,
) -> tuple[CategoryRules, str, Qualifications]:
    """The category's rules, the cleaned description, and checked qualifications."""
    category_rules = rules.categories.get(category)
    if category_rules is None:
        raise InvalidInput(
            f"category must be one of: {', '.join(rules.categories)}",
            code=ErrorCode.CATEGORY_INVALID,
        )
    if account_type not in rules.broadcast_quota:
        raise InvalidInput(
            f"account_type must be one of: {', '.join(rules.broadcast_quota)}",
            code=ErrorCode.ACCOUNT_TYPE_INVALID,
        )
    text = clean_text(description, "description", limits.max_description_chars, required=False)
    return (
        category_rules,
        text,
        _qualifications(category_rules, entity_name, registration, news_licence, rules),
    )


def _qualifications(
    category: CategoryRules,
    entity_name: str | None,
    registration: RegistrationNumber | None,
    licence: str | None,
    rules: PublicAccountRules,
) -> Qualifications:
    licence = _clean_optional(licence, "news_licence", NEWS_LICENCE_MAX_CHARS)
    if category.entity == "individual":
        # An individual's account is filed under the verified person; no organisation papers.
        return Qualifications(entity_name=None, registration=None, news_licence=licence)
    name = _clean_optional(entity_name, "entity_name", ENTITY_NAME_MAX_CHARS)
    if name is None:
        raise PolicyRefusal(
            "an organisation's account needs the organisation's registered name (entity_name)",
            code=ErrorCode.ENTITY_NAME_REQUIRED,
        )
    return Qualifications(
        entity_name=name,
        registration=check_registration_number(registration, rules.registration_number_types),
        news_licence=licence,
    )


def check_registration_number(
    registration: RegistrationNumber | None, accepted: Sequence[str]
) -> RegistrationNumber:
    """A number of a register the pack accepts, well-formed with a correct check digit."""
    accepted_list = ", ".join(accepted)
    if registration is None or not registration.number.strip():
        raise PolicyRefusal(
            "an organisation's account needs its registration_number and "
            f"registration_number_type (accepted: {accepted_list})",
            code=ErrorCode.REGISTRATION_NUMBER_REQUIRED,
        )
    if registration.type not in accepted:
        raise PolicyRefusal(
            f"registration_number_type must be one of: {accepted_list}",
            code=ErrorCode.REGISTRATION_NUMBER_TYPE_NOT_ACCEPTED,
        )
    try:
        number = REGISTRATION_NUMBER_CHECKS[registration.type](registration.number)
    except StdnumError:
        number = None
    if number is None or len(number) > REGISTRATION_NUMBER_MAX_CHARS:
        raise PolicyRefusal(
            f"registration_number is not a valid {registration.type} number",
            code=ErrorCode.REGISTRATION_NUMBER_INVALID,
        )
    return RegistrationNumber(registration.type, number)


def allowed_entitlements(
    category: CategoryRules, qualifications: Qualifications
) -> tuple[str, ...]:
    """Originate only for licensed news organisations and sites; repost for other licensees."""
    if qualifications.news_licence is None:
        return (Entitlement.NONE,)
    if category.may_originate_news:
        return ENTITLEMENTS
    return (Entitlement.NONE, Entitlement.REPOST)


def check_entitlement(
    entitlement: str, category: CategoryRules, qualifications: Qualifications
) -> str:
    allowed = allowed_entitlements(category, qualifications)
    if entitlement not in allowed:
        raise PolicyRefusal(
            f"this account may be given news entitlement {', '.join(allowed)} only",
            code=ErrorCode.ENTITLEMENT_NOT_ALLOWED,
        )
    return entitlement


@dataclass(frozen=True, slots=True)
class SourcePost:
    """The post being re-published and the root of its chain (the original)."""

    root_post_id: int
    root_content_class: str
    root_entitlement: str  # the root's account's entitlement now


def check_news_gate(
    *,
    content_class: str,
    entitlement: str,
    source: SourcePost | None,
    rules: PublicAccountRules,
) -> None:
    """Current-affairs news: originated only by `originate` accounts; re-posted only by
    entitled accounts, and only from a chain whose original came from an `originate` account.
    Re-posting a news original is re-publishing news whatever class the re-post claims."""
    if content_class not in rules.content_classes:
        raise InvalidInput(
            f"content_class must be one of: {', '.join(rules.content_classes)}",
            code=ErrorCode.CONTENT_CLASS_INVALID,
        )
    republishes_news = (
        source is not None and source.root_content_class in rules.news_content_classes
    )
    if content_class not in rules.news_content_classes and not republishes_news:
        return
    if source is None:
        if entitlement != Entitlement.ORIGINATE:
            raise PolicyRefusal(
                "only accounts entitled to originate news may publish news",
                code=ErrorCode.NEWS_NOT_ENTITLED,
            )
        return
    if entitlement not in (Entitlement.REPOST, Entitlement.ORIGINATE):
        raise PolicyRefusal(
            "only accounts entitled to news may re-post news", code=ErrorCode.NEWS_NOT_ENTITLED
        )
    if (
        source.root_content_class not in rules.news_content_classes
        or source.root_entitlement != Entitlement.ORIGINATE
    ):
        raise PolicyRefusal(
            "news may only be re-posted from an original by an account entitled to originate it",
            code=ErrorCode.NEWS_NOT_ENTITLED,
        )


def news_check_applies(
    *, entitlement: str, content_class: str, source: SourcePost | None, rules: PublicAccountRules
) -> bool:
    """Whether a post that passed the news gate is read for news all the same: one from an
    account the pack does not exempt, not already (and rightly) published as news."""
    published_as_news = content_class in rules.news_content_classes or (
        source is not None and source.root_content_class in rules.news_content_classes
    )
    return (
        rules.news_check.enabled
        and entitlement not in rules.news_check.exempt_entitlements
        and not published_as_news
    )


def check_post(
    title: str, body: str, limits: Limits, *, body_required: bool = True
) -> tuple[str, str]:
    """A post's title and body; the body may be empty when the post carries media."""
    return (
        clean_text(title, "title", limits.max_post_title_chars, required=True),
        clean_text(body, "body", limits.max_post_body_chars, required=body_required),
    )


def quota_retry_after_ms(
    recent_post_times_ms: Sequence[int], quota: BroadcastQuota, now_ms: int
) -> int | None:
    """None while the account has quota left in the rolling period; else how long to wait.

    `recent_post_times_ms` are the account's posts within the period, oldest first."""
    if len(recent_post_times_ms) < quota.posts:
        return None
    period_ms = quota.period_hours * 3600 * 1000
    # The oldest post that keeps the account at its quota must leave the window first.
    blocking = recent_post_times_ms[len(recent_post_times_ms) - quota.posts]
    return max(blocking + period_ms - now_ms, 1)


def _clean_optional(value: str | None, field: TextField, max_chars: int) -> str | None:
    if value is None or not value.strip():
        return None
    return clean_text(value, field, max_chars, required=True)
