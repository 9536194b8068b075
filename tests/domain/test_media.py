"""The rules of media objects without a server: formats told by their bytes, plain text, the names
files keep, what a message carries, dispositions and byte ranges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.errors import InvalidInput, RangeNotSatisfiable
from townhall.domain.limits import Limits
from townhall.domain.media import (
    FORMATS,
    PlainText,
    check_filename,
    check_media_ids,
    content_disposition,
    kept_filename,
    requested_range,
    sniff,
)

LIMITS = Limits()
EVERY_FORMAT = LIMITS.media_formats


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff", "gif"),
        (b"GIF87a\x01\x00\x01\x00\x80\x00\x00\xff", "gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0", "pdf"),
        ("春眠不觉晓 处处闻啼鸟".encode(), "text"),
    ],
)
def test_a_format_is_told_by_its_first_bytes(head: bytes, name: str) -> None:
    found = sniff(head, EVERY_FORMAT)
    assert found is not None and found.name == name


def test_a_binary_format_not_taken_is_not_read_as_text() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    assert sniff(png, ("jpeg", "text")) is None
    assert sniff(b"RIFF\x24\x00\x00\x00WAVEfmt ", ("text",)) is FORMATS["text"]  # text decides


@pytest.mark.parametrize(
    ("chunks", "ok"),
    [
        ([b"hello\tworld\r\n"], True),
        (["读书".encode()[:4], "读书".encode()[4:], b"\n"], True),  # a character split in two
        ([b"\xef\xbb\xbfwith a BOM\n"], True),
        ([b"MZ\x90\x00\x03\x00"], False),  # NUL: a program
        ([b"bell \x07"], False),
        ([b"\xff\xfeU\x00T\x00F\x00-16"], False),  # UTF-16 is not taken
        (["读".encode()[:2]], False),  # cut in the middle of a character
    ],
)
def test_plain_text_is_utf8_without_control_characters(chunks: list[bytes], ok: bool) -> None:
    text = PlainText()
    for chunk in chunks:
        text.feed(chunk)
    assert text.feed(b"", final=True) is ok


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\me\\年报.PDF", "年报.PDF"),
        ("../../etc/passwd", "passwd.pdf"),
        ("...hidden.pdf", "hidden.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe.pdf"),  # the override that hides ".exe"
        ("  ", None),
        (None, None),
    ],
)
def test_a_file_keeps_its_name_without_path_tricks_and_with_its_extension(
    given: str | None, kept: str | None
) -> None:
    assert kept_filename(check_filename(given, LIMITS), FORMATS["pdf"], LIMITS) == kept


def test_a_name_is_refused_when_too_long_or_empty_of_anything_to_keep() -> None:
    with pytest.raises(InvalidInput, match="filename"):
        check_filename("x" * 256, LIMITS)
    with pytest.raises(InvalidInput, match="filename"):
        check_filename("/../\u200f", LIMITS)
    long = "长" * 255
    kept = kept_filename(check_filename(long, LIMITS), FORMATS["text"], LIMITS)
    assert kept is not None and len(kept) == 255 and kept.endswith(".txt")
    assert kept_filename("photo.jpg", FORMATS["jpeg"], LIMITS) is None  # images keep none


def test_a_message_carries_at_most_nine_media_each_once() -> None:
    assert check_media_ids([3, 1, 2], LIMITS) == [3, 1, 2]
    for refused in (list(range(1, 11)), [1, 1]):
        with pytest.raises(InvalidInput, match="media_ids"):
            check_media_ids(refused, LIMITS)


def test_an_image_is_shown_and_a_file_saved_under_its_name() -> None:
    assert content_disposition("image", None) == "inline"
    assert content_disposition("file", 'a "quoted" 名.txt') == (
        'attachment; filename="a _quoted_ _.txt"; '
        "filename*=UTF-8''a%20%22quoted%22%20%E5%90%8D.txt"
    )


@pytest.mark.parametrize(
    ("header", "wanted"),
    [
        (None, None),
        ("bytes=0-9", (0, 10)),
        ("bytes=90-", (90, 100)),
        ("bytes=-10", (90, 100)),
        ("bytes=-1000", (0, 100)),
        ("bytes=50-1000", (50, 100)),
        ("BYTES = 5-5", (5, 6)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole
        ("items=0-1", None),
        ("bytes=9-2", None),
        ("bytes=x-y", None),
        ("bytes=-", None),
        (f"bytes=0-{'9' * 5000}", None),  # no int() of five thousand digits
    ],
)
def test_one_byte_range_is_served_and_anything_else_is_the_whole(
    header: str | None, wanted: tuple[int, int] | None
) -> None:
    assert requested_range(header, 100) == wanted


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=200-300", "bytes=-0"])
def test_a_range_past_the_end_is_unsatisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as refused:
        requested_range(header, 100)
    assert refused.value.size == 100


@given(st.text(max_size=40), st.integers(min_value=0, max_value=10**12))
def test_any_range_header_is_answered_within_the_file_or_refused(header: str, size: int) -> None:
    try:
        wanted = requested_range(header, size)
    except RangeNotSatisfiable:
        return
    if wanted is not None:
        start, end = wanted
        assert 0 <= start < end <= size
