"""Every setting is documented (docs/configuration.md names each key of Settings and limits)."""

from __future__ import annotations

from pathlib import Path
from typing import get_type_hints

import pytest

from townhall.config import LimitsSettings, Settings
from townhall.domain.policy import PolicyPack

CONFIGURATION_DOC = Path(__file__).parents[1] / "docs" / "configuration.md"


def documented_keys() -> set[str]:
    keys = set()
    for line in CONFIGURATION_DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            keys.add(line.split("`")[1])
    return keys


@pytest.mark.parametrize(
    "key",
    [
        name
        for name, field in Settings.model_fields.items()
        if not field.exclude and name != "limits"
    ]
    + list(LimitsSettings.model_fields),
)
def test_setting_is_documented(key: str) -> None:
    assert key in documented_keys(), f"{key} is missing from docs/configuration.md"


def test_documentation_names_no_setting_that_does_not_exist() -> None:
    real = set(Settings.model_fields) | set(LimitsSettings.model_fields)
    assert documented_keys() <= real


POLICY_PACKS_DOC = Path(__file__).parents[1] / "docs" / "policy-packs.md"


def pack_keys() -> list[str]:
    keys = []
    for name, kind in get_type_hints(PolicyPack).items():
        fields = getattr(kind, "__struct_fields__", None)
        keys += [f"{name}.{field}" for field in fields] if fields else [name]
    return keys


@pytest.mark.parametrize("key", pack_keys())
def test_policy_pack_key_is_documented(key: str) -> None:
    assert f"| `{key}` |" in POLICY_PACKS_DOC.read_text(encoding="utf-8")
