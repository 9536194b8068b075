"""The one check of what a name or a text may hold: nothing that reorders or hides what is shown,
and something to see; every check of a name or a text in the domain goes through it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.accounts import check_display_name
from townhall.domain.characters import (
    LINE,
    MESSAGE,
    PROSE,
    Layout,
    clean,
    hides_something,
    shows_something,
)
from townhall.domain.contacts import check_greeting, check_remark
from townhall.domain.errors import ErrorCode, InvalidInput
from townhall.domain.limits import Limits
from townhall.domain.messaging import check_group_title, check_message_text
from townhall.domain.naming import TEXT_FIELDS, NameChecker, NamingRules, clean_text

LIMITS = Limits()
CHECKER = NameChecker(
    NamingRules(restricted=(), refuse_urls=True, refuse_contact_details=True, max_digit_run=6)
)

SHALOM = "\u05e9\u05dc\u05d5\u05dd"  # Hebrew, spelt out: its vav looks like a latin l
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
INVISIBLE = [
    " ", "\u3000", "\u00a0", "\u200b", "\u200b\u200b", "\ufeff", "\u2060", "\u200c", "\u200d",
    "\u200e", "\u200f", "\u00ad", "\U000e0041", "\U000e0001", "\u0301\u0301", "\u20dd", "\ufe0f",
    "\U000e0100", "\u034f", "\u3164", "\u115f", "\uffa0", "\u2800", "\u180e", "\ufdd0",
]  # fmt: skip
VISIBLE = [
    "Alice", "读书的小张", "张", "😀", "👨\u200d👩\u200d👧", "🏳\ufe0f\u200d🌈", "🇨🇳",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "محمد", SHALOM, "Zoë",
    "e\u0301", "★", ".", "\U0001fae8", "\ue000",
]  # fmt: skip


@pytest.mark.parametrize("text", INVISIBLE)
def test_spaces_format_characters_fillers_and_marks_alone_show_nothing(text: str) -> None:
    assert not shows_something(text)


@pytest.mark.parametrize("text", VISIBLE)
def test_any_script_emoji_and_symbol_shows(text: str) -> None:
    assert shows_something(text)


@given(
    st.lists(st.sampled_from(INVISIBLE)),
    st.sampled_from(VISIBLE),
    st.lists(st.sampled_from(INVISIBLE)),
)
def test_one_visible_character_among_invisible_ones_shows(
    before: list[str], visible: str, after: list[str]
) -> None:
    assert not shows_something("".join(before + after))
    assert shows_something("".join([*before, visible, *after]))


@pytest.mark.parametrize("layout", [LINE, PROSE])
@pytest.mark.parametrize("control", BIDI_CONTROLS)
def test_no_name_or_prose_takes_a_bidi_embedding_override_or_isolate(
    layout: Layout, control: str
) -> None:
    assert hides_something(f"a{control}b", layout)


@pytest.mark.parametrize("control", BIDI_CONTROLS)
def test_a_message_refuses_only_the_overrides(control: str) -> None:
    """Pasted right-to-left text carries embeddings and isolates; only an override turns
    letters around."""
    assert hides_something(f"a{control}b", MESSAGE) == (control in "\u202d\u202e")


@pytest.mark.parametrize(
    ("text", "line", "prose", "message"),
    [
        ("a\nb", True, False, False),
        ("a\tb", True, False, False),
        ("a\rb", True, True, False),
        ("a\u2028b", True, True, False),
        ("a\u2029b", True, True, False),
        ("a\u0000b", True, True, True),
        ("a\u001bb", True, True, True),
        ("a\u007fb", True, True, True),
        ("a\u0085b", True, True, True),
        ("a\ud800b", True, True, True),
        # What mixed and right-to-left text needs, and what emoji are made of, is welcome.
        (f"\u200f{SHALOM}\u200f abc", False, False, False),
        ("مرحبا\u061c 123", False, False, False),
        ("👨\u200d👩\u200d👧 \u200b", False, False, False),
    ],
)
def test_each_layout_keeps_its_own_breaks_only(
    text: str, line: bool, prose: bool, message: bool
) -> None:
    hides = [hides_something(text, layout) for layout in (LINE, PROSE, MESSAGE)]
    assert hides == [line, prose, message]


def test_a_text_is_stored_trimmed_and_composed() -> None:
    cleaned = clean(
        "  Zoe\u0308 ",
        field="x",
        layout=LINE,
        max_chars=3,
        required=True,
        invalid=ErrorCode.NAME_INVALID,
    )
    assert cleaned == "Zoë"


# Every check of a name or a text in the domain, with the code of its field: (check, invalid).
Check = Callable[[str], object]
NAMES: dict[str, tuple[Check, str]] = {
    "display_name": (lambda v: check_display_name(v, LIMITS), "display_name_invalid"),
    "group title": (lambda v: check_group_title(v, LIMITS), "title_invalid"),
    "public-account name": (lambda v: CHECKER.clean(v, max_chars=30), "name_invalid"),
    **{
        field: (
            lambda v, field=field: clean_text(v, field, 500, required=True),
            codes[0].value,
        )
        for field, codes in TEXT_FIELDS.items()
    },
}
OPTIONAL: dict[str, tuple[Check, str]] = {
    "greeting": (lambda v: check_greeting(v, LIMITS), "greeting_invalid"),
    "remark": (lambda v: check_remark(v, LIMITS), "name_invalid"),
    **{
        f"optional {field}": (
            lambda v, field=field: clean_text(v, field, 500, required=False),
            codes[0].value,
        )
        for field, codes in TEXT_FIELDS.items()
    },
}
EVERY = {**NAMES, **OPTIONAL, "message": (lambda v: check_message_text(v, LIMITS), "text_invalid")}


def refused(check: Check, value: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        check(value)
    return caught.value.code


@pytest.mark.parametrize("name", list(EVERY))
@pytest.mark.parametrize("value", ["\u202eevil", "a\u202dx", "a\u0000b"])
def test_every_name_and_text_refuses_what_hides(name: str, value: str) -> None:
    check, invalid = EVERY[name]
    assert refused(check, value) == invalid


@pytest.mark.parametrize("name", list(NAMES | OPTIONAL))
@pytest.mark.parametrize("value", ["a\u2066x\u2069", "\u202bx\u202c"])
def test_every_name_and_prose_refuses_embeddings_and_isolates(name: str, value: str) -> None:
    check, invalid = EVERY[name]
    assert refused(check, value) == invalid


@pytest.mark.parametrize("name", list(NAMES))
@pytest.mark.parametrize("value", INVISIBLE)
def test_a_required_name_or_text_that_shows_nothing_is_empty(name: str, value: str) -> None:
    check, invalid = NAMES[name]
    assert refused(check, value) == invalid


@pytest.mark.parametrize("name", list(OPTIONAL))
def test_an_optional_text_that_shows_nothing_is_none(name: str) -> None:
    check, _ = OPTIONAL[name]
    assert check("".join(INVISIBLE)) in ("", None)


@pytest.mark.parametrize("value", INVISIBLE)
def test_a_message_that_shows_nothing_is_empty(value: str) -> None:
    assert refused(lambda v: check_message_text(v, LIMITS), value) == "text_empty"


@pytest.mark.parametrize("name", list(EVERY))
@pytest.mark.parametrize("value", ["读书的小张", "👨\u200d👩\u200d👧 family", "محمد", "Zoë ★"])
def test_every_name_and_text_takes_any_script_and_emoji(name: str, value: str) -> None:
    check, _ = EVERY[name]
    assert check(value) == value
