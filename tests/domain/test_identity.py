"""Real-name rules: each document's checks, names, phones, the minimum age, masks, no data leaks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.cn import ric

from townhall.domain.accounts import IdentityClaim
from townhall.domain.errors import DomainError, PolicyRefusal
from townhall.domain.identity import (
    CHECKED_ID_TYPES,
    CheckedIdentity,
    IdentityRejected,
    IdentityRequirement,
    _split_e164,
    age_on,
    blind_index_input,
    check_identity,
    mask_id_number,
    mask_legal_name,
    mask_phone,
    provider_finding,
    status_at_registration,
    unmet_requirement,
)
from townhall.domain.policy import IdentityRules

TODAY = date(2025, 6, 1)
RULES = IdentityRules(
    accepted_id_types=("cn_ric", "passport", "hk_macau_permit"),
    minimum_age_years=14,
    accounts_per_identity=1,
    verification_mode="auto",
    retention_days_after_deregistration=180,
    requirements={},
)


def cn_ric(region: str, birth: date, sequence: str = "001") -> str:
    """A number that passes every check: stdnum computes the check digit over the first 17."""
    body = f"{region}{birth:%Y%m%d}{sequence}"
    return body + ric.calc_check_digit(body + "0")


def with_bad_check_digit(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


ZHANG = IdentityClaim(
    legal_name="张三",
    id_type="cn_ric",
    id_number=cn_ric("110105", date(1990, 3, 7)),
    phone="+86 138 0013 8000",
)
SMITH = IdentityClaim(
    legal_name="Anne-Marie O'Brien",
    id_type="passport",
    id_number="E12345678",
    phone="+44 20 7946 0958",
)
CHAN = IdentityClaim(
    legal_name="陈大文", id_type="hk_macau_permit", id_number="H12345678", phone="+852 9123 4567"
)


def check(
    claim: IdentityClaim, *, today: date = TODAY, rules: IdentityRules = RULES
) -> CheckedIdentity:
    return check_identity(claim, rules, today=today, phone_region="CN")


def refusal_code(claim: IdentityClaim, *, today: date = TODAY, rules: IdentityRules = RULES) -> str:
    with pytest.raises(DomainError) as caught:
        check(claim, today=today, rules=rules)
    return caught.value.code


# --- Resident Identity Card -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "birth"),
    [
        ("110105", date(1949, 12, 31)),  # Beijing, Chaoyang
        ("310104", date(1985, 7, 1)),  # Shanghai, Xuhui
        ("440305", date(2000, 2, 29)),  # Shenzhen, Nanshan; a leap day
        ("510107", date(1995, 11, 30)),  # Chengdu, Wuhou
    ],
)
def test_valid_cards_from_several_regions_pass(region: str, birth: date) -> None:
    number = cn_ric(region, birth)
    checked = check(replace(ZHANG, id_number=number))
    assert checked.claim.id_number == number
    assert checked.birth_date == birth


def test_a_card_ending_in_x_may_be_typed_in_lower_case_and_with_spaces() -> None:
    checked = check(replace(ZHANG, id_number=" 110105 19491231 002x "))
    assert checked.claim.id_number == "11010519491231002X"


@pytest.mark.parametrize(
    ("region", "birth"),
    [("440305", date(1975, 5, 4)), ("510107", date(1968, 11, 30))],
)
def test_a_county_created_after_the_birth_is_a_known_region(region: str, birth: date) -> None:
    # The code is where the holder was registered when the card was issued, not where born.
    assert check(replace(ZHANG, id_number=cn_ric(region, birth))).birth_date == birth


def test_full_width_digits_from_a_chinese_input_method_are_read_as_digits() -> None:
    number = ZHANG.id_number.translate({ord(d): chr(ord(d) + 0xFEE0) for d in "0123456789"})
    assert check(replace(ZHANG, id_number=number)).claim.id_number == ZHANG.id_number


@pytest.mark.parametrize(
    ("id_number", "code"),
    [
        ("11010519491231002", "id_number_invalid"),  # 17 characters
        ("1101051949123100211", "id_number_invalid"),  # 19 characters
        ("1101051949123100X2", "id_number_invalid"),  # X before the end
        ("11010519491231002Y", "id_number_invalid"),
        (cn_ric("990000", date(1990, 1, 1)), "id_region_unknown"),
        (cn_ric("000000", date(1990, 1, 1)), "id_region_unknown"),
        (cn_ric("110105", date(2030, 1, 1)), "id_birth_date_invalid"),  # after TODAY
        (cn_ric("110105", date(1850, 1, 1)), "id_birth_date_invalid"),
        (with_bad_check_digit(cn_ric("110105", date(1990, 1, 1))), "id_checksum"),
    ],
)
def test_bad_cards_are_refused_with_a_specific_code(id_number: str, code: str) -> None:
    assert refusal_code(replace(ZHANG, id_number=id_number)) == code


def test_30_february_is_refused_even_with_a_correct_check_digit() -> None:
    body = "110105" + "19900230" + "001"
    number = body + ric.calc_check_digit(body + "0")
    assert refusal_code(replace(ZHANG, id_number=number)) == "id_birth_date_invalid"


def test_a_birth_date_after_today_is_refused() -> None:
    tomorrow = date(2025, 6, 2)
    claim = replace(ZHANG, id_number=cn_ric("110105", tomorrow))
    assert refusal_code(claim) == "id_birth_date_invalid"
    assert check(claim, today=tomorrow, rules=replace_rules(minimum_age_years=0)).birth_date


def replace_rules(**changes: object) -> IdentityRules:
    fields = {name: getattr(RULES, name) for name in RULES.__struct_fields__}
    return IdentityRules(**{**fields, **changes})


# --- Minimum age ------------------------------------------------------------------------------


def test_the_day_before_the_fourteenth_birthday_is_refused_and_the_day_of_accepted() -> None:
    claim = replace(ZHANG, id_number=cn_ric("310104", date(2010, 6, 15)))
    with pytest.raises(IdentityRejected) as caught:
        check(claim, today=date(2024, 6, 14))
    assert caught.value.code == "underage"
    assert check(claim, today=date(2024, 6, 15)).birth_date == date(2010, 6, 15)


def test_a_leap_day_birthday_comes_of_age_on_1_march_in_a_common_year() -> None:
    claim = replace(ZHANG, id_number=cn_ric("440305", date(2008, 2, 29)))
    assert refusal_code(claim, today=date(2022, 2, 28)) == "underage"
    assert check(claim, today=date(2022, 3, 1))


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(2000, 1, 1), date(2000, 1, 1), 0),
        (date(2000, 1, 2), date(2001, 1, 1), 0),
        (date(2000, 1, 1), date(2001, 1, 1), 1),
        (date(2000, 12, 31), date(2014, 12, 30), 13),
        (date(2000, 12, 31), date(2014, 12, 31), 14),
    ],
)
def test_age_counts_whole_years_to_the_birthday(birth: date, today: date, age: int) -> None:
    assert age_on(birth, today) == age


def test_the_minimum_age_comes_from_the_pack() -> None:
    claim = replace(ZHANG, id_number=cn_ric("110105", date(2008, 1, 1)))
    assert check(claim)
    assert refusal_code(claim, rules=replace_rules(minimum_age_years=18)) == "underage"


def test_documents_without_a_birth_date_are_not_held_to_an_age() -> None:
    assert check(SMITH, rules=replace_rules(minimum_age_years=18)).birth_date is None


# --- Passports and permits ----------------------------------------------------------------------


def test_a_passport_number_is_compacted_and_upper_cased() -> None:
    checked = check(replace(SMITH, id_number=" e1234 5678 "))
    assert checked.claim.id_number == "E12345678"


@pytest.mark.parametrize("id_number", ["E123", "A" * 21, "E1234567!", "护照12345"])
def test_bad_passport_numbers_are_refused(id_number: str) -> None:
    assert refusal_code(replace(SMITH, id_number=id_number)) == "id_number_invalid"


@pytest.mark.parametrize("id_number", ["H12345678", "M1234567890", "h 1234 5678"])
def test_hong_kong_and_macau_permits_pass(id_number: str) -> None:
    number = check(replace(CHAN, id_number=id_number)).claim.id_number
    assert number == id_number.replace(" ", "").upper()


@pytest.mark.parametrize(
    "id_number", ["H1234567", "H123456789", "X12345678", "12345678H", "HM1234567"]
)
def test_bad_permit_numbers_are_refused(id_number: str) -> None:
    assert refusal_code(replace(CHAN, id_number=id_number)) == "id_number_invalid"


def test_an_id_type_the_pack_does_not_accept_is_refused() -> None:
    rules = replace_rules(accepted_id_types=("cn_ric",))
    assert refusal_code(SMITH, rules=rules) == "id_type_not_accepted"


def test_the_shape_checks_still_come_first() -> None:
    with pytest.raises(PolicyRefusal) as caught:
        check(replace(ZHANG, phone="   "))
    assert caught.value.code == "identity_invalid"
    with pytest.raises(PolicyRefusal) as caught:
        check(replace(ZHANG, id_type="library_card"))
    assert caught.value.code == "id_type_invalid"


def test_every_accepted_type_of_the_default_pack_has_document_rules() -> None:
    assert set(RULES.accepted_id_types) <= CHECKED_ID_TYPES


# --- Legal names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("张三", "张三"),
        (" 欧阳娜娜 ", "欧阳娜娜"),
        ("阿沛·阿旺晋美", "阿沛·阿旺晋美"),
        ("阿沛・阿旺晋美", "阿沛·阿旺晋美"),  # katakana middle dot
        ("阿沛•阿旺晋美", "阿沛·阿旺晋美"),  # bullet
        ("王\u3007", "王\u3007"),  # the ideographic zero
    ],
)
def test_chinese_names_are_normalized(given_name: str, expected: str) -> None:
    assert check(replace(ZHANG, legal_name=given_name)).claim.legal_name == expected


@pytest.mark.parametrize(
    "legal_name",
    ["张", "张三3", "Zhang San", "张 三", "·张三", "张三·", "张··三", "张" * 31, "김철수", "张三!"],
)
def test_other_names_are_refused_for_a_resident_card(legal_name: str) -> None:
    assert refusal_code(replace(ZHANG, legal_name=legal_name)) == "legal_name_invalid"


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("Anne-Marie  O'Brien", "Anne-Marie O'Brien"),
        ("José Martínez Jr.", "José Martínez Jr."),
        ("Jose\u0301", "José"),  # decomposed accent composed by NFC
        ("Łukasz Żółć", "Łukasz Żółć"),
    ],
)
def test_passport_names_are_latin_and_normalized(given_name: str, expected: str) -> None:
    assert check(replace(SMITH, legal_name=given_name)).claim.legal_name == expected


@pytest.mark.parametrize("legal_name", ["张三", "Анна Иванова", "-Anne", "Anne3", "Anne@Smith"])
def test_non_latin_passport_names_are_refused(legal_name: str) -> None:
    assert refusal_code(replace(SMITH, legal_name=legal_name)) == "legal_name_invalid"


@pytest.mark.parametrize("legal_name", ["陈大文", "Chan Tai Man"])
def test_permit_names_may_be_chinese_or_latin(legal_name: str) -> None:
    assert check(replace(CHAN, legal_name=legal_name)).claim.legal_name == legal_name


def test_permit_names_in_other_scripts_are_refused() -> None:
    assert refusal_code(replace(CHAN, legal_name="ชาญ")) == "legal_name_invalid"


# --- Phones -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("+86 138 0013 8000", "+8613800138000"),
        ("13800138000", "+8613800138000"),  # read in the default region
        ("138-0013-8000", "+8613800138000"),
        ("+852 9123 4567", "+85291234567"),
        ("+1 650-253-0000", "+16502530000"),
    ],
)
def test_phones_are_normalized_to_e164(phone: str, e164: str) -> None:
    assert check(replace(ZHANG, phone=phone)).claim.phone == e164


def test_the_default_region_is_the_callers() -> None:
    checked = check_identity(
        replace(CHAN, phone="9123 4567"), RULES, today=TODAY, phone_region="HK"
    )
    assert checked.claim.phone == "+85291234567"


@pytest.mark.parametrize("phone", ["138", "1380013800099", "+86 000 0000 0000", "call me", "+"])
def test_invalid_phones_are_refused(phone: str) -> None:
    assert refusal_code(replace(ZHANG, phone=phone)) == "phone_invalid"


# --- The checked identity -----------------------------------------------------------------------


def test_the_checked_identity_never_shows_its_values() -> None:
    checked = check(ZHANG)
    shown = repr(checked) + str(checked)
    for value in (*ZHANG.as_dict().values(), checked.claim.phone, "1990"):
        if value != "cn_ric":
            assert value not in shown
    assert isinstance(checked, CheckedIdentity)


def test_equal_documents_give_equal_blind_index_input_however_typed() -> None:
    first = replace(ZHANG, id_number="11010519491231002x")
    second = replace(ZHANG, id_number="110105 19491231 002X")
    assert blind_index_input(first) == blind_index_input(second) == "cn_ric:11010519491231002X"
    assert blind_index_input(first) == blind_index_input(check(first).claim)


def test_the_same_number_under_another_type_is_another_document() -> None:
    assert blind_index_input(replace(SMITH, id_number="H12345678")) != blind_index_input(CHAN)


# --- Masks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_type", "number", "masked"),
    [
        ("cn_ric", "11010519491231002X", "110105********002X"),
        ("cn_ric", "11010519491231002x", "110105********002X"),
        ("passport", "E12345678", "E******78"),
        ("hk_macau_permit", "H12345678", "H******78"),
        ("passport", "AB1", "***"),
    ],
)
def test_id_numbers_are_masked(id_type: str, number: str, masked: str) -> None:
    assert mask_id_number(id_type, number) == masked


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+8613800138000", "+86 138****8000"),
        ("+85291234567", "+852 912*4567"),
        ("+16502530000", "+1 650***0000"),
        ("+35312345", "+353 1**45"),  # a short national number shows less
        ("not a phone", "***********"),
    ],
)
def test_phones_are_masked(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


def libphonenumber_split(e164: str) -> tuple[int, str] | None:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return number.country_code, phonenumbers.national_significant_number(number)


EXAMPLE_PHONES = sorted(
    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    for region in phonenumbers.SUPPORTED_REGIONS
    for kind in phonenumbers.PhoneNumberType.values()
    if (example := phonenumbers.example_number_for_type(region, kind)) is not None
)


def test_a_phone_splits_as_libphonenumber_splits_every_region_s_example() -> None:
    """mask_phone reads the country code without libphonenumber's parse (13 µs on every GET
    /me): Italian leading zeros, NANP, three-digit codes and all."""
    assert len(EXAMPLE_PHONES) > 1000
    assert [_split_e164(e164) for e164 in EXAMPLE_PHONES] == [
        libphonenumber_split(e164) for e164 in EXAMPLE_PHONES
    ]


@given(st.sampled_from(EXAMPLE_PHONES), st.text("0123456789", min_size=1, max_size=4))
def test_any_valid_phone_splits_as_libphonenumber_splits_it(example: str, digits: str) -> None:
    """Phones are stored as identity checks keep them: valid numbers in E.164. (An invalid one
    may read otherwise: libphonenumber drops a trunk prefix where its region has none.)"""
    try:
        number = phonenumbers.parse(example[: -len(digits)] + digits, None)
    except phonenumbers.NumberParseException:
        assume(False)
    assume(phonenumbers.is_valid_number(number))
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert _split_e164(e164) == libphonenumber_split(e164)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("王小明", "王**"),
        ("欧阳娜娜", "欧阳**"),
        ("阿沛·阿旺晋美", "阿*·****"),
        ("Anne-Marie O'Brien", "A***-M**** O'B****"),
        ("José Martínez", "J*** M*******"),
    ],
)
def test_legal_names_are_masked(name: str, masked: str) -> None:
    assert mask_legal_name(name) == masked


# --- No personal data in any refusal ----------------------------------------------------------


def leaked_parts(value: str, message: str) -> list[str]:
    """Every run of 4 characters of the value (separators dropped) that the message repeats."""
    compact = "".join(value.split()).replace("-", "")
    return [compact[i : i + 4] for i in range(len(compact) - 3) if compact[i : i + 4] in message]


def refusal_text(claim: IdentityClaim) -> str | None:
    try:
        check(claim)
    except DomainError as error:
        assert error.__cause__ is None
        return " ".join([str(error), error.message, repr(error), *map(str, error.args)])
    return None


@pytest.mark.parametrize(
    "claim",
    [
        replace(ZHANG, id_number="11010519491231002"),
        replace(ZHANG, id_number=cn_ric("990000", date(1990, 1, 1))),
        replace(ZHANG, id_number=cn_ric("110105", date(2030, 1, 1))),
        replace(ZHANG, id_number=with_bad_check_digit(cn_ric("110105", date(1990, 1, 1)))),
        replace(ZHANG, id_number=cn_ric("110105", date(2015, 1, 1))),
        replace(ZHANG, legal_name="张三丰Zhang"),
        replace(ZHANG, phone="+86 138 0013 800"),
        replace(SMITH, legal_name="Anne Smith 3rd"),
        replace(SMITH, id_number="E1234567890123456789012"),
        replace(CHAN, id_number="H123456789"),
        replace(ZHANG, legal_name="张三" * 70),
    ],
)
def test_no_refusal_repeats_the_number_the_phone_or_the_name(claim: IdentityClaim) -> None:
    message = refusal_text(claim)
    assert message is not None
    for value in (claim.legal_name, claim.id_number, claim.phone):
        assert leaked_parts(value, message) == []


# Alphabets that share no run of 4 characters with the rule text, so any match is a leak.
NUMBER_CHARS = st.sampled_from("0123456789Xx -")
PHONE_CHARS = st.sampled_from("0123456789+ -()")
NAME_CHARS = st.sampled_from("张三欧阳娜·•王\u3007ABCÉÑ0123456789 -'.@#")


@given(
    id_number=st.text(NUMBER_CHARS, min_size=1, max_size=40),
    id_type=st.sampled_from(sorted(CHECKED_ID_TYPES)),
)
def test_generated_bad_numbers_never_leak(id_number: str, id_type: str) -> None:
    claim = replace(ZHANG, id_type=id_type, id_number=id_number, legal_name="Chan Tai Man")
    message = refusal_text(claim)
    if message is not None:
        assert leaked_parts(id_number, message) == []


@given(phone=st.text(PHONE_CHARS, min_size=1, max_size=40))
def test_generated_bad_phones_never_leak(phone: str) -> None:
    message = refusal_text(replace(ZHANG, phone=phone))
    if message is not None:
        assert leaked_parts(phone, message) == []


@given(
    legal_name=st.text(NAME_CHARS, min_size=1, max_size=40),
    claim=st.sampled_from([ZHANG, SMITH, CHAN]),
)
def test_generated_bad_names_never_leak(legal_name: str, claim: IdentityClaim) -> None:
    message = refusal_text(replace(claim, legal_name=legal_name))
    if message is not None:
        assert leaked_parts(legal_name, message) == []


# Verification ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("register", "carrier", "finding"),
    [
        ("match", "match", "match"),
        ("match", "no_match", "match"),
        ("match", "unavailable", "match"),
        ("no_match", "match", "no_match"),  # the register decides
        ("no_match", "unavailable", "no_match"),
        ("unavailable", "match", "match"),  # the carrier stands in
        ("unavailable", "no_match", "unavailable"),
        ("unavailable", "unavailable", "unavailable"),
    ],
)
def test_the_register_decides_and_the_carrier_stands_in(
    register: str, carrier: str, finding: str
) -> None:
    assert provider_finding(register, carrier) == finding


@pytest.mark.parametrize(
    ("mode", "finding", "status"),
    [
        ("auto", "match", "provider_verified"),
        ("auto", "unavailable", "format_checked"),
        ("review", "match", "pending_review"),
        ("review", "unavailable", "pending_review"),
    ],
)
def test_where_a_new_identity_starts(mode: str, finding: str, status: str) -> None:
    assert status_at_registration(mode, finding) == status


@pytest.mark.parametrize("mode", ["auto", "review"])
def test_a_no_match_refuses_the_registration_in_either_mode(mode: str) -> None:
    with pytest.raises(IdentityRejected) as refused:
        status_at_registration(mode, "no_match")
    assert refused.value.code == "identity_not_matched"


VERIFIED_AND_PHONE = IdentityRequirement(("provider_verified", "staff_verified"), True)


@pytest.mark.parametrize(
    ("status", "phone_confirmed", "missing"),
    [
        ("provider_verified", True, None),
        ("staff_verified", True, None),
        ("provider_verified", False, "phone_unconfirmed"),
        ("format_checked", True, "identity_unverified"),
        ("format_checked", False, "identity_unverified"),  # the status is named first
        ("pending_review", True, "identity_unverified"),
        ("rejected", True, "identity_unverified"),
        (None, False, "identity_unverified"),  # no identity at all (staff)
    ],
)
def test_a_requirement_names_what_is_missing(
    status: str | None, phone_confirmed: bool, missing: str | None
) -> None:
    assert unmet_requirement(VERIFIED_AND_PHONE, status, phone_confirmed) == missing
