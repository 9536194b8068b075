"""The phrases Townhall loads into pypinyin (domain/data/phrase_readings.json) read every phrase of
pypinyin's own dictionary as the whole dictionary does, toneless, with a fraction of its memory.

After a pypinyin upgrade, TOWNHALL_REGENERATE_DOCS=1 adds what its new phrases need."""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from pathlib import Path

import pypinyin
from pypinyin import Style, lazy_pinyin, load_phrases_dict
from pypinyin.constants import PHRASES_DICT
from pypinyin.style import convert

import townhall.domain.normalize  # noqa: F401  (loads the shipped phrases)

SHIPPED = Path(str(resources.files("townhall.domain").joinpath("data/phrase_readings.json")))
Readings = list[list[str]]


@cache
def full_dictionary() -> dict[str, Readings]:
    """pypinyin's 47,000 phrases, read from its package as its own import would."""
    path = Path(pypinyin.__file__).with_name("phrases_dict.json")
    return json.loads(path.read_text(encoding="utf-8"))


def toneless(readings: Readings) -> list[str]:
    """How the full dictionary reads a phrase on its own: its first reading of each character."""
    return [convert(syllables[0], Style.NORMAL, strict=True) for syllables in readings]


def misread() -> dict[str, Readings]:
    return {
        phrase: readings
        for phrase, readings in full_dictionary().items()
        if lazy_pinyin(phrase) != toneless(readings)
    }


def test_only_the_shipped_phrases_are_loaded() -> None:
    """pypinyin's own phrases stay unloaded (townhall/__init__.py), or the memory is not saved."""
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert os.environ["PYPINYIN_NO_PHRASES"] == "1"
    assert PHRASES_DICT.keys() == shipped.keys()
    assert len(shipped) < len(full_dictionary()) / 10


def test_the_shipped_readings_are_the_dictionary_s_own() -> None:
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert {phrase: full_dictionary().get(phrase) for phrase in shipped} == shipped


def test_every_phrase_reads_as_with_the_whole_dictionary() -> None:
    """A phrase read otherwise than its characters alone must be shipped (重庆 chong qing), and so
    must one that keeps such a phrase from being read inside it (一块石头落了地: luo le, where 落了
    alone reads la le). Adding what is missing until nothing is: a phrase added can change only
    the reading of the texts that hold it."""
    missing = misread()
    if os.environ.get("TOWNHALL_REGENERATE_DOCS") == "1":
        added: dict[str, Readings] = {}
        while missing:
            added |= missing
            load_phrases_dict(missing)
            missing = misread()
        shipped = json.loads(SHIPPED.read_text(encoding="utf-8")) | added
        lines = [
            f"{json.dumps(p, ensure_ascii=False)}: {json.dumps(shipped[p], ensure_ascii=False)}"
            for p in sorted(shipped)
        ]
        SHIPPED.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    assert not missing, (
        f"{len(missing)} phrases read otherwise than with pypinyin's whole dictionary, e.g. "
        f"{next(iter(missing))}: TOWNHALL_REGENERATE_DOCS=1 pytest {__file__}"
    )
