"""The content check before delivery: the lexicon scan, the hash bank of removed texts and their
near copies, the decision per surface, and the statement of reasons of every decision other
than allow. Staff edit the lexicon here too."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from townhall.domain import normalize
from townhall.domain.errors import ErrorCode, InvalidInput, NotFound, PolicyRefusal
from townhall.domain.lexicon import Lexicon, LexiconFileError, Term, parse_lexicon
from townhall.domain.moderation import (
    SURFACES,
    Decision,
    ModerationRules,
    Reason,
    Verdict,
    decide,
    strictest,
    too_common_to_bank,
)
from townhall.domain.near_duplicates import NearDuplicates, Sketch, sketch
from townhall.domain.permissions import Permission
from townhall.services.audit import AuditTrail
from townhall.services.caches import Invalidations, Topic
from townhall.services.image_bank import ImageBank, ImageBankListing
from townhall.services.principal import Principal, require
from townhall.store import moderation as moderation_store
from townhall.store import review as review_store
from townhall.store.database import Database, DbConnection
from townhall.store.media import StoredMedia
from townhall.store.review import BankEntry

log = logging.getLogger(__name__)
UPSERT_CHUNK = 5_000
HASH_MATCH = "hash"
NEAR_MATCH = "near_duplicate"
EXCERPT_CHARS = 200  # of a banked text, in its statement of reasons


@dataclass(frozen=True, slots=True)
class Banked:
    """What the hash bank keeps of a removed text: its digest, and its sketch for near copies."""

    digest: bytes
    sketch: Sketch


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement of reasons as staff read it: its stored row with its reasons read back."""

    id: int
    surface: str
    decision: str
    author_id: int | None
    subject_type: str
    subject_id: int | None
    reasons: list[dict[str, Any]]  # as stored: Reason.render() of each
    automated: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class Judged:
    verdict: Verdict
    skeleton: str


@dataclass(frozen=True, slots=True)
class TriedText:
    """What the check would decide on a text, and the text as it reads it (normalized)."""

    decision: str
    reasons: tuple[Reason, ...]
    normalized: str


@dataclass(frozen=True, slots=True)
class LexiconListing:
    """The terms the check matches: the pack's, the operators', and what neither may match."""

    pack_terms: tuple[Term, ...]
    operator_terms: tuple[Term, ...]
    allowlist: tuple[str, ...]  # the pack's, then the operators'


@dataclass(frozen=True, slots=True)
class HashBankListing:
    size: int
    by_category: dict[str, int]
    newest: list[BankEntry]
    images: ImageBankListing


class ContentCheck:
    def __init__(
        self,
        database: Database,
        rules: ModerationRules,
        audit: AuditTrail,
        *,
        clock: Callable[[], float],
        invalidations: Invalidations,
        images: ImageBank,
    ) -> None:
        self._db = database
        self._audit = audit
        self._images = images
        self._rules = rules
        self._clock = clock
        self._invalidations = invalidations
        self._changed_elsewhere = asyncio.Event()
        invalidations.listen(Topic.LEXICON, self._heard_of_change)
        self._pack_terms = [Term(t.text, t.category, t.severity) for t in rules.terms]
        self._operator_terms: list[Term] = []
        self._operator_allowlist: list[str] = []
        self._lexicon = Lexicon.build(
            self._pack_terms, rules.allowlist, homophones=rules.homophones
        )
        self._loaded_version: tuple[int, int] | None = None
        self._bank: dict[bytes, str] = {}  # SHA-256 of a removed text's skeleton -> category
        self._near = self._near_duplicates()  # the same texts' sketches, by the same digests
        self._bank_size = 0

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # The check ----------------------------------------------------------------------------

    def check(self, surface: str, text: str) -> Verdict:
        return self._judged(surface, text).verdict

    def _judged(self, surface: str, text: str) -> Judged:
        """The verdict on `text`, and its skeleton, which the lexicon and the bank matched."""
        if surface not in SURFACES:
            raise InvalidInput(
                f"surface must be one of: {', '.join(SURFACES)}", code=ErrorCode.SURFACE_INVALID
            )
        inspection = self._lexicon.inspect(text)
        banked = self._bank.get(hashlib.sha256(inspection.skeleton.encode()).digest())
        how = HASH_MATCH
        if banked is None:
            near = self._near.find(inspection.skeleton)
            banked, how = (None, how) if near is None else (near.category, NEAR_MATCH)
        if banked is not None:  # removed before, or nearly: blocked on every surface
            excerpt = text[:EXCERPT_CHARS]
            reason = Reason(banked, self._rules.severities[-1], "", excerpt, how)
            return Judged(Verdict(Decision.BLOCK, (reason,)), inspection.skeleton)
        return Judged(decide(text, inspection.matches, surface, self._rules), inspection.skeleton)

    def fingerprint(self, text: str) -> Banked | None:
        """What the hash bank keeps of a removed text, or None for one too short to bank."""
        skeleton = normalize.skeleton(text)
        if too_common_to_bank(skeleton):
            return None
        return Banked(hashlib.sha256(skeleton.encode()).digest(), sketch(skeleton))

    def banked(self, removed: Banked, category: str) -> None:
        """A removal committed: the same text, and near copies of it, are blocked from now on."""
        self._bank[removed.digest] = category
        self._near.add(removed.digest, removed.sketch, category)
        self._bank_size = len(self._bank)
        self._tell_other_processes()

    def unbanked(self, digest: bytes) -> None:
        """A removal reversed on appeal: the text may be said again."""
        self._bank.pop(digest, None)
        self._near.remove(digest)
        self._bank_size = len(self._bank)
        self._tell_other_processes()

    def _tell_other_processes(self) -> None:
        """They load the lexicon and the bank again at once, not at their next round."""
        self._invalidations.forget(Topic.LEXICON, 0)

    def _heard_of_change(self, _key: object) -> None:
        # `load` rebuilds only what changed: here, where the change was made, nothing.
        self._changed_elsewhere.set()

    def _near_duplicates(self) -> NearDuplicates:
        return NearDuplicates(
            threshold=self._rules.near_duplicate_threshold,
            min_chars=self._rules.near_duplicate_min_chars,
        )

    def _bank_from(self, rows: Sequence[Any]) -> tuple[dict[bytes, str], NearDuplicates]:
        bank = {bytes.fromhex(row.digest): row.category for row in rows}
        near = self._near_duplicates()
        for row in rows:
            if row.sketch is not None:  # banked before sketches were kept: exact copies only
                near.add(bytes.fromhex(row.digest), Sketch.from_bytes(row.sketch), row.category)
        return bank, near

    async def screen(
        self,
        surface: str,
        text: str,
        *,
        author_id: int | None,
        subject_type: str,
        media: Sequence[StoredMedia] = (),
    ) -> Verdict:
        """The verdict on text about to be stored, and on the images it carries (copies of
        banked ones); a block is recorded and refused here."""
        said = self.check(surface, text)
        shown = self._images.match(surface, media)
        verdict = strictest(said, shown) if shown.decision != Decision.ALLOW else said
        if verdict.decision == Decision.BLOCK:
            async with self._db.writing() as conn:
                await self.record(
                    conn,
                    verdict,
                    surface=surface,
                    author_id=author_id,
                    subject_type=subject_type,
                    subject_id=None,
                )
            if said.decision == Decision.BLOCK:
                raise PolicyRefusal(
                    f"refused: the text matches {', '.join(said.categories)} content",
                    code=ErrorCode.CONTENT_BLOCKED,
                    subjects=tuple(said.categories),
                )
            raise PolicyRefusal(
                f"refused: an image is a copy of removed {', '.join(shown.categories)} content",
                code=ErrorCode.MEDIA_BLOCKED,
                subjects=tuple(shown.categories),
            )
        return verdict

    async def record(
        self,
        conn: DbConnection,
        verdict: Verdict,
        *,
        surface: str,
        author_id: int | None,
        subject_type: str,
        subject_id: int | None,
    ) -> None:
        """The statement of reasons, in the caller's write transaction."""
        await moderation_store.insert_statement(
            conn,
            surface=surface,
            decision=verdict.decision,
            author_id=author_id,
            subject_type=subject_type,
            subject_id=subject_id,
            reasons=orjson.dumps([reason.render() for reason in verdict.reasons]).decode(),
            automated=int(verdict.automated),
            created_at=self._now_ms(),
        )

    async def statements(self, actor: Principal, *, after: int, limit: int) -> list[Statement]:
        require(actor, Permission.READ_STATEMENTS)
        # Statements quote what their authors wrote: every look is recorded.
        async with self._db.writing() as conn:
            rows = await moderation_store.statements(conn, after=after, limit=limit)
            await self._audit.record_read(conn, actor, "statement", [row.id for row in rows])
        return [
            Statement(
                id=row.id,
                surface=row.surface,
                decision=row.decision,
                author_id=row.author_id,
                subject_type=row.subject_type,
                subject_id=row.subject_id,
                reasons=orjson.loads(row.reasons),
                automated=bool(row.automated),
                created_at=row.created_at,
            )
            for row in rows
        ]

    # The lexicon ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Rebuild from the pack and the operators' entries when those changed; take in what
        other processes added to the hash bank."""
        banked_rows = None
        async with self._db.reading() as conn:
            rows = await moderation_store.entries(conn)
            if await review_store.bank_size(conn) != self._bank_size:
                banked_rows = await review_store.banked(conn)
        if banked_rows is not None:
            # Sketches take a while to read back in a large bank: off the event loop.
            self._bank, self._near = await asyncio.to_thread(self._bank_from, banked_rows)
            self._bank_size = len(self._bank)
        version = (len(rows), max((row.added_at for row in rows), default=0))
        if version == self._loaded_version:
            return
        terms = [
            Term(row.text, row.category, row.severity)
            for row in rows
            # A term's entry always has both (an allowed text has neither).
            if row.kind == moderation_store.TERM
            and row.category is not None
            and row.severity is not None
        ]
        terms = self._known_to_pack(terms)
        allowlist = [row.text for row in rows if row.kind == moderation_store.ALLOW]
        # A large lexicon takes seconds to compile: off the event loop, then swapped at once.
        lexicon = await asyncio.to_thread(
            Lexicon.build,
            [*self._pack_terms, *terms],
            [*self._rules.allowlist, *allowlist],
            homophones=self._rules.homophones,
        )
        self._operator_terms, self._operator_allowlist = terms, allowlist
        self._lexicon = lexicon
        self._loaded_version = version

    def _known_to_pack(self, terms: list[Term]) -> list[Term]:
        """Entries whose category or severity the pack no longer has are left out (and said
        so), or every message matching one would fail to find its decision."""
        known = [
            term
            for term in terms
            if term.category in self._rules.categories and term.severity in self._rules.severities
        ]
        if len(known) < len(terms):
            log.warning(
                "%d lexicon entries name a category or severity the policy pack does not have; "
                "they are not in force",
                len(terms) - len(known),
            )
        return known

    async def keep_loaded(self, interval_seconds: float) -> None:
        """Pick up what another process changed: at once when it says so over the bus, else at
        the next round (a CLI command on the memory bus says nothing); a failed round is tried
        again."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed_elsewhere.wait(), interval_seconds)
            self._changed_elsewhere.clear()
            try:
                await self.load()
            except Exception:
                log.exception("reloading the lexicon failed; the current one stays in force")

    def parse(self, text: str) -> list[Term]:
        """An operator's lexicon file: every problem listed by line, or nothing at all."""
        return parse_lexicon(
            text, categories=self._rules.categories, severities=self._rules.severities
        )

    async def add_terms(
        self,
        terms: Iterable[Term],
        *,
        actor: Principal | None,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Add or update terms in one transaction: all of them or, on failure, none. `actor`
        None: an operator's file at the command line."""
        now_ms = self._now_ms()
        added_by = None if actor is None else actor.account_id
        rows = [
            {
                "kind": moderation_store.TERM,
                "text": term.text,
                "category": term.category,
                "severity": term.severity,
                "added_by": added_by,
                "added_at": now_ms,
            }
            for term in terms
        ]
        async with self._db.writing() as conn:
            for start in range(0, len(rows), UPSERT_CHUNK):
                chunk = rows[start : start + UPSERT_CHUNK]
                await moderation_store.upsert_entries(conn, chunk)
                if on_progress is not None:
                    on_progress(len(chunk))
            details = (
                {key: rows[0][key] for key in ("text", "category", "severity")}
                if len(rows) == 1
                else {"terms": len(rows)}
            )
            await self._audit.record(conn, actor, "lexicon.add", details=details)
        await self.load()
        self._tell_other_processes()
        return len(rows)

    def _forget_lexicon(self) -> None:
        """Load the entries again: a removal can leave their count and newest time unchanged."""
        self._loaded_version = None

    def export(self) -> list[Term]:
        return list(self._operator_terms)

    async def add_term(self, actor: Principal, *, text: str, category: str, severity: str) -> Term:
        require(actor, Permission.EDIT_LEXICON)
        try:  # the same checks as a file, one line long
            (term,) = self.parse(_csv_line(text, category, severity))
        except LexiconFileError as error:
            _, problem = error.problems[0]
            raise InvalidInput(
                f"the term is not valid: {problem}", code=ErrorCode.TERM_INVALID
            ) from None
        await self.add_terms([term], actor=actor)
        return term

    async def remove_term(self, actor: Principal, text: str) -> None:
        require(actor, Permission.EDIT_LEXICON)
        async with self._db.writing() as conn:
            removed = await moderation_store.delete_entry(conn, moderation_store.TERM, text)
            if not removed:
                raise NotFound("no such operator term", code=ErrorCode.TERM_NOT_FOUND)
            await self._audit.record(conn, actor, "lexicon.remove", details={"text": text})
            conn.after_commit(self._forget_lexicon)
        await self.load()
        self._tell_other_processes()

    def listing(self, actor: Principal) -> LexiconListing:
        require(actor, Permission.READ_LEXICON)
        return LexiconListing(
            tuple(self._pack_terms),
            tuple(self._operator_terms),
            (*self._rules.allowlist, *self._operator_allowlist),
        )

    async def hash_bank(self, actor: Principal, *, limit: int) -> HashBankListing:
        """What the bank holds, by category, and its newest entries (digests, not texts); and
        the image hash bank likewise."""
        require(actor, Permission.READ_LEXICON)
        async with self._db.reading() as conn:
            by_category = await review_store.bank_by_category(conn)
            newest = await review_store.newest_banked(conn, limit=limit)
            images = await self._images.listing(conn, limit=limit)
        return HashBankListing(sum(by_category.values()), by_category, newest, images)

    def try_text(self, actor: Principal, surface: str, text: str) -> TriedText:
        """What the check would decide, and the normalized form it matched, recording nothing."""
        require(actor, Permission.READ_LEXICON)
        return self.trial(surface, text)

    def trial(self, surface: str, text: str) -> TriedText:
        """try_text for the operator at the command line, who needs no role."""
        judged = self._judged(surface, text)
        return TriedText(judged.verdict.decision, judged.verdict.reasons, judged.skeleton)


def _csv_line(*fields: str) -> str:
    return ",".join('"' + field.replace('"', '""') + '"' for field in fields)
