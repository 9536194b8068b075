"""Policy packs: the built-in ones shipped as TOML beside this file, and operators' own files."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from townhall.domain.policy import PolicyPack, PolicyPackError, parse_pack

PACK_SUFFIX = ".toml"


def available_packs() -> list[str]:
    """The names of the built-in packs, e.g. `cn-2014`."""
    return sorted(
        entry.name.removesuffix(PACK_SUFFIX)
        for entry in resources.files(__package__).iterdir()
        if entry.name.endswith(PACK_SUFFIX)
    )


def load_pack(name_or_path: str) -> PolicyPack:
    """A built-in pack by name, or an operator's pack by path (anything with `/` or `.toml`)."""
    if "/" in name_or_path or name_or_path.endswith(PACK_SUFFIX):
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise PolicyPackError(
                f"policy pack {path}: cannot be read ({error.strerror})"
            ) from None
        return _parse(text, source=str(path))
    if name_or_path not in available_packs():
        raise PolicyPackError(
            f"unknown policy pack {name_or_path!r}; built-in packs: {', '.join(available_packs())}"
            " (or give the path of a .toml file)"
        )
    resource = resources.files(__package__).joinpath(name_or_path + PACK_SUFFIX)
    return _parse(resource.read_text(encoding="utf-8"), source=name_or_path)


def _parse(text: str, *, source: str) -> PolicyPack:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyPackError(f"policy pack {source}: not valid TOML ({error})") from None
    try:
        pack = parse_pack(data)
        _check_timezone(pack.timezone)
    except PolicyPackError as error:
        # Which file, then which key: an operator may run several packs.
        raise PolicyPackError(f"policy pack {source}: {error}") from None
    return pack


def _check_timezone(name: str) -> None:
    # Here rather than in parse_pack: the zone database is read from disk.
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyPackError(f"timezone: unknown time zone {name!r}") from None
