"""Settings: TOML file, environment and flags in rising precedence; bad keys refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from townhall.config import load_settings

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "townhall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_serve_one_machine_with_sqlite_in_the_data_dir() -> None:
    settings = load_settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("townhall-data/townhall.db")
    assert settings.limits.max_message_bytes == 8192


def test_toml_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(
        tmp_path, 'port = 9000\nhost = "0.0.0.0"\n[limits]\nmax_group_members = 50\n'
    )
    assert load_settings(config).port == 9000
    assert load_settings(config).limits.max_group_members == 50
    monkeypatch.setenv("TOWNHALL_PORT", "9100")
    monkeypatch.setenv("TOWNHALL_LIMITS__MAX_MESSAGE_BYTES", "1000")
    from_env = load_settings(config)
    assert (from_env.port, from_env.host) == (9100, "0.0.0.0")
    assert from_env.limits.max_message_bytes == 1000
    assert load_settings(config, port=9200).port == 9200


def test_unknown_key_is_refused_with_its_name(tmp_path: Path) -> None:
    config = write_config(tmp_path, "prot = 9000\n")
    with pytest.raises(ValidationError, match="prot"):
        load_settings(config)


def test_out_of_range_value_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[limits]\nmax_group_members = 1\n")
    with pytest.raises(ValidationError, match="max_group_members"):
        load_settings(config)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "absent.toml")


def test_no_identity_verification_provider_by_default() -> None:
    settings = load_settings()
    assert (settings.verifier, settings.verifier_url, settings.verifier_secret_file) == (
        "none",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"verifier": "http"}, "verifier_url: needed"),
        ({"verifier": "http", "verifier_url": "https://kyc.example"}, "verifier_secret_file"),
        (
            {"verifier": "http", "verifier_url": "http://kyc.example", "verifier_secret_file": "s"},
            "verifier_url: must be https://",
        ),
        (
            {"verifier": "http", "verifier_url": "ftp://127.0.0.1", "verifier_secret_file": "s"},
            "verifier_url: must be https://",
        ),
        ({"verifier": "carrier-pigeon"}, "verifier"),
        ({"verifier_retries": 9}, "verifier_retries"),
    ],
)
def test_an_incomplete_or_unsafe_provider_setting_is_refused_by_name(
    settings: dict[str, str], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        load_settings(**settings)


@pytest.mark.parametrize(
    "url",
    [
        "https://kyc.example/v1",
        "http://127.0.0.1:9000",
        "http://localhost:9000",
        "http://[::1]:9000",
    ],
)
def test_personal_data_travels_over_tls_or_stays_on_the_machine(url: str) -> None:
    settings = load_settings(verifier="http", verifier_url=url, verifier_secret_file="secret")
    assert settings.verifier_url == url
