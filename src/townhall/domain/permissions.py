"""Who may do what: every permission a service checks, named once, and the roles that hold it.

Services ask `require(principal, Permission.X)` (services/principal.py); this table is the only
place a role is weighed. A role that holds no permission to change anything is read-only (the
supervising authority's auditor): it is refused every write as such, on every transport.
docs/permissions.md is generated from this table by tests/api/test_permissions.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from townhall.domain.accounts import Role
from townhall.domain.errors import ErrorCode, Forbidden

ROLES = (Role.USER, Role.REVIEWER, Role.ADMIN, Role.AUDITOR)


class Permission(StrEnum):
    ACT = "act"
    READ_IDENTITY_QUEUE = "read_identity_queue"
    REVIEW_IDENTITY = "review_identity"
    REVEAL_IDENTITY = "reveal_identity"
    READ_IDENTITY_ACCESS = "read_identity_access"
    BLACKLIST_IDENTITY = "blacklist_identity"
    READ_APPLICATIONS = "read_applications"
    REVIEW_PUBLIC_ACCOUNT = "review_public_account"
    READ_REACH = "read_reach"
    READ_REVIEW_QUEUE = "read_review_queue"
    CLAIM_CASE = "claim_case"
    TAKE_OVER_CASE = "take_over_case"
    DECIDE_CASE = "decide_case"
    DECIDE_ESCALATED_CASE = "decide_escalated_case"
    READ_STATEMENTS = "read_statements"
    READ_LEXICON = "read_lexicon"
    EDIT_LEXICON = "edit_lexicon"
    EXPORT_HASH_BANK = "export_hash_bank"
    RESCAN_POSTS = "rescan_posts"
    READ_SANCTIONS = "read_sanctions"
    APPLY_SANCTION = "apply_sanction"
    LIFT_SANCTION = "lift_sanction"
    APPLY_CLOSING_SANCTION = "apply_closing_sanction"
    LINK_IDENTITIES = "link_identities"
    READ_APPEALS = "read_appeals"
    DECIDE_APPEAL = "decide_appeal"
    READ_AUDIT = "read_audit"


@dataclass(frozen=True, slots=True)
class Grant:
    """The roles that hold a permission; `writes` when using it changes something."""

    roles: frozenset[str]
    writes: bool
    what: str


def _reads(roles: tuple[str, ...], what: str) -> Grant:
    return Grant(frozenset(roles), writes=False, what=what)


def _writes(roles: tuple[str, ...], what: str) -> Grant:
    return Grant(frozenset(roles), writes=True, what=what)


USER, REVIEWER, ADMIN, AUDITOR = ROLES
ACCOUNTS = (USER, REVIEWER, ADMIN)  # every role but the read-only one
# Reviewers work the desks, and administrators with them (escalated cases are theirs) -- except
# the identity desk: the administrator who reads the record of every reveal is not the one who
# reveals.
DESK = (REVIEWER, ADMIN)
OVERSIGHT = (AUDITOR, ADMIN)  # the supervising authority's views

TABLE: Mapping[Permission, Grant] = MappingProxyType(
    {
        Permission.ACT: _writes(
            ACCOUNTS,
            "change anything as an account: open chats and groups, send, find people, befriend,"
            " block, subscribe, publish,"
            " forward, report, appeal, edit the profile, confirm the phone, accept the"
            " agreement, deregister",
        ),
        Permission.READ_IDENTITY_QUEUE: _reads(
            (REVIEWER,), "read the identity review queue (handles and masked identities)"
        ),
        Permission.REVIEW_IDENTITY: _writes(
            (REVIEWER,), "claim and decide an identity under review"
        ),
        Permission.REVEAL_IDENTITY: _reads(
            (REVIEWER,), "read a plaintext identity, with a reason (each look is recorded)"
        ),
        Permission.READ_IDENTITY_ACCESS: _reads((ADMIN,), "read the record of every reveal"),
        Permission.BLACKLIST_IDENTITY: _writes(
            (ADMIN,), "refuse an identity every new registration"
        ),
        Permission.READ_APPLICATIONS: _reads(
            DESK, "read public-account applications and accounts not approved"
        ),
        Permission.REVIEW_PUBLIC_ACCOUNT: _writes(
            DESK, "approve or reject a public-account application"
        ),
        Permission.READ_REACH: _reads(
            DESK, "read reach escalations, a forward's lineage and an author's totals"
        ),
        Permission.READ_REVIEW_QUEUE: _reads(
            DESK, "read the review queue, its counts and its cases (each look is recorded)"
        ),
        Permission.CLAIM_CASE: _writes(DESK, "claim a review case, or give it back"),
        Permission.TAKE_OVER_CASE: _writes(
            (ADMIN,), "claim or decide a case another reviewer has claimed"
        ),
        Permission.DECIDE_CASE: _writes(DESK, "decide review cases"),
        Permission.DECIDE_ESCALATED_CASE: _writes((ADMIN,), "claim or decide an escalated case"),
        Permission.READ_STATEMENTS: _reads(DESK, "read the statements of reasons"),
        Permission.READ_LEXICON: _reads(DESK, "read the lexicon and try a text against it"),
        Permission.EDIT_LEXICON: _writes(
            (ADMIN,), "add and remove lexicon terms; import image hash lists, remove a banked hash"
        ),
        Permission.EXPORT_HASH_BANK: _reads((ADMIN,), "export the image hash bank as a hash list"),
        Permission.RESCAN_POSTS: _writes(
            (ADMIN,), "re-check published posts with the lexicon and hash bank as they are now"
        ),
        Permission.READ_SANCTIONS: _reads(
            DESK, "read sanctions and a subject's standing (points, band, history)"
        ),
        Permission.APPLY_SANCTION: _writes(DESK, "apply a sanction"),
        Permission.LIFT_SANCTION: _writes(DESK, "lift a sanction early"),
        Permission.APPLY_CLOSING_SANCTION: _writes(
            (ADMIN,), "apply or lift `close`, `close_group` and `blacklist_identity`"
        ),
        Permission.LINK_IDENTITIES: _writes(
            DESK, "record that two accounts' identities are one person's, or undo it"
        ),
        Permission.READ_APPEALS: _reads(DESK, "read the appeal queue (each look is recorded)"),
        Permission.DECIDE_APPEAL: _writes(DESK, "uphold or reverse an appeal"),
        Permission.READ_AUDIT: _reads(
            OVERSIGHT,
            "read the authority's views: filings, cases, sanctions, reports, escalations,"
            " figures and the audit log",
        ),
    }
)

READ_ONLY_ROLES = frozenset(
    role for role in ROLES if not any(role in g.roles for g in TABLE.values() if g.writes)
)


def permits(role: str, permission: Permission) -> bool:
    return role in TABLE[permission].roles


def permissions_of(role: str) -> list[Permission]:
    """Every permission `role` holds, in the table's order."""
    return [permission for permission, grant in TABLE.items() if role in grant.roles]


def refusal(role: str, permission: Permission) -> Forbidden:
    """Why `role` may not: a read-only role asked to change something, or a role without it."""
    grant = TABLE[permission]
    if grant.writes and role in READ_ONLY_ROLES:
        return read_only_refusal(role)
    holders = " or ".join(r for r in ROLES if r in grant.roles)
    return Forbidden(f"this needs the {holders} role", code=ErrorCode.ROLE_REQUIRED)


def read_only_refusal(role: str) -> Forbidden:
    return Forbidden(
        f"the {role} role is read-only: it may not change anything", code=ErrorCode.READ_ONLY_ROLE
    )
