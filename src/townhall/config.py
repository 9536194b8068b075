"""Settings: one TOML file plus TOWNHALL_* environment variables, validated once at start."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from townhall.domain.limits import Limits
from townhall.domain.media import FORMATS
from townhall.store.keys import AUDIT_SIGNING_KEY


class LimitsSettings(BaseModel):
    """Input-size and capacity limits; every one is documented in docs/configuration.md."""

    model_config = ConfigDict(extra="forbid")

    max_message_bytes: int = Field(8192, ge=1, le=1_048_576)
    max_request_body_bytes: int = Field(65_536, ge=1024, le=16_777_216)
    max_group_members: int = Field(500, ge=2, le=100_000)
    max_group_title_chars: int = Field(128, ge=1, le=1024)
    max_display_name_chars: int = Field(64, ge=1, le=1024)
    max_client_id_chars: int = Field(64, ge=8, le=256)
    history_page_max: int = Field(200, ge=1, le=10_000)
    sync_page_max: int = Field(500, ge=1, le=10_000)
    sync_timeout_max_seconds: float = Field(60.0, ge=0, le=600)
    registrations_per_ip_per_hour: int = Field(20, ge=1, le=100_000_000)
    login_failures_per_account_and_address: str = "5/minute;20/hour;100/day"
    login_failures_per_address: str = "300/hour"
    sends_per_user: str = "20/second;600/minute;10000/day"
    forwards_per_user: str = "30/minute;1000/day"
    typing_per_user: str = "2/second;60/minute"
    reports_per_reporter: str = "10/minute;100/day"
    reports_per_target: str = "20/hour"
    long_polls_per_user: int = Field(8, ge=1, le=10_000)
    sockets_per_user: int = Field(16, ge=1, le=10_000)
    identity_reveals_per_reviewer_per_hour: int = Field(20, ge=1, le=10_000)
    identity_reveals_alert_per_hour: int = Field(10, ge=1, le=10_000)
    max_public_account_name_chars: int = Field(30, ge=2, le=256)
    max_description_chars: int = Field(500, ge=1, le=10_000)
    max_post_title_chars: int = Field(128, ge=1, le=1024)
    max_post_body_chars: int = Field(20_000, ge=1, le=1_000_000)
    timeline_page_max: int = Field(100, ge=1, le=1000)
    # contacts
    max_greeting_chars: int = Field(100, ge=1, le=10_000)
    phone_lookups_per_user: str = "10/minute;50/day"
    # media
    max_image_bytes: int = Field(20 * 1024 * 1024, ge=1024, le=1 << 30)
    max_file_bytes: int = Field(50 * 1024 * 1024, ge=1024, le=1 << 30)
    # Pillow's own bomb check warns past 89,478,485 pixels: the cap stays below it.
    max_image_pixels: int = Field(40_000_000, ge=1, le=89_478_485)
    media_formats: list[str] = ["jpeg", "png", "gif", "webp", "pdf", "text"]
    max_media_per_item: int = Field(9, ge=1, le=100)
    max_filename_chars: int = Field(255, ge=16, le=1024)
    uploads_per_user: str = "60/minute;1000/day"
    media_decodes_at_once: int = Field(2, ge=1, le=64)
    # the image hash bank: a list imported over the admin API (the command line has no cap)
    max_hash_list_bytes: int = Field(16 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    searches_per_user: str = "5/second;200/minute"
    # The HTTP server's own (api/connections.py), not rules of the domain: see to_domain.
    max_header_bytes: int = Field(16_384, ge=1024, le=1_048_576)
    max_headers: int = Field(100, ge=8, le=10_000)
    header_timeout_seconds: float = Field(10.0, gt=0, le=600)
    body_timeout_seconds: float = Field(30.0, gt=0, le=600)
    keep_alive_timeout_seconds: int = Field(5, ge=1, le=3600)
    connections_per_address: int = Field(128, ge=1, le=1_000_000)

    @field_validator(
        "login_failures_per_account_and_address",
        "login_failures_per_address",
        "sends_per_user",
        "forwards_per_user",
        "typing_per_user",
        "reports_per_reporter",
        "reports_per_target",
        "phone_lookups_per_user",
        "uploads_per_user",
        "searches_per_user",
    )
    @classmethod
    def _rates(cls, rates: str) -> str:
        try:
            parse_many(rates)
        except ValueError:
            raise ValueError(f"{rates!r} is not a rate such as '5/minute;20/hour'") from None
        return rates

    @field_validator("media_formats")
    @classmethod
    def _formats(cls, formats: list[str]) -> list[str]:
        unknown = [name for name in formats if name not in FORMATS]
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not one of {', '.join(FORMATS)}")
        return list(dict.fromkeys(formats))

    def to_domain(self) -> Limits:
        limits = self.model_dump(exclude=CONNECTION_LIMITS)
        return Limits(**limits | {"media_formats": tuple(self.media_formats)})


CONNECTION_LIMITS = {
    "max_header_bytes",
    "max_headers",
    "header_timeout_seconds",
    "body_timeout_seconds",
    "keep_alive_timeout_seconds",
    "connections_per_address",
}


class Settings(BaseSettings):
    """Server settings. Unknown keys are refused so a typo never silently does nothing."""

    model_config = SettingsConfigDict(
        env_prefix="TOWNHALL_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    trusted_proxies: list[str] = []  # addresses whose X-Forwarded-For/-Proto is believed
    cors_allowed_origins: list[str] = []  # web origins whose scripts may call the API
    metrics_allowed_from: list[str] = ["127.0.0.1", "::1"]  # who may read /metrics
    data_dir: Path = Path("townhall-data")
    keys_dir: Path | None = None
    database_url: str | None = None
    # PostgreSQL's connections per process: kept open, and opened beyond that while busy.
    database_pool_size: int = Field(10, ge=1, le=1000)
    database_pool_overflow: int = Field(10, ge=0, le=1000)
    bus_url: str = "memory://"
    # What this installation's channels and keys start with in a shared Redis.
    bus_prefix: str = Field("townhall:", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    policy_pack: str = "cn-2014"
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    migrate_on_start: bool = False  # migrate a database that holds data without being told
    session_ttl_hours: float = Field(720.0, gt=0, le=24 * 365)
    password_hash_profile: Literal["rfc9106_low_memory", "cheapest"] = "rfc9106_low_memory"
    # Each hash in flight holds the profile's memory; None: usable cores // the profile's lanes.
    password_hashes_at_once: int | None = Field(None, ge=1, le=64)
    ws_auth_timeout_seconds: float = Field(10.0, gt=0, le=120)
    ws_ping_interval_seconds: float = Field(20.0, gt=0, le=3600)
    ws_ping_timeout_seconds: float = Field(20.0, gt=0, le=3600)
    ws_send_queue_frames: int = Field(4096, ge=16, le=1_000_000)
    ws_replays_per_user: int = Field(2, ge=1, le=1000)
    ws_replays_at_once: int = Field(16, ge=1, le=10_000)
    message_batch_max: int = Field(1024, ge=1, le=100_000)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    identity_purge_interval_seconds: float = Field(3600.0, ge=1, le=86_400 * 7)
    lexicon_reload_interval_seconds: float = Field(10.0, ge=0.1, le=3600)
    audit_checkpoint_interval_seconds: float = Field(3600.0, ge=1, le=86_400 * 7)
    audit_checkpoint_also: list[Path] = []  # folders each checkpoint is also written to
    audit_checkpoint_grace_seconds: float = Field(900.0, ge=0, le=86_400 * 7)
    audit_signing_key: Path | None = None  # unset: <keys_dir>/audit-signing.key
    retention_purge_interval_seconds: float = Field(86_400.0, ge=1, le=86_400 * 30)
    classifiers: bool = True
    sanction_expiry_interval_seconds: float = Field(1.0, ge=0.1, le=3600)
    verifier: Literal["none", "http"] = "none"
    verifier_url: str | None = None
    verifier_secret_file: Path | None = None
    verifier_timeout_seconds: float = Field(3.0, gt=0, le=60)
    verifier_retries: int = Field(1, ge=0, le=3)
    limits: LimitsSettings = LimitsSettings()

    config_file: Path | None = Field(None, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments (CLI flags) > environment > TOML file.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = _config_file_from(init_settings)
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @field_validator("trusted_proxies", "metrics_allowed_from")
    @classmethod
    def _are_addresses(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} is not an address or network") from None
        return proxies

    @model_validator(mode="after")
    def _verifier_is_complete(self) -> Self:
        if self.verifier != "http":
            return self
        if not self.verifier_url:
            raise ValueError("verifier_url: needed when verifier is 'http'")
        if self.verifier_secret_file is None:
            raise ValueError("verifier_secret_file: needed when verifier is 'http'")
        url = urlsplit(self.verifier_url)
        # Names, numbers and phones travel in the body: over TLS, unless to this machine.
        if not (url.scheme == "https" or (url.scheme == "http" and _is_loopback(url.hostname))):
            raise ValueError("verifier_url: must be https:// (http:// only to this machine)")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'townhall.db').resolve()}"

    @property
    def one_server_per_data_dir(self) -> bool:
        """SQLite's one writing process; on PostgreSQL several servers share the database (and
        may share a data dir: `serve --workers`)."""
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_keys_dir(self) -> Path:
        return self.keys_dir if self.keys_dir is not None else self.data_dir / "keys"

    @property
    def resolved_audit_signing_key(self) -> Path:
        if self.audit_signing_key is not None:
            return self.audit_signing_key
        return self.resolved_keys_dir / AUDIT_SIGNING_KEY

    @property
    def audit_signing_key_in_data_dir(self) -> bool:
        """Whoever copies or rewrites the data dir then holds the key that vouches for it."""
        key = self.resolved_audit_signing_key.resolve()
        return key.is_relative_to(self.data_dir.resolve())


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _config_file_from(init_settings: PydanticBaseSettingsSource) -> Path | None:
    value = init_settings().get("config_file")
    if value is None:
        return None
    path = Path(value)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    return path


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from a TOML file, the environment and explicit overrides (None = unset)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(config_file=config_file, **given)
