"""The permission table: who is read-only, and how a refusal reads."""

from __future__ import annotations

from townhall.domain.accounts import Role
from townhall.domain.permissions import (
    READ_ONLY_ROLES,
    ROLES,
    TABLE,
    Permission,
    permits,
    refusal,
)


def test_the_auditor_is_the_one_role_that_changes_nothing() -> None:
    assert set(READ_ONLY_ROLES) == {Role.AUDITOR}
    writing = [p for p, grant in TABLE.items() if grant.writes]
    assert not any(permits(Role.AUDITOR, p) for p in writing)
    assert all(permits(role, Permission.ACT) for role in ROLES if role != Role.AUDITOR)
    assert permits(Role.AUDITOR, Permission.READ_AUDIT)


def test_every_permission_has_a_holder_and_names_only_known_roles() -> None:
    assert set(TABLE) == set(Permission)
    for grant in TABLE.values():
        assert grant.roles and grant.roles <= set(ROLES)
        assert grant.what


def test_a_refusal_says_read_only_to_a_read_only_write_and_names_the_role_otherwise() -> None:
    assert refusal(Role.AUDITOR, Permission.DECIDE_CASE).code == "read_only_role"
    assert refusal(Role.AUDITOR, Permission.ACT).code == "read_only_role"
    assert refusal(Role.AUDITOR, Permission.READ_REVIEW_QUEUE).code == "role_required"
    needs_admin = refusal(Role.REVIEWER, Permission.APPLY_CLOSING_SANCTION)
    assert (needs_admin.code, needs_admin.message) == ("role_required", "this needs the admin role")
    desk = refusal(Role.USER, Permission.DECIDE_CASE)
    assert (desk.code, desk.message) == ("role_required", "this needs the reviewer or admin role")
