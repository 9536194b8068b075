"""The enforcement ladder: sanctions, what each one withholds, strike points that decay, the
credit score and its bands, and the rung recommended next (REGULATION.md, "Enforcement ladder").

A sanction is applied by staff to a user, a public account or a group; one case gives at most
one strike. Strike points come from the severity of the violation and fade linearly over the
pack's decay window, so an old violation weighs less than a fresh one and none weighs forever.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import msgspec


class SubjectType(StrEnum):
    USER = "user"
    PUBLIC_ACCOUNT = "public_account"
    GROUP = "group"


class Kind(StrEnum):
    WARNING = "warning"
    LIMIT_PUBLICATION = "limit_publication"
    SUSPEND_UPDATES = "suspend_updates"
    CLOSE = "close"
    BLACKLIST_IDENTITY = "blacklist_identity"
    SUSPEND_POSTING = "suspend_posting"  # a group: no member may post
    CLOSE_GROUP = "close_group"
    REMOVE_RIGHTS = "remove_rights"  # a group owner or admin becomes a plain member


KINDS_BY_SUBJECT: Mapping[str, tuple[str, ...]] = {
    SubjectType.USER: (
        Kind.WARNING,
        Kind.LIMIT_PUBLICATION,
        Kind.SUSPEND_UPDATES,
        Kind.CLOSE,
        Kind.BLACKLIST_IDENTITY,
    ),
    SubjectType.PUBLIC_ACCOUNT: (
        Kind.WARNING,
        Kind.LIMIT_PUBLICATION,
        Kind.SUSPEND_UPDATES,
        Kind.CLOSE,
    ),
    SubjectType.GROUP: (Kind.WARNING, Kind.SUSPEND_POSTING, Kind.CLOSE_GROUP, Kind.REMOVE_RIGHTS),
}
# These must say when they end; the others are open-ended until lifted (or, for warnings and
# removed rights, take effect once).
NEEDS_END = frozenset({Kind.SUSPEND_UPDATES, Kind.SUSPEND_POSTING})
MAY_END = NEEDS_END | {Kind.LIMIT_PUBLICATION}
# A prior warning is required before these where the pack says so (EU DSA art. 23).
SUSPENSIONS = frozenset(
    {
        Kind.SUSPEND_UPDATES,
        Kind.CLOSE,
        Kind.BLACKLIST_IDENTITY,
        Kind.SUSPEND_POSTING,
        Kind.CLOSE_GROUP,
    }
)
# The rungs in order of severity, for users and public accounts; groups have their own.
RUNG_ORDER = (
    Kind.WARNING,
    Kind.LIMIT_PUBLICATION,
    Kind.SUSPEND_UPDATES,
    Kind.CLOSE,
    Kind.BLACKLIST_IDENTITY,
)
GROUP_RUNGS: dict[str, str] = {
    Kind.WARNING: Kind.WARNING,
    Kind.LIMIT_PUBLICATION: Kind.SUSPEND_POSTING,
}
MAX_DAYS = 3650


class SanctionState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"  # its end time passed
    LIFTED = "lifted"  # staff ended it early
    REVERSED = "reversed"  # an appeal succeeded: as if never applied, its strike voided


class AppealState(StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"  # the decision stands
    REVERSED = "reversed"


class AppealVerdict(StrEnum):
    UPHOLD = "uphold"  # the decision stands
    REVERSE = "reverse"


class Capability:
    """What a sanction or a credit band can withhold from a user."""

    SEND_DIRECT = "send_direct"
    SEND_GROUP = "send_group"  # includes forwarding into a group
    CREATE_GROUP = "create_group"
    PUBLISH_POST = "publish_post"
    UPDATE_PROFILE = "update_profile"
    APPLY_PUBLIC_ACCOUNT = "apply_public_account"
    # Everything else a user does that writes: open a chat, join a group, subscribe, report,
    # confirm a phone, accept the agreement. Only a closed account loses it.
    INTERACT = "interact"


CAPABILITIES = frozenset(
    value for key, value in vars(Capability).items() if not key.startswith("_")
)
# Limited publication keeps one-to-one chat; a suspension stops every update until it ends.
_PUBLISHING = frozenset(
    {
        Capability.SEND_GROUP,
        Capability.CREATE_GROUP,
        Capability.PUBLISH_POST,
        Capability.APPLY_PUBLIC_ACCOUNT,
    }
)
WITHHELD_BY_USER_SANCTION: Mapping[str, frozenset[str]] = {
    Kind.WARNING: frozenset(),
    Kind.LIMIT_PUBLICATION: _PUBLISHING,
    # A suspension stops every update; the account still reads, subscribes and reports.
    Kind.SUSPEND_UPDATES: CAPABILITIES - {Capability.INTERACT},
    # A closed account may still log in, to read its notices and appeal (and deregister), and
    # keep its account safe (log out, change its password, end its sessions); it can do nothing
    # else.
    Kind.CLOSE: CAPABILITIES,
    Kind.BLACKLIST_IDENTITY: CAPABILITIES,
}


class CreditBand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    min_score: int
    withheld: tuple[str, ...] = ()


class LadderRung(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    min_points: float  # decayed points, this case's strike included, that reach this rung
    sanction: str
    days: int | None = None


class EnforcementRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    ground: str  # the legal or terms ground named in every statement of reasons
    strike_points: dict[str, int]  # severity -> points
    decay_days: int
    ladder: tuple[LadderRung, ...]
    credit_start: int
    credit_per_point: float
    credit_bands: tuple[CreditBand, ...]
    appeal_window_days: int
    # How long after a user's account is closed its holder may register again while the close
    # stands (0: not until it is lifted). Counted from the close, on the person's identity.
    close_bars_return_days: int
    require_warning_before_suspension: bool
    dsa_statements: bool  # export DSA statements of reasons (EU DSA art. 24(5))


def check_rules(rules: EnforcementRules, severities: tuple[str, ...]) -> str | None:
    """The first problem with a pack's enforcement section, as `key: what`, or None."""
    if set(rules.strike_points) != set(severities):
        return f"enforcement.strike_points: must list exactly {', '.join(severities)}"
    for severity, points in rules.strike_points.items():
        if points < 0:
            return f"enforcement.strike_points.{severity}: must be >= 0"
    for key in ("decay_days", "appeal_window_days", "credit_start"):
        if getattr(rules, key) < 1:
            return f"enforcement.{key}: must be >= 1"
    if not 0 <= rules.close_bars_return_days <= MAX_DAYS:
        return f"enforcement.close_bars_return_days: must be 0-{MAX_DAYS}"
    if rules.credit_per_point < 0:
        return "enforcement.credit_per_point: must be >= 0"
    if not rules.ladder:
        return "enforcement.ladder: lists no rung"
    for position, rung in enumerate(rules.ladder):
        problem = _check_rung(rung)
        if problem is not None:
            return f"enforcement.ladder[{position}].{problem}"
    if [r.min_points for r in rules.ladder] != sorted(r.min_points for r in rules.ladder):
        return "enforcement.ladder: rungs must be in order of min_points"
    if not rules.credit_bands or min(b.min_score for b in rules.credit_bands) > 0:
        return "enforcement.credit_bands: needs a band with min_score 0 or less"
    for position, band in enumerate(rules.credit_bands):
        unknown = sorted(set(band.withheld) - CAPABILITIES)
        if unknown:
            return f"enforcement.credit_bands[{position}].withheld: unknown {unknown[0]!r}"
    return None


def _check_rung(rung: LadderRung) -> str | None:
    if rung.sanction not in RUNG_ORDER:
        return f"sanction: {str(rung.sanction)!r} is not one of {', '.join(RUNG_ORDER)}"
    if rung.min_points < 0:
        return "min_points: must be >= 0"
    if rung.sanction in NEEDS_END and rung.days is None:
        return "days: a suspension needs its length"
    if rung.days is not None and (rung.sanction not in MAY_END or not 1 <= rung.days <= MAX_DAYS):
        return f"days: only {', '.join(sorted(MAY_END))} take 1-{MAX_DAYS} days"
    return None


@dataclass(frozen=True, slots=True)
class Strike:
    points: int
    at_ms: int


DAY_MS = 86_400_000


def decayed_points(strikes: Iterable[Strike], now_ms: int, decay_days: int) -> float:
    """Each strike's points fade linearly to nothing over the decay window."""
    window = decay_days * DAY_MS
    total = 0.0
    for strike in strikes:
        age = max(0, now_ms - strike.at_ms)
        if age < window:
            total += strike.points * (1 - age / window)
    return round(total, 2)


def credit_score(points: float, rules: EnforcementRules) -> int:
    return max(0, round(rules.credit_start - points * rules.credit_per_point))


def band_of(score: int, rules: EnforcementRules) -> CreditBand:
    """The best band the score reaches."""
    reached = [band for band in rules.credit_bands if score >= band.min_score]
    return max(reached, key=lambda band: band.min_score)


@dataclass(frozen=True, slots=True)
class Recommendation:
    sanction: str
    days: int | None
    points_now: float  # decayed points before this case's strike
    points_after: float
    why: str


def recommend(
    *,
    subject_type: str,
    points_now: float,
    severity: str | None,
    warned_before: bool,
    rules: EnforcementRules,
) -> Recommendation:
    """The highest rung the points reach once this case's strike is added; a subject never
    warned gets a warning first where the pack requires one before a suspension."""
    strike = rules.strike_points.get(severity, 0) if severity else 0
    after = round(points_now + strike, 2)
    rung = max(
        (r for r in rules.ladder if r.min_points <= after),
        key=lambda r: r.min_points,
        default=rules.ladder[0],
    )
    sanction, days = rung.sanction, rung.days
    why = f"{after:g} strike points reach the {sanction} rung (from {rung.min_points:g})"
    if subject_type != SubjectType.USER:
        sanction, days = _for_subject(subject_type, sanction, days)
    if warning_required(sanction, warned_before, rules):
        sanction, days = Kind.WARNING, None
        why += "; the pack requires a prior warning before a suspension"
    return Recommendation(sanction, days, points_now, after, why)


def _for_subject(subject_type: str, sanction: str, days: int | None) -> tuple[str, int | None]:
    """A user's rung as the nearest sanction a public account or a group can take."""
    if subject_type == SubjectType.PUBLIC_ACCOUNT:
        if sanction == Kind.BLACKLIST_IDENTITY:
            return Kind.CLOSE, None
        return sanction, days
    if sanction in GROUP_RUNGS:
        return GROUP_RUNGS[sanction], (None if sanction == Kind.WARNING else days or 7)
    if sanction == Kind.SUSPEND_UPDATES:
        return Kind.SUSPEND_POSTING, days
    return Kind.CLOSE_GROUP, None


def warning_required(kind: str, warned_before: bool, rules: EnforcementRules) -> bool:
    return kind in SUSPENSIONS and rules.require_warning_before_suspension and not warned_before
