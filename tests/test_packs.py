"""Loading policy packs: the built-in cn-2014 by name, an operator's file by path."""

from __future__ import annotations

from pathlib import Path

import pytest

from townhall.domain.identity import CHECKED_ID_TYPES, IdentityRequirement
from townhall.domain.policy import PolicyPackError
from townhall.packs import available_packs, load_pack

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)

PACKS_DIR = Path(__file__).parents[1] / "src" / "townhall" / "packs"


def test_the_default_pack_loads_by_name() -> None:
    pack = load_pack("cn-2014")
    assert pack.name == "cn-2014"
    assert "Instant Messaging Tools" in pack.title
    assert pack.identity.accepted_id_types == ("cn_ric", "passport", "hk_macau_permit")
    assert pack.identity.minimum_age_years == 14
    assert pack.identity.accounts_per_identity == 1
    assert pack.identity.verification_mode == "auto"
    verified = IdentityRequirement(("provider_verified", "staff_verified"), phone_confirmed=True)
    assert pack.identity.requirements == {
        "create_group": verified,
        "send_group": verified,
        "apply_public_account": verified,
        "publish_post": verified,
    }  # and nothing for send_direct: anyone may chat one-to-one
    assert pack.public_accounts.registration_number_types == ("cn_uscc",)
    assert pack.identity.retention_days_after_deregistration == 180
    assert pack.agreement.version == "2014.1"
    assert (pack.phone.default_region, pack.phone.code_length) == ("CN", 6)
    assert (pack.phone.code_ttl_seconds, pack.phone.max_codes_per_hour) == (300, 5)
    assert pack.phone.max_attempts_per_code == 5


def test_the_default_agreement_names_the_seven_bottom_lines_in_both_languages() -> None:
    text = load_pack("cn-2014").agreement.text
    assert "七条底线" in text
    assert "seven bottom lines" in text
    for line in ("socialist system", "national interest", "public order", "social morality"):
        assert line in text


def test_the_public_view_of_the_default_pack_holds_no_agreement_text() -> None:
    pack = load_pack("cn-2014")
    public = pack.public()
    assert public["agreement"] == {"version": "2014.1"}
    assert pack.agreement.text not in repr(public)
    assert "七条底线" not in repr(public)


def test_every_built_in_pack_is_named_after_its_file_and_accepts_only_checked_types() -> None:
    assert "cn-2014" in available_packs()
    for name in available_packs():
        pack = load_pack(name)
        assert pack.name == name
        assert set(pack.identity.accepted_id_types) <= CHECKED_ID_TYPES


def test_an_operator_pack_loads_from_a_path(tmp_path: Path) -> None:
    text = (PACKS_DIR / "cn-2014.toml").read_text(encoding="utf-8")
    operator = tmp_path / "strict.toml"
    operator.write_text(
        text.replace('name = "cn-2014"', 'name = "strict"').replace(
            "minimum_age_years = 14", "minimum_age_years = 18"
        ),
        encoding="utf-8",
    )
    pack = load_pack(str(operator))
    assert (pack.name, pack.identity.minimum_age_years) == ("strict", 18)


def test_a_bad_operator_pack_is_refused_naming_the_file_and_the_key(tmp_path: Path) -> None:
    operator = tmp_path / "bad.toml"
    text = (PACKS_DIR / "cn-2014.toml").read_text(encoding="utf-8")
    operator.write_text(text.replace("code_length = 6", 'code_length = "six"'), encoding="utf-8")
    with pytest.raises(PolicyPackError) as caught:
        load_pack(str(operator))
    assert str(operator) in str(caught.value)
    assert "phone.code_length: Expected `int`, got `str`" in str(caught.value)


def test_a_missing_or_broken_pack_file_is_a_pack_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyPackError, match="cannot be read"):
        load_pack(str(tmp_path / "absent.toml"))
    broken = tmp_path / "broken.toml"
    broken.write_text("name = ", encoding="utf-8")
    with pytest.raises(PolicyPackError, match="not valid TOML"):
        load_pack(str(broken))


def test_an_unknown_pack_name_lists_the_built_in_ones() -> None:
    with pytest.raises(PolicyPackError) as caught:
        load_pack("nope")
    assert "'nope'" in str(caught.value)
    assert "cn-2014" in str(caught.value)


def test_a_pack_with_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    text = (PACKS_DIR / "cn-2014.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad-zone.toml"
    bad.write_text(text.replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'))
    with pytest.raises(PolicyPackError, match="timezone"):
        load_pack(str(bad))
