"""The lexicon, what the content check would decide on a text, and the statements of reasons."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from townhall.api.models.common import Model, Timestamp

ModerationDecision = Literal["allow", "flag", "hold", "block"]
SurfaceName = Literal["direct", "group", "public_post", "name"]


class LexiconTerm(Model):
    text: str
    category: str
    severity: str


class LexiconListing(Model):
    pack_terms: list[LexiconTerm] = Field(description="the policy pack's")
    operator_terms: list[LexiconTerm] = Field(description="added by staff or the command line")
    allowlist: list[str] = Field(description="the pack's, then the operators'")


class ModerationReason(Model):
    """Why the check decided as it did: one match."""

    category: str
    severity: str
    term: str = Field(description="the lexicon term, news signal or classifier that matched")
    excerpt: str = Field(description="what matched, in the author's own text")
    how: str = Field(
        description="how it was found: a lexicon match's way (`text`, `pinyin`, `homophone`, "
        "`lookalike`), `hash` or `near_duplicate` for a copy of a removed text, `news_pattern` "
        "or `news_term` for the news check, `classifier` for a classifier's score"
    )
    start: int | None = Field(
        None,
        description="where the excerpt begins in the text judged, in Unicode code points; null "
        "when the ground is no place in the text (a copy of removed text, a classifier's score) "
        "or the statement predates offsets",
    )
    end: int | None = Field(None, description="where the excerpt ends (exclusive), likewise")


class CheckedText(Model):
    decision: ModerationDecision
    reasons: list[ModerationReason]
    normalized: str = Field(
        description="the text as the check reads it: NFKC, case-folded, simplified hanzi, "
        "look-alikes folded, separators gone"
    )


class Statement(Model):
    """A statement of reasons: every decision of the check other than allow."""

    id: int
    surface: SurfaceName
    decision: ModerationDecision
    author_id: int | None
    subject_type: str
    subject_id: int | None = Field(description="null when blocked: nothing was stored")
    reasons: list[ModerationReason]
    automated: bool
    created_at: Timestamp


class StatementPage(Model):
    statements: list[Statement]
    next_cursor: str | None
