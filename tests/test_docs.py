"""Every setting is documented (docs/configuration.md names each key of Settings and limits)."""

from __future__ import annotations

from pathlib import Path

import pytest

from townhall.config import LimitsSettings, Settings

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
