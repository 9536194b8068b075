"""Key files on disk, and the identity vault: sealing bound to the account, the blind index."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from townhall.domain.accounts import IdentityClaim
from townhall.domain.identity import blind_index_input
from townhall.store import keys
from townhall.store.vault import IdentityVault

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)

CLAIM = IdentityClaim(
    legal_name="张三", id_type="cn_ric", id_number="11010519491231002X", phone="+8613800138000"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_created_readable_by_the_owner_only(tmp_path: Path) -> None:
    keys_dir = tmp_path / "data" / "keys"
    ring = keys.load_or_create(keys_dir)

    assert mode(keys_dir) == 0o700
    files = sorted(path.name for path in keys_dir.iterdir())
    assert files == ["blind-index.key", "identity-1.key", "phone-code.key"]
    for path in keys_dir.iterdir():
        assert mode(path) == 0o600
    assert ring.active_identity_key_id == "identity-1"
    assert len(ring.blind_index_key) == keys.KEY_BYTES
    assert ring.identity_keys["identity-1"] != ring.blind_index_key


def test_an_existing_keys_folder_is_closed_to_others(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(mode=0o755)
    keys_dir.chmod(0o755)
    keys.load_or_create(keys_dir)
    assert mode(keys_dir) == 0o700


def test_keys_are_reloaded_not_replaced(tmp_path: Path) -> None:
    first = keys.load_or_create(tmp_path / "keys")
    again = keys.load_or_create(tmp_path / "keys")
    assert again == first


def test_the_key_ring_repr_shows_no_key_material(tmp_path: Path) -> None:
    ring = keys.load_or_create(tmp_path / "keys")
    shown = repr(ring)
    assert "identity-1" in shown
    for key in [ring.blind_index_key, *ring.identity_keys.values()]:
        assert key.hex() not in shown
        assert repr(key) not in shown


def test_a_damaged_key_file_stops_the_start(tmp_path: Path) -> None:
    keys.load_or_create(tmp_path / "keys")
    (tmp_path / "keys" / "identity-1.key").write_text("abcd")
    with pytest.raises(ValueError, match=r"identity-1\.key"):
        keys.load_or_create(tmp_path / "keys")


def test_a_new_identity_key_seals_while_the_old_one_still_opens(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    old_vault = IdentityVault(keys_dir)
    old_key_id, old_sealed = old_vault.seal(7, CLAIM)
    (keys_dir / "identity-2.key").write_text(bytes(range(32)).hex())

    vault = IdentityVault(keys_dir)

    assert vault.open(7, old_key_id, old_sealed) == CLAIM
    key_id, sealed = vault.seal(7, CLAIM)
    assert key_id == "identity-2"
    assert vault.open(7, key_id, sealed) == CLAIM
    assert vault.blind_index(CLAIM) == old_vault.blind_index(CLAIM)


def test_rotating_adds_a_key_that_seals_and_keeps_the_old_ones(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    vault = IdentityVault(keys_dir)
    old_key_id, old_sealed = vault.seal(7, CLAIM)
    old_key = (keys_dir / "identity-1.key").read_bytes()
    index = vault.blind_index(CLAIM)

    assert vault.rotate() == "identity-2"
    assert vault.rotate() == "identity-3"

    assert vault.seal(8, CLAIM)[0] == "identity-3"
    assert sorted(path.name for path in keys_dir.iterdir()) == [
        "blind-index.key",
        "identity-1.key",
        "identity-2.key",
        "identity-3.key",
        "phone-code.key",
    ]
    assert (keys_dir / "identity-1.key").read_bytes() == old_key
    assert all(mode(path) == 0o600 for path in keys_dir.iterdir())
    key_id, sealed = vault.seal(7, CLAIM)
    assert key_id == "identity-3"
    assert vault.open(7, old_key_id, old_sealed) == vault.open(7, key_id, sealed) == CLAIM
    # Rotation changes the sealing key only: duplicates are still found by the same index.
    assert vault.blind_index(CLAIM) == index


def test_a_vault_opens_what_another_process_sealed_after_rotating(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    running = IdentityVault(keys_dir)
    operator = IdentityVault(keys_dir)
    operator.rotate()
    key_id, sealed = operator.seal(9, CLAIM)

    assert key_id == "identity-2"
    assert running.open(9, key_id, sealed) == CLAIM


def test_the_blind_index_follows_the_domain_rule(tmp_path: Path) -> None:
    vault = IdentityVault(tmp_path / "keys")
    same_text = IdentityClaim("李四", "cn_ric", "11010519491231002X", "+8613900139000")
    assert blind_index_input(same_text) == blind_index_input(CLAIM)
    assert vault.blind_index(same_text) == vault.blind_index(CLAIM)


@pytest.fixture
def vault(tmp_path: Path) -> IdentityVault:
    return IdentityVault(tmp_path / "keys")


def test_a_sealed_identity_opens_to_the_same_claim(vault: IdentityVault) -> None:
    key_id, sealed = vault.seal(42, CLAIM)
    assert key_id == "identity-1"
    assert vault.open(42, key_id, sealed) == CLAIM


def test_the_sealed_bytes_hold_no_plaintext(vault: IdentityVault) -> None:
    _, sealed = vault.seal(42, CLAIM)
    for value in CLAIM.as_dict().values():
        assert value.encode() not in sealed


def test_sealing_twice_gives_different_ciphertexts(vault: IdentityVault) -> None:
    assert vault.seal(42, CLAIM)[1] != vault.seal(42, CLAIM)[1]


def test_a_sealed_identity_opens_only_for_its_own_account(vault: IdentityVault) -> None:
    key_id, sealed = vault.seal(42, CLAIM)
    with pytest.raises(InvalidTag):
        vault.open(43, key_id, sealed)


def test_a_tampered_identity_does_not_open(vault: IdentityVault) -> None:
    key_id, sealed = vault.seal(42, CLAIM)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(InvalidTag):
        vault.open(42, key_id, tampered)


def test_an_identity_sealed_under_other_keys_does_not_open(
    vault: IdentityVault, tmp_path: Path
) -> None:
    other = IdentityVault(tmp_path / "other-keys")
    key_id, sealed = other.seal(42, CLAIM)
    with pytest.raises(InvalidTag):
        vault.open(42, key_id, sealed)


@pytest.mark.parametrize(
    "written",
    ["11010519491231002X", "11010519491231002x", "110105 19491231 002X", "110105-19491231-002X"],
)
def test_the_blind_index_is_equal_for_the_same_document_however_written(
    vault: IdentityVault, written: str
) -> None:
    variant = IdentityClaim("Zhang San", "cn_ric", written, "+1 555 0100")
    assert vault.blind_index(variant) == vault.blind_index(CLAIM)


@pytest.mark.parametrize(
    "other",
    [
        IdentityClaim("张三", "cn_ric", "110105194912310021", "+8613800138000"),
        IdentityClaim("张三", "passport", "11010519491231002X", "+8613800138000"),
    ],
)
def test_the_blind_index_differs_for_another_document(
    vault: IdentityVault, other: IdentityClaim
) -> None:
    assert vault.blind_index(other) != vault.blind_index(CLAIM)


def test_the_blind_index_is_keyed(vault: IdentityVault, tmp_path: Path) -> None:
    other = IdentityVault(tmp_path / "other-keys")
    index = vault.blind_index(CLAIM)
    assert other.blind_index(CLAIM) != index
    assert "11010519491231002X" not in index
    assert len(index) == 64
