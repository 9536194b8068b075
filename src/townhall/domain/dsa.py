"""Statements of reasons in the shape the EU DSA Transparency Database takes them (DSA arts. 17
and 24(5)): what was restricted, on which ground, on what facts, detected and decided how — and
nothing personal: no user id, handle or name, and a `puid` that names the decision, not a user.

The vocabulary (DECISION_VISIBILITY_…, STATEMENT_CATEGORY_…) is the database's own; Townhall's
sanctions, removals and pre-publication checks are mapped onto it here. Pure: the rows come
from store/regulator.py.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from townhall.domain.enforcement import Kind, SubjectType
from townhall.domain.moderation import IMAGE_MATCH, Surface
from townhall.domain.moderation import Decision as Screening
from townhall.domain.oversight import SANCTION_KINDS, utc_date

BATCH = 100  # statements per file: what the database's bulk endpoint takes in one call
FACTS_MAX_CHARS = 5000
EXPLANATION_MAX_CHARS = 2000
GROUND_MAX_CHARS = 500


class Source:
    """Where a statement comes from; part of what its puid hashes."""

    SANCTION = "sanction"
    CASE = "case"  # content a reviewer removed
    SCREEN = "screen"  # a hold or a block of the automated check before publication


class Visibility:
    REMOVED = "DECISION_VISIBILITY_CONTENT_REMOVED"
    DISABLED = "DECISION_VISIBILITY_CONTENT_DISABLED"


class Provision:
    PARTIAL_SUSPENSION = "DECISION_PROVISION_PARTIAL_SUSPENSION"
    PARTIAL_TERMINATION = "DECISION_PROVISION_PARTIAL_TERMINATION"


class AccountDecision:
    SUSPENDED = "DECISION_ACCOUNT_SUSPENDED"
    TERMINATED = "DECISION_ACCOUNT_TERMINATED"


class Automated:
    FULLY = "AUTOMATED_DECISION_FULLY"
    PARTIALLY = "AUTOMATED_DECISION_PARTIALLY"
    NOT_AUTOMATED = "AUTOMATED_DECISION_NOT_AUTOMATED"


ACCOUNT_TYPE_PRIVATE = "ACCOUNT_TYPE_PRIVATE"
ACCOUNT_TYPE_BUSINESS = "ACCOUNT_TYPE_BUSINESS"
GROUND_ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
GROUND_INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
SOURCE_NOTICE = "SOURCE_ARTICLE_16"  # a user's report
SOURCE_VOLUNTARY = "SOURCE_VOLUNTARY"  # the platform's own checks and staff
CONTENT_TYPE_TEXT = "CONTENT_TYPE_TEXT"  # Townhall carries text only
OTHER_CATEGORY = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
# A decision here applies wherever the service is offered: the whole Union.
EU_MEMBER_STATES = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip

# Pack category names onto the database's categories; a name not listed (pornography and
# gambling are matters of the terms, not of EU law as such) is "other violation of the terms".
CATEGORY_BY_NAME = {
    "terrorism": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "extremism": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "violence": "STATEMENT_CATEGORY_VIOLENCE",
    "hate_speech": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "defamation": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "fraud": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "child_safety": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "self_harm": "STATEMENT_CATEGORY_SELF_HARM",
    "privacy": "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "intellectual_property": "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "elections": "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "disinformation": "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "rumour": "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
}


# Every kind of sanction but the warning restricts something (art. 17(1)); a warning gets none.
RESTRICTING_KINDS = tuple(kind for kind in SANCTION_KINDS if kind != Kind.WARNING)
# The automated check's decisions that restrict: a flag delivers and only queues for review.
RESTRICTING_SCREENS = (Screening.HOLD, Screening.BLOCK)
HASH_MATCH = "hash"  # a reason's `how` when the text was removed before (services/moderation.py)
# What the check matched content against, by a reason's `how`; the lexicon otherwise.
MATCHED_AGAINST = {
    HASH_MATCH: "a text removed earlier",
    IMAGE_MATCH: "the image hash bank (images removed earlier, industry hash lists)",
}
SURFACE_WORDS: dict[str, str] = {
    Surface.DIRECT: "a direct message",
    Surface.GROUP: "a group message",
    Surface.PUBLIC_POST: "a public-account post",
    Surface.NAME: "a name or profile text",
}


@dataclass(frozen=True, slots=True)
class Restriction:
    """What was restricted: one of the database's decision fields, and when it ends."""

    visibility: str | None = None
    provision: str | None = None
    account: str | None = None
    ends_at: int | None = None  # ms; None: indefinite or once-off


@dataclass(frozen=True, slots=True)
class Decision:
    source: str
    source_id: int
    restriction: Restriction
    ground: str  # the legal or terms ground named
    illegal: bool  # the ground is the law rather than the terms
    facts: str  # already redacted
    categories: tuple[str, ...]
    content_at: int  # when the content was posted (or the case opened), ms
    applied_at: int  # ms
    account_type: str | None = None
    automated_detection: bool = False
    automated_decision: str = Automated.NOT_AUTOMATED
    reported: bool = False  # a user's notice brought it


def sanction_restriction(subject_type: str, kind: str, ends_at: int | None) -> Restriction | None:
    """A sanction as the database's decision fields; a warning restricts nothing: None."""
    if subject_type == SubjectType.GROUP:
        if kind == Kind.SUSPEND_POSTING:
            return Restriction(provision=Provision.PARTIAL_SUSPENSION, ends_at=ends_at)
        if kind in (Kind.CLOSE_GROUP, Kind.REMOVE_RIGHTS):
            return Restriction(provision=Provision.PARTIAL_TERMINATION, ends_at=ends_at)
        return None
    if kind == Kind.LIMIT_PUBLICATION:
        return Restriction(provision=Provision.PARTIAL_SUSPENSION, ends_at=ends_at)
    if kind == Kind.SUSPEND_UPDATES:
        return Restriction(account=AccountDecision.SUSPENDED, ends_at=ends_at)
    if kind in (Kind.CLOSE, Kind.BLACKLIST_IDENTITY):
        return Restriction(account=AccountDecision.TERMINATED, ends_at=ends_at)
    return None


def screen_restriction(decision: str) -> Restriction:
    """A hold keeps the text from everyone but its author until a reviewer decides; a block
    refuses it outright."""
    if decision == Screening.HOLD:
        return Restriction(visibility=Visibility.DISABLED)
    return Restriction(visibility=Visibility.REMOVED)


def screen_facts(surface: str, decision: str, reasons: list[dict[str, Any]]) -> str:
    """The facts of an automated decision, from its reasons' categories and severities only:
    the matched excerpt is the author's own text and stays out."""
    found = sorted({f"{r['category']} ({r['severity']})" for r in reasons}) or ["a listed term"]
    means = {MATCHED_AGAINST.get(r.get("how", ""), "the lexicon") for r in reasons}
    how = " and ".join(sorted(means)) or "the lexicon"
    what = SURFACE_WORDS.get(surface, "a text")
    if decision == Screening.HOLD:
        outcome = "held it for review: only its author sees it until a reviewer decides"
    else:
        outcome = "refused it: nothing was stored or delivered"
    return (
        f"The automated check before publication matched {what} against {how} "
        f"({', '.join(found)}) and {outcome}."
    )


def dsa_category(categories: Iterable[str]) -> str:
    """The first of the names (in order) the database has a category for."""
    for name in categories:
        if name in CATEGORY_BY_NAME:
            return CATEGORY_BY_NAME[name]
    return OTHER_CATEGORY


def puid(key: bytes, source: str, source_id: int) -> str:
    """A keyed hash of the decision: stable across exports (so a statement is never filed twice)
    and not reversible, without the key, to the row or to whom it concerned."""
    digest = hmac.new(key, f"{source}:{source_id}".encode(), hashlib.sha256).hexdigest()
    return f"th-{digest[:40]}"


# Long digit runs (phone, document and account numbers) and e-mail addresses.
_NUMBERS = re.compile(r"\+?\d[\d\s().-]*\d[Xx]?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
MIN_DIGITS_REDACTED = 7
MIN_NAME_CHARS = 3  # shorter names would blank ordinary words
REDACTED = "[redacted]"


def redact(text: str, names: Iterable[str | None] = ()) -> str:
    """Staff write the facts in free text: take out the names of the people concerned (their
    handles and display names), e-mail addresses and long numbers before a statement leaves."""
    text = _EMAIL.sub(REDACTED, text)
    # Longest first, and before numbers: a handle holding digits is taken out whole.
    for name in sorted({n for n in names if n and len(n) >= MIN_NAME_CHARS}, key=len, reverse=True):
        text = re.sub(re.escape(name), REDACTED, text, flags=re.IGNORECASE)
    return _NUMBERS.sub(_number_redacted, text)


def _number_redacted(found: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in found[0])
    return REDACTED if digits >= MIN_DIGITS_REDACTED else found[0]


def render(decision: Decision, key: bytes) -> dict[str, Any]:
    restriction = decision.restriction
    end = None if restriction.ends_at is None else utc_date(restriction.ends_at)
    return {
        "puid": puid(key, decision.source, decision.source_id),
        "decision_visibility": [restriction.visibility] if restriction.visibility else None,
        "end_date_visibility_restriction": end if restriction.visibility else None,
        "decision_monetary": None,  # Townhall pays no one
        "end_date_monetary_restriction": None,
        "decision_provision": restriction.provision,
        "end_date_service_restriction": end if restriction.provision else None,
        "decision_account": restriction.account,
        "end_date_account_restriction": end if restriction.account else None,
        "account_type": decision.account_type,
        "decision_ground": GROUND_ILLEGAL if decision.illegal else GROUND_INCOMPATIBLE,
        **_ground_fields(decision),
        "decision_facts": decision.facts[:FACTS_MAX_CHARS],
        "category": dsa_category(decision.categories),
        "content_type": [CONTENT_TYPE_TEXT],
        "content_date": utc_date(decision.content_at),
        "application_date": utc_date(decision.applied_at),
        "territorial_scope": list(EU_MEMBER_STATES),
        "source_type": SOURCE_NOTICE if decision.reported else SOURCE_VOLUNTARY,
        "automated_detection": "Yes" if decision.automated_detection else "No",
        "automated_decision": decision.automated_decision,
    }


def _ground_fields(decision: Decision) -> dict[str, str]:
    ground = decision.ground[:GROUND_MAX_CHARS]
    explanation = decision.facts[:EXPLANATION_MAX_CHARS]
    if decision.illegal:
        return {"illegal_content_legal_ground": ground, "illegal_content_explanation": explanation}
    return {
        "incompatible_content_ground": ground,
        "incompatible_content_explanation": explanation,
    }
