"""Message text, client ids, group titles and members, the one-per-pair direct key, and the
rules of recall, mentions and read cursors."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from townhall.domain.errors import ErrorCode, Forbidden, InvalidInput, PolicyRefusal, TooLarge
from townhall.domain.limits import Limits
from townhall.domain.messaging import (
    MessagingRules,
    check_client_id,
    check_group_title,
    check_message_text,
    check_read_seq,
    check_recall,
    checked_mentions,
    direct_pair_key,
    group_invitee_ids,
)

LIMITS = Limits()
ids = st.integers(min_value=1, max_value=2**63 - 1)


@pytest.mark.parametrize(
    "text",
    [
        "hi",
        "  leading and trailing spaces are kept  ",
        "two\nlines\twith a tab",
        "你好 世界",
        "👩‍👩‍👧 family (joined by zero-width joiners)",
        "right-to-left \u200f mark and a non-breaking\u00a0space",
    ],
)
def test_ordinary_text_is_accepted_unchanged(text: str) -> None:
    assert check_message_text(text, LIMITS) == text


@pytest.mark.parametrize("text", ["", " ", "\n\t ", "\u3000"])
def test_blank_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_message_text(text, LIMITS)
    assert refused.value.code == "text_empty"


@pytest.mark.parametrize("text", ["nul\u0000", "bell\u0007", "escape\u001b[31m", "del\u007f"])
def test_control_characters_other_than_newline_and_tab_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_message_text(text, LIMITS)
    assert refused.value.code == "text_invalid"


@pytest.mark.parametrize(
    ("unit", "unit_bytes"),
    [("é", 2), ("中", 3), ("😀", 4)],
)
def test_the_size_limit_counts_utf8_bytes_not_characters(unit: str, unit_bytes: int) -> None:
    fits = unit * (LIMITS.max_message_bytes // unit_bytes)
    assert len(fits.encode()) <= LIMITS.max_message_bytes
    assert check_message_text(fits, LIMITS) == fits
    too_big = fits + unit
    assert len(too_big) <= LIMITS.max_message_bytes  # under the limit counted in characters
    with pytest.raises(TooLarge) as refused:
        check_message_text(too_big, LIMITS)
    assert refused.value.code == "message_too_large"


def test_text_of_exactly_the_limit_is_accepted() -> None:
    text = "中" * 2730 + "ab"  # 8190 + 2 bytes
    assert len(text.encode()) == 8192
    assert check_message_text(text, LIMITS) == text
    with pytest.raises(TooLarge):
        check_message_text(text + "c", LIMITS)


@given(st.text(min_size=1, max_size=3000))
def test_text_is_refused_as_too_large_exactly_when_over_the_byte_limit(text: str) -> None:
    limits = Limits(max_message_bytes=2000)
    try:
        check_message_text(text, limits)
    except TooLarge:
        assert len(text.encode()) > limits.max_message_bytes
    except InvalidInput:
        pass  # blank or with control characters
    else:
        assert len(text.encode()) <= limits.max_message_bytes


@pytest.mark.parametrize("client_id", ["a", "c-1", "Web:42.7_x", "x" * 64])
def test_client_ids_of_safe_characters_are_accepted(client_id: str) -> None:
    assert check_client_id(client_id, LIMITS) == client_id


@pytest.mark.parametrize(
    "client_id", ["", "x" * 65, "has space", "slash/", "名字", "new\nline", 'quote"', "a;b"]
)
def test_other_client_ids_are_refused(client_id: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_client_id(client_id, LIMITS)
    assert refused.value.code == "client_id_invalid"


def test_group_title_is_trimmed() -> None:
    assert check_group_title("  Book club  ", LIMITS) == "Book club"


@pytest.mark.parametrize("title", ["", "   ", "x" * 129, "ring\u0007"])
def test_bad_group_titles_are_refused(title: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_group_title(title, LIMITS)
    assert refused.value.code == "title_invalid"


def test_group_title_limit_is_in_characters() -> None:
    assert check_group_title("群" * 128, LIMITS) == "群" * 128


def test_a_group_invites_everyone_named_but_its_creator_once() -> None:
    assert group_invitee_ids(7, [3, 5, 3, 7, 5, 9], LIMITS) == [3, 5, 9]


def test_a_group_may_start_with_only_its_creator() -> None:
    assert group_invitee_ids(7, [], LIMITS) == []


def test_group_size_cap_counts_the_creator_and_distinct_invitees() -> None:
    limits = Limits(max_group_members=3)
    assert group_invitee_ids(1, [2, 3, 2, 3, 1], limits) == [2, 3]
    with pytest.raises(PolicyRefusal) as refused:
        group_invitee_ids(1, [2, 3, 4], limits)
    assert refused.value.code == "group_too_large"


@given(st.integers(1, 50), st.lists(st.integers(1, 50), max_size=80), st.integers(2, 40))
def test_group_invitees_are_distinct_and_within_the_cap(
    creator: int, named: list[int], cap: int
) -> None:
    limits = Limits(max_group_members=cap)
    distinct = {creator, *named}
    try:
        invitees = group_invitee_ids(creator, named, limits)
    except PolicyRefusal:
        assert len(distinct) > cap
    else:
        assert creator not in invitees
        assert len(invitees) == len(set(invitees)) == len(distinct) - 1 <= cap - 1
        assert {creator, *invitees} == distinct


@given(ids, ids)
def test_the_direct_key_is_the_same_whoever_starts(first: int, second: int) -> None:
    assume(first != second)
    assert direct_pair_key(first, second) == direct_pair_key(second, first)


@given(ids, ids, ids, ids)
def test_different_pairs_get_different_direct_keys(a: int, b: int, c: int, d: int) -> None:
    assume(a != b and c != d and {a, b} != {c, d})
    assert direct_pair_key(a, b) != direct_pair_key(c, d)


@given(ids)
def test_no_direct_conversation_with_oneself(user_id: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        direct_pair_key(user_id, user_id)
    assert refused.value.code == "direct_self"


RULES = MessagingRules(recall_seconds=120)


@pytest.mark.parametrize(("elapsed_ms", "allowed"), [(0, True), (119_999, True), (120_000, False)])
def test_a_sender_recalls_within_the_window_only(elapsed_ms: int, allowed: bool) -> None:
    def recall() -> None:
        check_recall(
            sender_id=1, actor_id=1, sent_at_ms=1_000, now_ms=1_000 + elapsed_ms, rules=RULES
        )

    if allowed:
        recall()
    else:
        with pytest.raises(PolicyRefusal) as refused:
            recall()
        assert refused.value.code == ErrorCode.RECALL_WINDOW_PASSED


def test_nobody_but_the_sender_recalls() -> None:
    with pytest.raises(Forbidden) as refused:
        check_recall(sender_id=1, actor_id=2, sent_at_ms=0, now_ms=0, rules=RULES)
    assert refused.value.code == ErrorCode.RECALL_NOT_SENDER


def test_mentions_name_members_once_each() -> None:
    members = frozenset({1, 2, 3})
    assert checked_mentions([2, 3, 2], False, member_ids=members, may_mention_everyone=False) == {
        "user_ids": [2, 3],
        "everyone": False,
    }
    assert checked_mentions([], False, member_ids=members, may_mention_everyone=True) is None
    with pytest.raises(PolicyRefusal):
        checked_mentions([4], False, member_ids=members, may_mention_everyone=True)
    with pytest.raises(Forbidden):
        checked_mentions([], True, member_ids=members, may_mention_everyone=False)


@pytest.mark.parametrize(("seq", "valid"), [(0, True), (5, True), (6, False), (-1, False)])
def test_a_read_cursor_points_at_a_message_there_is(seq: int, valid: bool) -> None:
    if valid:
        check_read_seq(seq, 5)
    else:
        with pytest.raises(InvalidInput):
            check_read_seq(seq, 5)
