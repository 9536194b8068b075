"""PDQ hash lists in the formats of Meta's ThreatExchange tools, read line by line and written
back, each hash's label mapped to one of the pack's moderation categories.

Read from facebook/ThreatExchange (commit baefb4ed, July 2026). Hasher-Matcher-Actioner (HMA)
itself writes no list files: its banks are filled by hand over its API (a JSON body such as
{"pdq": "<hash>"}) or by the exchanges of python-threatexchange, on which it is built. The two
file formats of that library are the interchange:

- The CSV that `threatexchange dataset -P --csv` prints "for ease of distribution"
  (python-threatexchange/threatexchange/cli/dataset_cmd.py), with a header row:

      signal_type,signal_str,collab,category,tags
      pdq,f8f8f0cee0f4a84f06370a22038f63f0b3...(64 digits),Shared bank,POSITIVE_CLASS,spam scam

  `signal_type` is the signal type's name (`pdq` for PDQ, signal_type/pdq/signal.py);
  `signal_str` the hash, 64 lower-case hexadecimal digits; `collab` the list (the
  collaboration or bank) it came from; `category` the list's aggregate opinion of it
  (exchanges/fetch_state.py): POSITIVE_CLASS, INVESTIGATION_SEED (to be verified), DISPUTED,
  or NEGATIVE_CLASS (false positives and test data); `tags` its labels, separated by spaces.
- The plain file of the local-file exchange (exchanges/impl/file_api.py), which the
  `threatexchange` CLI offers and an HMA deployment may list among its exchange types: one
  signal a line, `pdq <hash>`, or the bare hash where the exchange is configured with its type.
  It carries no labels: the caller names the list, and the list's name is its label.

A file whose first line is a header naming `signal_type` and `signal_str` is read as the CSV
(its columns in any order; `collab`, `category` and `tags` may be left out); any other as the
plain file. Rows of other signal types (`video_md5`, `url`, ...) and NEGATIVE_CLASS rows are
skipped and counted; INVESTIGATION_SEED and DISPUTED rows are read with their opinion, for the
caller to hold rather than block. A row's label is the first of its tags, then its list's name,
that the caller's mapping knows; a row with none is a problem. Every problem is reported with
its line number after the good rows have been read, so the caller imports a list in one
transaction and a list with problems not at all.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from townhall.domain.pdq import PdqHashInvalid, normalize_pdq

PDQ_SIGNAL_TYPE = "pdq"
CSV_COLUMNS = ("signal_type", "signal_str", "collab", "category", "tags")
REQUIRED_COLUMNS = frozenset({"signal_type", "signal_str"})
MAX_LINE_CHARS = 4096  # a hash and a few labels need a few hundred
MAX_PROBLEMS_LISTED = 100  # a list wrong on every line says so without a million lines
MAX_SKIP_REASONS = 20  # signal types counted by name; the rest together


class Opinion(StrEnum):
    """What the list thinks of a hash (python-threatexchange's AggregateSignalOpinionCategory)."""

    POSITIVE_CLASS = "POSITIVE_CLASS"
    INVESTIGATION_SEED = "INVESTIGATION_SEED"
    DISPUTED = "DISPUTED"  # some of the list's sources positive, some negative
    NEGATIVE_CLASS = "NEGATIVE_CLASS"  # a false positive or test data: not banked


class HashListFormat(StrEnum):
    CSV = "csv"  # the `threatexchange dataset -P --csv` table
    PLAIN = "plain"  # `pdq <hash>` a line, as the local-file exchange reads


class HashListError(ValueError):
    """A list with problems. `problems` is (line number, what is wrong), the first
    MAX_PROBLEMS_LISTED of `count`; `unknown_labels` the labels the mapping lacked."""

    def __init__(
        self, problems: list[tuple[int, str]], count: int, unknown_labels: frozenset[str]
    ) -> None:
        self.problems = problems
        self.count = count
        self.unknown_labels = unknown_labels
        listed = "\n".join(f"line {number}: {what}" for number, what in problems)
        more = f"\n... and {count - len(problems)} more" if count > len(problems) else ""
        super().__init__(f"the list was not loaded, {count} problem(s):\n{listed}{more}")


@dataclass(frozen=True, slots=True)
class HashListEntry:
    pdq: str  # 64 lower-case hexadecimal digits
    category: str  # the pack's moderation category the label maps to
    label: str  # the list's label that was mapped: one of the tags, or the list's name
    collab: str  # the list the row came from ("" if the file does not say)
    opinion: Opinion
    tags: tuple[str, ...]
    line: int


@dataclass
class HashListReader:
    """Reads one list. `categories` maps the list's labels to the pack's moderation
    categories; `list_name` is the list's name where the file gives none (the plain format, or
    a CSV without `collab`). After read(), `skipped` counts the rows passed over, by reason."""

    categories: Mapping[str, str]
    list_name: str = ""
    skipped: Counter[str] = field(default_factory=Counter)
    list_format: HashListFormat | None = field(default=None, init=False)  # from the first line

    def read(self, lines: Iterable[str]) -> Iterator[HashListEntry]:
        """The list's hashes to bank, one by one; HashListError at the end if any line had
        a problem (at once if the header is unusable)."""
        problems: list[tuple[int, str]] = []
        count = 0
        unknown: set[str] = set()
        columns: dict[str, int] | None = None
        for number, line in enumerate(lines, start=1):
            if number == 1:
                line = line.removeprefix("\ufeff")
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            try:
                if len(line) > MAX_LINE_CHARS:
                    raise _Problem(f"a line of more than {MAX_LINE_CHARS} characters")
                if self.list_format is None:
                    columns = _header(line)
                    if columns is None:
                        self.list_format = HashListFormat.PLAIN
                    else:
                        self.list_format = HashListFormat.CSV
                        continue
                entry = self._entry(number, line, columns, unknown)
            except _Problem as problem:
                count += 1
                if len(problems) < MAX_PROBLEMS_LISTED:
                    problems.append((number, str(problem)))
                if self.list_format is None:  # the header: no row can be read without it
                    break
                continue
            if entry is not None:
                yield entry
        if count:
            raise HashListError(problems, count, frozenset(unknown))

    def _entry(
        self, number: int, line: str, columns: dict[str, int] | None, unknown: set[str]
    ) -> HashListEntry | None:
        if columns is None:
            words = line.split()
            if len(words) > 2:
                raise _Problem(f"expected `pdq <hash>` or a bare hash, not {len(words)} words")
            signal_type = words[0] if len(words) == 2 else PDQ_SIGNAL_TYPE
            signal = words[-1]
            collab, opinion = self.list_name, Opinion.POSITIVE_CLASS
            tags: tuple[str, ...] = ()
        else:
            fields = _fields(line)
            if len(fields) != len(columns):
                raise _Problem(f"expected {len(columns)} fields, not {len(fields)}")
            signal_type = fields[columns["signal_type"]]
            signal = fields[columns["signal_str"]]
            collab = (fields[columns["collab"]] if "collab" in columns else "") or self.list_name
            opinion = _opinion(fields[columns["category"]] if "category" in columns else "")
            tags = tuple(fields[columns["tags"]].split()) if "tags" in columns else ()
        if signal_type != PDQ_SIGNAL_TYPE:
            if not signal_type:
                raise _Problem("no signal_type")
            self._skip(f"signal type {signal_type}")
            return None
        try:
            pdq = normalize_pdq(signal)
        except PdqHashInvalid as error:
            raise _Problem(str(error)) from None
        if opinion is Opinion.NEGATIVE_CLASS:
            self._skip(Opinion.NEGATIVE_CLASS.value)
            return None
        labels = (*tags, collab) if collab else tags
        label = next((label for label in labels if label in self.categories), None)
        if label is None:
            if len(unknown) < MAX_PROBLEMS_LISTED:
                unknown.update(labels)
            named = ", ".join(repr(label) for label in labels) or "none (name the list)"
            raise _Problem(f"no moderation category for its labels: {named}")
        return HashListEntry(pdq, self.categories[label], label, collab, opinion, tags, number)

    def _skip(self, reason: str) -> None:
        if reason not in self.skipped and len(self.skipped) >= MAX_SKIP_REASONS:
            reason = "signal type (others)"
        self.skipped[reason] += 1


class _Problem(Exception):
    """What is wrong with one line."""


def _fields(line: str) -> list[str]:
    try:
        return [field.strip() for field in next(csv.reader([line], strict=True))]
    except csv.Error as error:
        raise _Problem(f"malformed CSV: {error}") from None


def _header(line: str) -> dict[str, int] | None:
    """The CSV's columns by name, if this first line is its header."""
    try:
        names = [field.strip() for field in next(csv.reader([line], strict=True))]
    except csv.Error:
        return None
    if not set(names) >= REQUIRED_COLUMNS:
        return None
    if len(set(names)) < len(names):
        raise _Problem("the header names a column twice")
    return {name: position for position, name in enumerate(names)}


def _opinion(text: str) -> Opinion:
    if not text:
        return Opinion.POSITIVE_CLASS  # a list that gives none lists what it holds against
    try:
        return Opinion(text)
    except ValueError:
        known = ", ".join(opinion.value for opinion in Opinion)
        raise _Problem(f"category {text!r} is not one of {known}") from None


@dataclass(frozen=True, slots=True)
class BankedHash:
    pdq: str
    category: str  # the pack's moderation category: written as the row's tag
    opinion: Opinion = Opinion.POSITIVE_CLASS


def write_hash_list(
    hashes: Iterable[BankedHash],
    *,
    collab: str,
    list_format: HashListFormat = HashListFormat.CSV,
) -> Iterator[str]:
    """The lines of a list of these hashes (each ending in a newline), as `collab`: the CSV
    with its header, each row with its opinion and tagged with its category, or the plain file
    (which keeps neither)."""
    if any(char in collab for char in "\r\n"):
        raise ValueError("a list's name is one line")
    if list_format is HashListFormat.PLAIN:
        for banked in hashes:
            yield f"{PDQ_SIGNAL_TYPE} {normalize_pdq(banked.pdq)}\n"
        return
    yield _csv_line(CSV_COLUMNS)
    for banked in hashes:
        if not banked.category or any(char.isspace() for char in banked.category):
            raise ValueError("a category is written as a tag: one word")
        yield _csv_line(
            (
                PDQ_SIGNAL_TYPE,
                normalize_pdq(banked.pdq),
                collab,
                banked.opinion.value,
                banked.category,
            )
        )


def _csv_line(fields: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue()
