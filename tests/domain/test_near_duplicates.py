"""Near copies of removed texts: one or two characters changed, some added or cut, still found;
texts that only share a part, short texts and unrelated ones are not; sketches keep no text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.near_duplicates import (
    CHUNK_CHARS,
    NearDuplicates,
    Sketch,
    probe_starts,
    sketch,
)
from townhall.domain.normalize import skeleton

RUMOUR = skeleton(
    "紧急通知: 明天起自来水全部停供三天, 请大家马上去超市抢购瓶装水, 转发给你的家人朋友!"
)
SPAM = skeleton(
    "Congratulations, you have won a free cruise for two, reply with your bank details today"
)


def bank(*texts: str, threshold: float = 0.7, min_chars: int = 30) -> NearDuplicates:
    near = NearDuplicates(threshold=threshold, min_chars=min_chars)
    for number, text in enumerate(texts):
        near.add(bytes([number]), sketch(text), "defamation")
    return near


def changed(text: str, *positions: int, to: str = "某") -> str:
    chars = list(text)
    for position in positions:
        chars[position] = to
    return "".join(chars)


REMOVED = bank(RUMOUR, SPAM)


@pytest.mark.parametrize(
    "copy",
    [
        changed(RUMOUR, 5),  # one character changed
        changed(RUMOUR, 3, 30),  # two
        RUMOUR[:10] + RUMOUR[11:],  # one cut
        "转发" + RUMOUR,  # something added in front
        RUMOUR + "速看",  # and at the end
        changed(SPAM, 40, to="x"),
    ],
)
def test_a_copy_with_a_character_or_two_changed_is_found(copy: str) -> None:
    match = REMOVED.find(copy)
    assert match is not None and match.category == "defamation"
    assert 0.7 <= match.similarity < 1


def test_the_copy_is_matched_to_the_text_it_copies() -> None:
    match = REMOVED.find(changed(SPAM, 10, to="z"))
    assert match is not None and match.key == bytes([1])


@pytest.mark.parametrize(
    "text",
    [
        RUMOUR[: len(RUMOUR) // 2]
        + "今天天气很好我们一起去公园散步吧顺便买点水果回来",  # half shared
        skeleton("明天起小区停水半天, 请提前储水, 物业通知"),  # the same subject in other words
        skeleton("Congratulations on the new job, reply when you have time today"),
        changed(RUMOUR, *range(0, len(RUMOUR), 4)),  # a quarter of it changed
    ],
)
def test_texts_that_share_only_part_or_a_subject_are_not_copies(text: str) -> None:
    assert REMOVED.find(text) is None


def test_a_short_text_is_never_a_near_copy() -> None:
    short = skeleton("明天起自来水停供三天快去抢购瓶装水")
    near = bank(short, min_chars=30)
    assert len(short) < 30
    assert near.find(changed(short, 3)) is None
    lenient = bank(short, threshold=0.5, min_chars=CHUNK_CHARS)
    assert lenient.find(changed(short, 3)) is not None


def test_a_removed_text_taken_out_is_no_longer_found() -> None:
    near = bank(RUMOUR, SPAM)
    near.remove(bytes([0]))
    assert near.find(changed(RUMOUR, 5)) is None
    assert near.find(changed(SPAM, 40, to="x")) is not None
    assert len(near) == 1
    near.remove(bytes([0]))  # twice: nothing to do
    assert len(bank()) == 0 and bank().find(RUMOUR) is None


def test_a_stricter_threshold_lets_more_through() -> None:
    copy = changed(SPAM, 3, 60, to="q")  # of its 69 shingles 63 kept: a Jaccard of 0.84
    assert bank(SPAM, threshold=0.7).find(copy) is not None
    assert bank(SPAM, threshold=0.95).find(copy) is None


def test_a_sketch_survives_its_bytes_and_holds_no_text() -> None:
    kept = sketch(RUMOUR)
    data = kept.to_bytes()
    assert Sketch.from_bytes(data) == kept
    assert RUMOUR.encode() not in data
    assert all(RUMOUR[start : start + 2].encode() not in data for start in range(len(RUMOUR)))


@given(st.integers(min_value=0, max_value=2000))
def test_probes_are_whole_chunks_at_most_four_spread_over_the_start(length: int) -> None:
    starts = list(probe_starts(length))
    assert len(starts) <= 4
    assert all(start % CHUNK_CHARS == 0 and start + CHUNK_CHARS <= length for start in starts)
    assert starts == sorted(set(starts))
    if length >= CHUNK_CHARS:
        assert starts[0] == 0
