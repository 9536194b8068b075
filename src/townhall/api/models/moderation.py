"""The lexicon, what the content check would decide on a text, and the statements of reasons."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field

from townhall.api.models.common import Model, Timestamp
from townhall.services.rescan import RescanRun
from townhall.services.trainings import Training

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
    term: str = Field(
        description="the lexicon term, news signal or classifier that matched; for an image, "
        "the hash list its banked copy came from (`review`: a reviewer's removal)"
    )
    excerpt: str = Field(
        description="what matched, in the author's own text; for an image, which media "
        "object and how many bits its hash is from the banked one"
    )
    how: str = Field(
        description="how it was found: a lexicon match's way (`text`, `pinyin`, `homophone`, "
        "`lookalike`), `hash` or `near_duplicate` for a copy of a removed text, `image_hash` "
        "for an image that is a copy of one in the image hash bank, `news_pattern` or "
        "`news_term` for the news check, `classifier` for a classifier's score"
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


# The hash bank, rescans and classifier trainings ---------------------------------------------


class BankedEntry(Model):
    """A removed text in the hash bank, by its digest: the text is only in its case."""

    digest: str = Field(description="SHA-256 of the text as the check normalizes it, hex")
    category: str
    case_id: int | None = Field(description="the case that removed it; null: from the CLI")
    added_at: Timestamp
    near_copies: bool = Field(description="near copies are caught too (its sketch is kept)")


Opinion = Literal["POSITIVE_CLASS", "INVESTIGATION_SEED", "DISPUTED"]


class BankedImage(Model):
    """An image's PDQ hash in the image hash bank: banked by a reviewer's removal, or from a
    hash list an administrator imported."""

    pdq: str = Field(description="the PDQ hash, 64 hexadecimal digits")
    category: str
    opinion: Opinion = Field(
        description="what its list thinks of it: a copy of an INVESTIGATION_SEED or DISPUTED "
        "hash is held for a reviewer where the pack would block it"
    )
    source: Literal["review", "import"]
    list_name: str | None = Field(description="the imported list it came from; null: a review's")
    case_id: int | None = Field(description="the case whose removal banked it; null: an import")
    added_at: Timestamp


class ImageBank(Model):
    size: int
    by_category: dict[str, int]
    newest: list[BankedImage] = Field(description="the newest first, at most `limit`")


class HashBank(Model):
    size: int
    by_category: dict[str, int]
    newest: list[BankedEntry] = Field(description="the newest first, at most `limit`")
    images: ImageBank = Field(description="the image hash bank, likewise")


class ImportedHashList(Model):
    """What an import of a hash list banked. Its hashes are in force at once, on every process."""

    list_name: str
    list_format: Literal["csv", "plain"] = Field(
        description="as its first line said: `csv` (a header naming signal_type and "
        "signal_str), else `plain`"
    )
    banked: int = Field(description="PDQ rows read and banked (a hash listed twice counts twice)")
    by_category: dict[str, int] = Field(description="of them, by the pack's category")
    held: int = Field(description="of them, INVESTIGATION_SEED or DISPUTED ones")
    skipped: dict[str, int] = Field(
        description="rows passed over, by reason: another signal type, NEGATIVE_CLASS"
    )


RescanStateName = Literal["running", "done", "failed", "interrupted"]


class RescanProgress(Model):
    """A re-check of published posts, as far as it has got."""

    id: int
    requested_by: int | None = Field(description="the staff member; null: the command line")
    since: Timestamp = Field(description="posts published from then on are re-checked")
    state: RescanStateName = Field(
        description="`interrupted`: its process stopped before it finished; begin another"
    )
    total: int = Field(description="posts published since `since` when it began")
    scanned: int
    decisions: dict[ModerationDecision, int] = Field(description="what the check decides now")
    queued: int = Field(description="posts waiting for a reviewer because of it")
    started_at: Timestamp
    finished_at: Timestamp | None

    @classmethod
    def of(cls, run: RescanRun) -> Self:
        return cls.model_validate(
            {
                "id": run.id,
                "requested_by": run.requested_by,
                "since": run.since_ms,
                "state": run.state,
                "total": run.total,
                "scanned": run.done.scanned,
                "decisions": run.done.decisions,
                "queued": run.done.queued,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
            }
        )


class RescanList(Model):
    rescans: list[RescanProgress] = Field(description="the newest first, at most 20")


class CategoryMeasure(Model):
    category: str
    training_positives: int
    training_negatives: int
    validation_positives: int
    validation_negatives: int
    precision: float = Field(description="of the held-out texts it flagged, the share removed")
    recall: float = Field(description="of the held-out texts removed, the share it flagged")


class TrainingResult(Model):
    """One training of a classifier on reviewers' decisions, measured on a fifth held out."""

    id: int
    classifier: str
    trained_at: Timestamp
    training_size: int
    validation_size: int
    threshold: float = Field(description="precision and recall are of flags at this score")
    categories: list[CategoryMeasure]
    left_out: dict[str, str] = Field(description="category: why it was not trained")

    @classmethod
    def of(cls, training: Training) -> Self:
        report = training.report
        return cls.model_validate(
            {
                "id": training.id,
                "classifier": training.classifier,
                "trained_at": training.trained_at,
                "training_size": report["training_size"],
                "validation_size": report["validation_size"],
                "threshold": report["threshold"],
                "categories": [
                    {"category": category, **measures}
                    for category, measures in report["categories"].items()
                ],
                "left_out": report["left_out"],
            }
        )


class TrainingList(Model):
    trainings: list[TrainingResult] = Field(description="the newest first, at most 10")
