"""Handles, display names, passwords and the shape of the identity given at registration."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.accounts import (
    ID_TYPES,
    IDENTITY_FIELD_MAX_CHARS,
    IdentityClaim,
    check_display_name,
    check_identity_shape,
    check_password,
    normalize_handle,
)
from townhall.domain.errors import InvalidInput, PolicyRefusal
from townhall.domain.limits import Limits

LIMITS = Limits()
CLAIM = IdentityClaim(
    legal_name="张三", id_type="cn_ric", id_number="11010519491231002X", phone="+8613800138000"
)


@pytest.mark.parametrize(
    ("given_handle", "expected"),
    [
        ("alice", "alice"),
        ("Alice", "alice"),
        ("  ALICE  ", "alice"),
        ("bob_the.builder-2", "bob_the.builder-2"),
        ("abc", "abc"),
        ("a" * 32, "a" * 32),
    ],
)
def test_handles_are_case_insensitive_and_trimmed(given_handle: str, expected: str) -> None:
    assert normalize_handle(given_handle) == expected


@pytest.mark.parametrize(
    "bad_handle",
    ["", "ab", "a" * 33, "1alice", "_alice", "al ice", "alice!", "алиса", "ali\u0000ce", "张三丰"],
)
def test_handles_outside_the_pattern_are_refused(bad_handle: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalize_handle(bad_handle)
    assert refused.value.code == "handle_invalid"


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{2,31}", fullmatch=True))
def test_any_case_of_a_handle_names_the_same_account(handle: str) -> None:
    normalized = normalize_handle(handle)
    assert normalized == handle.lower()
    assert normalize_handle(handle.upper()) == normalized
    assert normalize_handle(normalized) == normalized


def test_display_name_is_trimmed() -> None:
    assert check_display_name("  Alice Liddell ", LIMITS) == "Alice Liddell"


def test_display_name_may_hold_any_script_and_emoji() -> None:
    assert check_display_name("张三 🐼", LIMITS) == "张三 🐼"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "display_name_invalid"),
        ("   ", "display_name_invalid"),
        ("bell\u0007", "display_name_invalid"),
        ("two\nlines", "display_name_invalid"),
        ("x" * 65, "display_name_too_long"),
    ],
)
def test_bad_display_names_are_refused(name: str, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_display_name(name, LIMITS)
    assert refused.value.code == code


def test_display_name_limit_is_the_configured_one() -> None:
    assert check_display_name("x" * 64, LIMITS) == "x" * 64
    with pytest.raises(InvalidInput):
        check_display_name("x" * 11, Limits(max_display_name_chars=10))


@pytest.mark.parametrize("password", ["x" * 8, "x" * 256, "密码密码密码密码"])
def test_passwords_of_8_to_256_characters_are_accepted(password: str) -> None:
    check_password(password)


@pytest.mark.parametrize("password", ["", "x" * 7, "x" * 257])
def test_passwords_outside_8_to_256_characters_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_password(password)
    assert refused.value.code == "password_invalid"


def test_identity_values_are_trimmed() -> None:
    claim = IdentityClaim(" 张三 ", "cn_ric", " 11010519491231002X\t", " +8613800138000 ")
    assert check_identity_shape(claim) == CLAIM


@pytest.mark.parametrize("id_type", sorted(ID_TYPES))
def test_every_known_document_type_is_accepted(id_type: str) -> None:
    claim = IdentityClaim("Zhang San", id_type, "E12345678", "+8613800138000")
    assert check_identity_shape(claim).id_type == id_type


@pytest.mark.parametrize(
    ("claim", "code"),
    [
        (IdentityClaim("张三", "drivers_license", "X1", "+1"), "id_type_invalid"),
        (IdentityClaim("张三", "CN_RIC", "X1", "+1"), "id_type_invalid"),
        (IdentityClaim("   ", "cn_ric", "X1", "+1"), "identity_invalid"),
        (IdentityClaim("张三", "cn_ric", "", "+1"), "identity_invalid"),
        (IdentityClaim("张三", "cn_ric", "X1", " "), "identity_invalid"),
        (IdentityClaim("张\u0000三", "cn_ric", "X1", "+1"), "identity_invalid"),
        (IdentityClaim("张三", "cn_ric", "X" * 129, "+1"), "identity_invalid"),
    ],
)
def test_malformed_identities_are_refused(claim: IdentityClaim, code: str) -> None:
    with pytest.raises(PolicyRefusal) as refused:
        check_identity_shape(claim)
    assert refused.value.code == code


def test_identity_field_limit_is_inclusive() -> None:
    claim = IdentityClaim("张" * IDENTITY_FIELD_MAX_CHARS, "passport", "E1", "+1")
    assert check_identity_shape(claim).legal_name == "张" * IDENTITY_FIELD_MAX_CHARS


def test_refusing_an_identity_never_repeats_its_values() -> None:
    claim = IdentityClaim("张三", "cn_ric", "11010519491231002X", "+86 138\u00070013 8000")
    with pytest.raises(PolicyRefusal) as refused:
        check_identity_shape(claim)
    assert "phone" in refused.value.message
    for value in ("张三", "11010519491231002X", "138"):
        assert value not in str(refused.value)


def test_identity_repr_hides_the_personal_data() -> None:
    shown = repr(CLAIM) + str(CLAIM) + f"{CLAIM}" + repr([CLAIM])
    assert "cn_ric" in shown
    for secret in ("张三", "11010519491231002X", "+8613800138000", "8613800138000"):
        assert secret not in shown


def test_identity_round_trips_through_its_dict() -> None:
    assert IdentityClaim(**CLAIM.as_dict()) == CLAIM
