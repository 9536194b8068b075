"""The image hash bank: the PDQ hashes of images reviewers removed and of the hash lists operators
import (the formats of Meta's ThreatExchange tools, domain/hash_lists.py), held by every process
in an in-memory index that finds an attached image's copies within the pack's distance; what a
copy does per surface; the bank's import, export and listing (docs/media.md).

The index (domain/pdq_index.py) is not thread-safe, and a bank of 1,000,000 hashes takes seconds
to read and build: a load reads the rows a page at a time, builds a new index in a thread and
swaps it in, and changes made here meanwhile are applied to the new one too. A single hash
banked or unbanked here changes the index at once (microseconds; one add in UNINDEXED_LIMIT
merges, 0.1 to 0.3 s at a million) and is told to the other processes, which read that row; an
import is told as "load everything". Each process also counts the bank every
`lexicon_reload_interval_seconds` and loads it again when the count differs from its own (a
command-line import on the memory bus says nothing)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import re
import secrets
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from townhall.domain.errors import ErrorCode, InvalidInput, NotFound, TooLarge
from townhall.domain.hash_lists import (
    BankedHash,
    HashListError,
    HashListFormat,
    HashListReader,
    Opinion,
    write_hash_list,
)
from townhall.domain.moderation import (
    ALLOWED,
    DECISION_ORDER,
    IMAGE_MATCH,
    Decision,
    Reason,
    Verdict,
    image_decision,
)
from townhall.domain.oversight import UNSPECIFIED
from townhall.domain.pdq import PdqHashInvalid, normalize_pdq
from townhall.domain.permissions import Permission
from townhall.domain.policy import PolicyPack
from townhall.services.audit import AuditTrail
from townhall.services.caches import Invalidations, Topic
from townhall.services.principal import Principal, require
from townhall.store import image_bank as bank_store
from townhall.store import media as media_store
from townhall.store.database import Database, DbConnection, Transaction
from townhall.store.image_bank import ImageBankEntry
from townhall.store.media import StoredMedia

if TYPE_CHECKING:
    from townhall.domain.pdq_index import PdqIndex

log = logging.getLogger(__name__)

LOAD_PAGE = 20_000  # rows a read of the bank takes at a time (SQLite reads on the event loop)
UPSERT_CHUNK = 5_000
EXPORT_PAGE = 5_000
MAX_LIST_NAME_CHARS = 128  # image_hash_bank.list_name
MAX_CATEGORY_PAIRS = 1_000
MAX_PAIR_CHARS = 256
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
INDEX_MODULE = "townhall.domain.pdq_index"  # imported with the first banked hash
EVERYTHING = ""  # a change's hash when it may have changed any row: load the whole bank again
REVIEWED = "review"  # the term of a reason whose hash a reviewer's removal banked


class Label(NamedTuple):
    """What the bank says of a hash besides the hash: shared by every hash it holds alike."""

    category: str
    opinion: str
    list_name: str | None  # None: banked by a reviewer's removal


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import banked: how many of the list's hashes, by category, and what it passed
    over (other signal types, NEGATIVE_CLASS rows) by reason."""

    list_name: str
    list_format: str
    banked: int
    by_category: dict[str, int]
    held: int  # banked as INVESTIGATION_SEED or DISPUTED: copies are held, not blocked
    skipped: dict[str, int]


@dataclass(frozen=True, slots=True)
class ImageBankListing:
    size: int
    by_category: dict[str, int]
    newest: list[ImageBankEntry]


@dataclass
class _Loaded:
    """An index, the labels of its keys, and when the newest hash it took was banked: with
    its count, what a process compares with the bank's to tell whether it missed a change."""

    index: PdqIndex[int] | None = None  # None until a hash is first banked
    labels: list[Label] = field(default_factory=list)
    newest: int = 0

    def __len__(self) -> int:
        return len(self.index) if self.index is not None else 0

    def indexed(self) -> PdqIndex[int]:
        if self.index is None:
            # numpy loads with the first banked hash: a server whose bank is empty does
            # without its ~16 MB.
            from townhall.domain.pdq_index import PdqIndex  # INDEX_MODULE

            self.index = PdqIndex()
        return self.index


class ImageBank:
    def __init__(
        self,
        database: Database,
        pack: PolicyPack,
        audit: AuditTrail,
        *,
        clock: Callable[[], float],
        invalidations: Invalidations,
        max_list_bytes: int,
    ) -> None:
        self._db = database
        self._max_list_bytes = max_list_bytes
        rules = pack.moderation
        self._rules = rules.images
        self._categories = rules.categories
        # What a removal may bank an image as besides the pack's categories: a report's reason
        # (`other`), or none named. An exported bank's tags map to themselves on import.
        self._own_labels = (*pack.review.report_reasons, UNSPECIFIED)
        self._severity = rules.severities[-1]  # a copy of removed content, as a text's copy
        self._audit = audit
        self._clock = clock
        self._invalidations = invalidations
        self._loaded = _Loaded()
        self._in_use = False  # loaded by a server, which keeps it: a command never loads it
        self._interned: dict[Label, Label] = {}
        # A load swaps in a new index: what this process changes while it reads the bank is
        # applied to both (None: unbanked).
        self._load_lock = asyncio.Lock()
        self._loading = False
        self._changed_while_loading: list[tuple[str, Label | None, int]] = []
        # What other processes said changed, for keep_loaded to read; EVERYTHING: all of it.
        self._origin = secrets.token_hex(8)  # this process's own changes are not read again
        self._heard: set[str] = set()
        self._changed_elsewhere = asyncio.Event()
        invalidations.listen(Topic.IMAGE_BANK, self._heard_of_change)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def __len__(self) -> int:
        return len(self._loaded)

    # Copies -------------------------------------------------------------------------------

    def match(self, surface: str, media: Sequence[StoredMedia]) -> Verdict:
        """What the pack does on this surface with the images among `media` that are copies of
        banked ones: the most restrictive decision, a reason for each copy."""
        decisions: list[str] = []
        reasons: list[Reason] = []
        for item in media:
            if item.pdq is None or (item.pdq_quality or 0) < self._rules.min_quality:
                continue  # a file, or an image too flat to tell its copies from chance
            found = self._copy_of(surface, item.pdq)
            if found is None:
                continue
            decision, label, distance = found
            decisions.append(decision)
            reasons.append(
                Reason(
                    label.category,
                    self._severity,
                    label.list_name or REVIEWED,
                    f"media {item.id}: {distance} bits from a banked image",
                    IMAGE_MATCH,
                )
            )
        if not decisions:
            return ALLOWED
        return Verdict(max(decisions, key=DECISION_ORDER.index), tuple(reasons))

    def _copy_of(self, surface: str, pdq: str) -> tuple[str, Label, int] | None:
        """The most restrictive decision a banked hash near this one calls for (the nearest
        such), or None where none does more than allow."""
        found = None
        loaded = self._loaded
        if loaded.index is None:
            return None
        for match in loaded.index.nearest(pdq, self._rules.max_distance):  # nearest first
            label = loaded.labels[match.key]
            decision = image_decision(self._rules, surface, label.opinion)
            if found is None or DECISION_ORDER.index(decision) > DECISION_ORDER.index(found[0]):
                found = (decision, label, match.distance)
        if found is None or found[0] == Decision.ALLOW:
            return None
        return found

    def bankable(self, media: Iterable[StoredMedia]) -> list[str]:
        """The hashes of those of `media` that a removal banks: images of enough PDQ quality."""
        return sorted(
            {
                item.pdq
                for item in media
                if item.pdq is not None and (item.pdq_quality or 0) >= self._rules.min_quality
            }
        )

    # Banking by review ------------------------------------------------------------------------

    async def bank_removed(
        self, conn: Transaction, media_ids: Sequence[int], *, category: str, case_id: int
    ) -> list[str]:
        """The removed images join the bank, in the removal's transaction; copies of them are
        refused from its commit on. Returns the hashes banked (one banked before keeps what
        banked it first)."""
        pdqs = self.bankable((await media_store.of_ids(conn, media_ids)).values())
        now_ms = self._now_ms()
        pdqs = await bank_store.bank(
            conn,
            [
                {
                    "pdq": pdq,
                    "category": category,
                    "opinion": Opinion.POSITIVE_CLASS,
                    "source": bank_store.REVIEW,
                    "list_name": None,
                    "case_id": case_id,
                    "added_at": now_ms,
                }
                for pdq in pdqs
            ],
        )
        if pdqs:
            await _index_loaded()
            label = Label(category, Opinion.POSITIVE_CLASS, None)
            conn.after_commit(partial(self.banked, pdqs, label, now_ms))
        return pdqs

    async def unbank_case(self, conn: Transaction, case_id: int) -> list[str]:
        """A removal reversed on appeal: its images may be sent again once this commits."""
        pdqs = await bank_store.unbank(conn, case_id)
        if pdqs:
            conn.after_commit(partial(self.unbanked, pdqs))
        return pdqs

    def banked(self, pdqs: Sequence[str], label: Label, added_at: int) -> None:
        """Banked hashes, committed: in force here at once, and in the other processes."""
        for pdq in pdqs:
            self._change(pdq, label, added_at)
        self._tell_other_processes(pdqs)

    def unbanked(self, pdqs: Sequence[str]) -> None:
        for pdq in pdqs:
            self._change(pdq, None, 0)
        self._tell_other_processes(pdqs)

    def _change(self, pdq: str, label: Label | None, added_at: int) -> None:
        label = None if label is None else self._intern(label)
        _put(self._loaded, pdq, label, added_at)
        if self._loading:  # the index being built may have read the row before or after
            self._changed_while_loading.append((pdq, label, added_at))

    def _intern(self, label: Label) -> Label:
        return self._interned.setdefault(label, label)

    def _tell_other_processes(self, pdqs: Sequence[str]) -> None:
        for pdq in pdqs:
            self._invalidations.forget(Topic.IMAGE_BANK, (self._origin, pdq))

    def _heard_of_change(self, key: object) -> None:
        if not isinstance(key, tuple) or len(key) != 2 or key[0] == self._origin:
            return  # changed here: in force already
        self._heard.add(str(key[1]))
        self._changed_elsewhere.set()

    # Loading ------------------------------------------------------------------------------

    async def load(self, *, everything: bool = False) -> None:
        """Read the bank and swap in a new index, where its count or its newest hash differs
        from the index's (a change this process missed), or `everything` (an import may have
        changed rows without adding any)."""
        self._in_use = True
        async with self._load_lock:
            if not everything:
                async with self._db.reading() as conn:
                    count, newest = await bank_store.signature(conn)
                if (count, newest) == (len(self._loaded), self._loaded.newest):
                    return
            self._loading = True
            try:
                rows: list[bank_store.IndexedRow] = []
                after = ""
                while True:
                    async with self._db.reading() as conn:
                        page = await bank_store.page(conn, after=after, limit=LOAD_PAGE)
                    rows += page
                    if len(page) < LOAD_PAGE:
                        break
                    after = page[-1][0]
                loaded = await asyncio.to_thread(self._built, rows)
                for pdq, label, added_at in self._changed_while_loading:
                    _put(loaded, pdq, label, added_at)
                self._loaded = loaded
            finally:
                self._loading = False
                self._changed_while_loading.clear()

    def _built(self, rows: list[bank_store.IndexedRow]) -> _Loaded:
        """A new index of the rows: in a thread, touching nothing the event loop uses but the
        interned labels (only ever added to, each under the GIL)."""
        loaded = _Loaded()
        loaded.labels = [
            self._intern(Label(category, opinion, name)) for _, category, opinion, name, _ in rows
        ]
        if rows:
            loaded.indexed().add_many((row[0], key) for key, row in enumerate(rows))
        loaded.newest = max((row[4] for row in rows), default=0)
        return loaded

    async def _read_changes(self, pdqs: set[str]) -> None:
        """The rows other processes changed, as they now are (gone: unbanked)."""
        async with self._load_lock:
            async with self._db.reading() as conn:
                found = {row.pdq: row for row in await bank_store.of_pdqs(conn, sorted(pdqs))}
            await _index_loaded()
            for pdq in pdqs:
                row = found.get(pdq)
                if row is None:
                    _put(self._loaded, pdq, None, 0)
                else:
                    label = self._intern(Label(row.category, row.opinion, row.list_name))
                    _put(self._loaded, pdq, label, row.added_at)

    async def keep_loaded(self, interval_seconds: float) -> None:
        """Take in what other processes changed: at once when they say so over the bus, else
        at the next round where the bank's count or newest hash differs from the index's; a
        failed round is tried again."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed_elsewhere.wait(), interval_seconds)
            self._changed_elsewhere.clear()
            heard, self._heard = self._heard, set()
            try:
                if EVERYTHING in heard:
                    await self.load(everything=True)
                elif heard:
                    await self._read_changes(heard)
                await self.load()
            except Exception:
                log.exception("reloading the image hash bank failed; the current one stays")

    # Import, export, listing ----------------------------------------------------------------

    def category_map(self, pairs: Iterable[str]) -> dict[str, str]:
        """A list's labels mapped to the pack's categories from `label=category` pairs; a label
        that is already one of the pack's categories, or one a removal banks an image as
        (`other`, `unspecified`), maps to itself unless a pair says otherwise (so an exported
        bank imports as it is)."""
        pairs = list(pairs)
        if len(pairs) > MAX_CATEGORY_PAIRS or any(len(pair) > MAX_PAIR_CHARS for pair in pairs):
            raise InvalidInput(
                f"a category mapping has at most {MAX_CATEGORY_PAIRS} pairs of at most "
                f"{MAX_PAIR_CHARS} characters",
                code=ErrorCode.CATEGORY_MAP_INVALID,
            )
        mapping = {label: label for label in (*self._categories, *self._own_labels)}
        for pair in pairs:
            label, equals, category = pair.partition("=")
            label, category = label.strip(), category.strip()
            if not equals or not label or category not in self._categories:
                raise InvalidInput(
                    f"a category mapping is label=category, the category one of "
                    f"{', '.join(self._categories)}",
                    code=ErrorCode.CATEGORY_MAP_INVALID,
                )
            mapping[label] = category
        return mapping

    async def import_upload(
        self,
        actor: Principal,
        body: AsyncIterator[bytes],
        *,
        list_name: str,
        category_map: Sequence[str],
    ) -> Imported:
        """A list sent over the admin API: read whole within max_hash_list_bytes (413
        `hash_list_too_large` as soon as it passes them), then imported as import_list."""
        require(actor, Permission.EDIT_LEXICON)
        mapping = self.category_map(category_map)
        received = bytearray()
        async for chunk in body:
            received += chunk
            if len(received) > self._max_list_bytes:
                raise TooLarge(
                    f"a hash list sent here is limited to {self._max_list_bytes} bytes "
                    "(max_hash_list_bytes); import a larger one with `townhall moderation "
                    "image-hashes import`",
                    code=ErrorCode.HASH_LIST_TOO_LARGE,
                )
        try:
            lines = received.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            raise InvalidInput(
                "the list was not loaded: it is not UTF-8 text", code=ErrorCode.HASH_LIST_INVALID
            ) from None
        del received
        return await self.import_list(
            actor, lambda: lines, list_name=list_name, category_map=mapping
        )

    async def import_list(
        self,
        actor: Principal | None,
        lines: Callable[[], Iterable[str]],
        *,
        list_name: str,
        category_map: Mapping[str, str],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Imported:
        """Bank a hash list: all of it, or, with any problem, none (400 `hash_list_invalid`
        listing the first problems by line). `lines()` gives the list's lines each time it is
        called: it is read once to check it whole, then again in one transaction
        (`on_progress(written, rows)` after each chunk). `actor` None: an operator's file at
        the command line."""
        if actor is not None:
            require(actor, Permission.EDIT_LEXICON)
        list_name = check_list_name(list_name)
        checked = self._reader(list_name, category_map)
        try:  # every line parsed: a second or so for 100,000, off the event loop
            by_category, held = await asyncio.to_thread(_counted, checked, lines)
        except HashListError as error:
            raise InvalidInput(str(error), code=ErrorCode.HASH_LIST_INVALID) from None
        rows = sum(by_category.values())
        list_format = str(checked.list_format or HashListFormat.PLAIN)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            # By hash: a list that names one twice banks it once, as its last line says.
            chunk: dict[str, dict[str, object]] = {}
            for entry in self._reader(list_name, category_map).read(lines()):
                chunk[entry.pdq] = {
                    "pdq": entry.pdq,
                    "category": entry.category,
                    "opinion": entry.opinion,
                    "source": bank_store.IMPORT,
                    "list_name": list_name,
                    "case_id": None,
                    "added_at": now_ms,
                }
                if len(chunk) == UPSERT_CHUNK:
                    await bank_store.upsert(conn, list(chunk.values()))
                    if on_progress is not None:
                        on_progress(len(chunk), rows)
                    chunk = {}
            await bank_store.upsert(conn, list(chunk.values()))
            if on_progress is not None:
                on_progress(len(chunk), rows)
            imported = Imported(
                list_name,
                list_format,
                sum(by_category.values()),
                dict(sorted(by_category.items())),
                held,
                dict(checked.skipped),
            )
            details = {
                "list": list_name,
                "format": list_format,
                "banked": imported.banked,
                "by_category": imported.by_category,
                "held": held,
                "skipped": imported.skipped,
            }
            await self._audit.record(conn, actor, "image_hashes.import", details=details)
        if self._in_use:  # a server's: its copies are refused from the answer on
            await self.load(everything=True)
        self._invalidations.forget(Topic.IMAGE_BANK, (self._origin, EVERYTHING))
        return imported

    @staticmethod
    def _reader(list_name: str, category_map: Mapping[str, str]) -> HashListReader:
        return HashListReader(categories=category_map, list_name=list_name)

    async def remove(self, actor: Principal, pdq: str) -> None:
        """Take one hash out of the bank (a false positive of an imported list, say)."""
        require(actor, Permission.EDIT_LEXICON)
        try:
            pdq = normalize_pdq(pdq)
        except PdqHashInvalid as error:
            raise InvalidInput(str(error), code=ErrorCode.PDQ_HASH_INVALID) from None
        async with self._db.writing() as conn:
            if not await bank_store.remove(conn, pdq):
                raise NotFound(
                    "the image hash bank holds no such hash", code=ErrorCode.IMAGE_HASH_NOT_FOUND
                )
            await self._audit.record(conn, actor, "image_hashes.remove", details={"pdq": pdq})
            conn.after_commit(partial(self.unbanked, [pdq]))

    async def export(
        self, actor: Principal | None, *, list_name: str, list_format: HashListFormat
    ) -> AsyncIterator[str]:
        """The bank as a hash list named `list_name`, a page of lines at a time: the CSV tags
        each hash with its category and keeps its opinion; the plain file keeps neither. The
        export is in the audit log before a line of it is read."""
        if actor is not None:
            require(actor, Permission.EXPORT_HASH_BANK)
        list_name = check_list_name(list_name)
        header = "".join(write_hash_list([], collab=list_name, list_format=list_format))
        async with self._db.writing() as conn:
            details = {"list": list_name, "format": str(list_format)}
            await self._audit.record(conn, actor, "image_hashes.export", details=details)
        return self._export_lines(header, list_name, list_format)

    async def _export_lines(
        self, header: str, list_name: str, list_format: HashListFormat
    ) -> AsyncIterator[str]:
        if header:
            yield header
        after = ""
        while True:
            async with self._db.reading() as conn:
                page = await bank_store.entries(conn, after=after, limit=EXPORT_PAGE)
            if page:
                hashes = [BankedHash(e.pdq, e.category, Opinion(e.opinion)) for e in page]
                lines = write_hash_list(hashes, collab=list_name, list_format=list_format)
                if header:  # each CSV it writes begins with one
                    next(lines)
                yield "".join(lines)
            if len(page) < EXPORT_PAGE:
                return
            after = page[-1].pdq

    async def listing(self, conn: DbConnection, *, limit: int) -> ImageBankListing:
        """What the bank holds, by category, and its newest hashes."""
        by_category = await bank_store.by_category(conn)
        newest = await bank_store.newest(conn, limit=limit)
        return ImageBankListing(sum(by_category.values()), by_category, newest)


def _counted(
    reader: HashListReader, lines: Callable[[], Iterable[str]]
) -> tuple[Counter[str], int]:
    """The list read through, checked: its hashes by category, and how many it is unsure of."""
    by_category: Counter[str] = Counter()
    held = 0
    for entry in reader.read(lines()):
        by_category[entry.category] += 1
        held += entry.opinion != Opinion.POSITIVE_CLASS
    return by_category, held


def check_list_name(name: str) -> str:
    """A list's name as it is kept and written (a CSV's `collab`): one line of at most
    MAX_LIST_NAME_CHARS characters, no control characters."""
    name = name.strip()
    if not 0 < len(name) <= MAX_LIST_NAME_CHARS or CONTROL_CHARS.search(name):
        raise InvalidInput(
            f"the list was not loaded: its name is 1 to {MAX_LIST_NAME_CHARS} characters, "
            "without control characters",
            code=ErrorCode.HASH_LIST_INVALID,
        )
    return name


async def _index_loaded() -> None:
    """The index's module, and numpy with it, imported in a thread before a first hash is put
    in: on the event loop the import would stall every request for ~140 ms."""
    if INDEX_MODULE not in sys.modules:
        await asyncio.to_thread(importlib.import_module, INDEX_MODULE)


def _put(loaded: _Loaded, pdq: str, label: Label | None, added_at: int) -> None:
    """The hash under a new key with its label, in place of what it was; None: gone."""
    if loaded.index is not None:
        loaded.index.remove_hash(pdq)
    if label is not None:
        loaded.indexed().add(pdq, len(loaded.labels))
        loaded.labels.append(label)
        loaded.newest = max(loaded.newest, added_at)
