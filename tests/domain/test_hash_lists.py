"""Hash lists as ThreatExchange's tools write them: the `dataset --csv` table and the plain
local-file list read, written and read back; labels mapped to the pack's categories; every bad
line reported by number, and a list with any refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from townhall.domain.hash_lists import (
    MAX_LINE_CHARS,
    MAX_PROBLEMS_LISTED,
    BankedHash,
    HashListEntry,
    HashListError,
    HashListFormat,
    HashListReader,
    Opinion,
    write_hash_list,
)

A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
B = "0123456789abcdef" * 4
C = "fedcba9876543210" * 4
# What a partner's list calls things -> what the pack calls them.
CATEGORIES = {"terrorism": "terrorism", "tvec": "terrorism", "csam": "pornography", "Demo": "fraud"}
# As `threatexchange dataset -P --csv` prints it (csv.DictWriter: CRLF line ends).
DATASET_CSV = (
    "signal_type,signal_str,collab,category,tags\r\n"
    f"pdq,{A},Shared bank,POSITIVE_CLASS,tvec media_type_photo\r\n"
    "video_md5,d41d8cd98f00b204e9800998ecf8427e,Shared bank,POSITIVE_CLASS,tvec\r\n"
    f"pdq,{B.upper()},Demo,INVESTIGATION_SEED,\r\n"
    f"pdq,{C},Shared bank,NEGATIVE_CLASS,tvec\r\n"
    "url,https://example.com/a,Demo,POSITIVE_CLASS,\r\n"
    f'pdq,{C},"Bank, with a comma",DISPUTED,unknown_tag csam\r\n'
)


def read(text: str, **options: str) -> tuple[list[HashListEntry], HashListReader]:
    reader = HashListReader(CATEGORIES, **options)
    return list(reader.read(text.splitlines(keepends=True))), reader


def test_the_threatexchange_dataset_csv_is_read_and_mapped_to_the_packs_categories() -> None:
    entries, reader = read(DATASET_CSV)
    assert entries == [
        HashListEntry(
            A,
            "terrorism",
            "tvec",
            "Shared bank",
            Opinion.POSITIVE_CLASS,
            ("tvec", "media_type_photo"),
            2,
        ),
        HashListEntry(B, "fraud", "Demo", "Demo", Opinion.INVESTIGATION_SEED, (), 4),
        HashListEntry(
            C,
            "pornography",
            "csam",
            "Bank, with a comma",
            Opinion.DISPUTED,
            ("unknown_tag", "csam"),
            7,
        ),
    ]
    assert reader.list_format is HashListFormat.CSV
    assert reader.skipped == {
        "signal type video_md5": 1,
        "signal type url": 1,
        "NEGATIVE_CLASS": 1,
    }


def test_a_csv_may_order_its_columns_otherwise_and_leave_some_out() -> None:
    text = f"tags,signal_str,signal_type\nterrorism,{A},pdq\n,{B},pdq\n"
    entries, _ = read(text, list_name="tvec")
    assert [(entry.pdq, entry.label, entry.collab, entry.opinion) for entry in entries] == [
        (A, "terrorism", "tvec", Opinion.POSITIVE_CLASS),
        (B, "tvec", "tvec", Opinion.POSITIVE_CLASS),
    ]


def test_the_plain_list_takes_its_label_from_the_lists_name() -> None:
    text = (
        f"\ufeffpdq {A}\r\n"  # a byte-order mark, CRLF
        "\r\n"
        f"{B.upper()}\n"  # bare
        f"  pdq   {C}  \n"
        "video_md5 d41d8cd98f00b204e9800998ecf8427e\n"
    )
    entries, reader = read(text, list_name="tvec")
    assert [(entry.pdq, entry.category, entry.line) for entry in entries] == [
        (A, "terrorism", 1),
        (B, "terrorism", 3),
        (C, "terrorism", 4),
    ]
    assert reader.list_format is HashListFormat.PLAIN
    assert reader.skipped == {"signal type video_md5": 1}


@pytest.mark.parametrize("list_format", list(HashListFormat))
def test_a_list_written_reads_back_as_it_was(list_format: HashListFormat) -> None:
    banked = [
        BankedHash(A, "terrorism"),
        BankedHash(B.upper(), "pornography", Opinion.INVESTIGATION_SEED),
        BankedHash(C, "fraud", Opinion.DISPUTED),
    ]
    lines = list(write_hash_list(banked, collab="Townhall, removed", list_format=list_format))
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    pack = {"terrorism": "terrorism", "pornography": "pornography", "fraud": "fraud"}
    reader = HashListReader(
        {**pack, "Townhall, removed": "violence"}, list_name="Townhall, removed"
    )
    entries = list(reader.read(lines))
    assert reader.list_format is list_format
    assert [entry.pdq for entry in entries] == [A, B, C]  # in lower case
    assert {entry.collab for entry in entries} == {"Townhall, removed"}
    if list_format is HashListFormat.CSV:
        assert lines[0] == "signal_type,signal_str,collab,category,tags\n"
        assert lines[1] == f'pdq,{A},"Townhall, removed",POSITIVE_CLASS,terrorism\n'
        assert [(entry.category, entry.opinion) for entry in entries] == [
            (hashed.category, hashed.opinion) for hashed in banked
        ]
    else:  # hashes only: read back under the list's name
        assert lines[1] == f"pdq {B}\n"
        assert [(entry.category, entry.opinion) for entry in entries] == [
            ("violence", Opinion.POSITIVE_CLASS)
        ] * 3


def test_the_first_known_tag_then_the_lists_name_gives_the_category() -> None:
    text = f"signal_type,signal_str,collab,tags\npdq,{A},Demo,other csam tvec\npdq,{B},Demo,other\n"
    entries, _ = read(text)
    assert [(entry.label, entry.category) for entry in entries] == [
        ("csam", "pornography"),
        ("Demo", "fraud"),
    ]


def test_labels_the_mapping_lacks_are_problems_the_caller_can_name() -> None:
    text = (
        "signal_type,signal_str,collab,category,tags\n"
        f"pdq,{A},Partner,POSITIVE_CLASS,hate\n"
        f"pdq,{B},Partner,POSITIVE_CLASS,tvec\n"
        f"pdq,{C},Partner,POSITIVE_CLASS,\n"
    )
    reader = HashListReader(CATEGORIES)
    read_before_the_error = []
    with pytest.raises(HashListError) as refused:
        read_before_the_error.extend(reader.read(text.splitlines()))
    assert [entry.pdq for entry in read_before_the_error] == [B]
    assert refused.value.problems == [
        (2, "no moderation category for its labels: 'hate', 'Partner'"),
        (4, "no moderation category for its labels: 'Partner'"),
    ]
    assert refused.value.unknown_labels == {"hate", "Partner"}


def test_a_plain_list_needs_a_name_to_take_a_category() -> None:
    with pytest.raises(HashListError, match=r"line 1: .*none \(name the list\)"):
        read(f"pdq {A}\n")


def test_every_bad_line_is_reported_with_its_number() -> None:
    text = "\n".join(
        [
            "signal_type,signal_str,collab,category,tags",
            f"pdq,{A},Demo,POSITIVE_CLASS,",  # 2: good
            f"pdq,{A[:-1]},Demo,POSITIVE_CLASS,",  # 3: 63 digits
            f"pdq,{A[:-1]}g,Demo,POSITIVE_CLASS,",  # 4: not hex
            f"pdq,{A},Demo,POSITIVE_CLASS",  # 5: a field short
            f"pdq,{A},Demo,MALICIOUS,",  # 6: not an opinion
            f",{A},Demo,POSITIVE_CLASS,",  # 7: no signal type
            f'pdq,"{A},Demo,POSITIVE_CLASS,',  # 8: an unclosed quote
            "pdq," + "0" * MAX_LINE_CHARS,  # 9: too long
            "",
            f"pdq,{B},Demo,POSITIVE_CLASS,",  # 11: good
        ]
    )
    with pytest.raises(HashListError) as refused:
        read(text)
    numbers = [number for number, _ in refused.value.problems]
    assert numbers == [3, 4, 5, 6, 7, 8, 9] and refused.value.count == 7
    problems = dict(refused.value.problems)
    assert "64 hexadecimal digits, not 63" in problems[3]
    assert problems[5] == "expected 5 fields, not 4"
    assert "'MALICIOUS' is not one of POSITIVE_CLASS" in problems[6]
    assert problems[7] == "no signal_type"
    assert "malformed CSV" in problems[8]
    assert str(MAX_LINE_CHARS) in problems[9]
    assert str(refused.value).startswith("the list was not loaded, 7 problem(s):\nline 3: ")


def test_a_plain_line_of_three_words_is_a_problem() -> None:
    with pytest.raises(HashListError) as refused:
        read(f"pdq {A} extra\n{B}\n", list_name="tvec")
    assert refused.value.problems == [(1, "expected `pdq <hash>` or a bare hash, not 3 words")]


def test_a_list_wrong_on_every_line_lists_the_first_problems_and_counts_the_rest() -> None:
    with pytest.raises(HashListError) as refused:
        read("".join(f"pdq {index:063x}\n" for index in range(MAX_PROBLEMS_LISTED + 50)))
    assert len(refused.value.problems) == MAX_PROBLEMS_LISTED
    assert refused.value.count == MAX_PROBLEMS_LISTED + 50
    assert str(refused.value).endswith("... and 50 more")


def test_a_header_naming_a_column_twice_stops_the_reading_at_once() -> None:
    with pytest.raises(HashListError) as refused:
        read(f"signal_type,signal_str,tags,tags\npdq,{A},tvec,tvec\n")
    assert refused.value.problems == [(1, "the header names a column twice")]


def test_a_list_is_read_as_it_streams_in() -> None:
    consumed: list[int] = []

    def lines() -> Iterator[str]:
        for number in range(1, 1_000_001):
            consumed.append(number)
            yield f"pdq {number:064x}\n"

    first = next(HashListReader({"tvec": "terrorism"}, list_name="tvec").read(lines()))
    assert first.pdq == f"{1:064x}" and consumed == [1]


def test_what_cannot_be_written_is_refused() -> None:
    with pytest.raises(ValueError, match="one word"):
        list(write_hash_list([BankedHash(A, "two words")], collab="Townhall"))
    with pytest.raises(ValueError, match="one line"):
        list(write_hash_list([BankedHash(A, "fraud")], collab="Town\nhall"))
    with pytest.raises(ValueError, match="64 hexadecimal digits"):
        list(write_hash_list([BankedHash(A[:-1], "fraud")], collab="Townhall"))
