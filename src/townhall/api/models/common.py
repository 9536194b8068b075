"""What every response model shares: the error envelope, the error responses a route declares,
and the one pagination convention of every list.

Pagination: a paged list takes `cursor` (opaque, from the previous page) and `limit`, and answers
`{"<items>": [...], "next_cursor": "…" | null}`; `null` means there is nothing more. A cursor is a
string a client hands back unchanged; what it encodes (an id, a sequence number, an offset) is the
list's own business. Streams are not lists: sync and the timeline's `since` keep their stream
cursor (`since` → `next`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from townhall.api.schemas import MAX_ID
from townhall.domain.errors import ErrorCode, InvalidInput
from townhall.domain.time import iso_utc

MAX_CURSOR_LENGTH = 64


class Model(BaseModel):
    """A response model. It renders a service's record by attribute (only the fields it names
    leave the server), or a dict, whose extra keys are refused so a model cannot silently fall
    behind what a route renders: the OpenAPI validation test then catches the difference."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


def _iso_from_ms(value: object) -> object:
    """Records keep moments as epoch milliseconds; the wire shows them as ISO 8601."""
    return iso_utc(value) if isinstance(value, int) and not isinstance(value, bool) else value


# A moment as the API writes it: UTC, ISO 8601 with milliseconds (`domain.time.iso_utc`). The
# conversion comes after the field: it runs first, and the schema keeps the pattern in both modes.
Timestamp = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
        json_schema_extra={"format": "date-time"},
        examples=["2024-05-01T08:00:00.000Z"],
        description="UTC, to the millisecond",
    ),
    BeforeValidator(_iso_from_ms),
]


def omitted(description: str) -> Any:
    """A key the server leaves out, rather than sending null, when it has nothing to say."""
    return Field(
        default=None,
        description=description,
        exclude_if=lambda value: value is None,
        json_schema_extra=_without_default,
    )


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # absent, never null: there is no default to show


class ErrorDetail(Model):
    code: str = Field(description="stable snake_case code; see docs/errors.md")
    message: str = Field(description="for people; never personal data")
    retry_after: int | None = Field(
        default=None, description="429 only: seconds until trying again can succeed"
    )


class ErrorEnvelope(Model):
    error: ErrorDetail


ERROR_MEANINGS = {
    400: "the request is malformed or a parameter is out of range",
    401: "no valid bearer token",
    403: "the caller's role, status or a sanction does not allow this",
    404: "no such thing, or not visible to the caller",
    409: "the request conflicts with the current state",
    413: "the body or a field is too large",
    415: "an upload that is none of the formats taken (its bytes decide, not its name)",
    416: "a Range that starts past the end of the file",
    422: "refused by policy (the policy pack's rules)",
    429: "too many requests; see retry_after and the Retry-After header",
    503: "a service Townhall depends on did not answer; try again later",
    507: "the server's disk is full; nothing was written, try again later",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the error statuses its service can answer besides those every
    route of its kind gets (see `api/openapi.py`)."""
    return {
        status: {"model": ErrorEnvelope, "description": ERROR_MEANINGS[status]}
        for status in statuses
    }


Cursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page"),
]


def at_most(maximum: int, bound: str | None = None) -> Any:
    """The `Query` of a page's `limit`; `bound` names a configured maximum the service checks."""
    return Query(ge=1, le=maximum, description=f"how many at most, 1 to {bound or maximum}")


def next_cursor(value: int | None) -> str | None:
    """The cursor of the page after this one, from the position its last item stands at."""
    return None if value is None else str(value)


def cursor_position(cursor: str | None) -> int | None:
    """The position a cursor stands at; None for the first page. A cursor this server did not
    hand out is 400 `cursor_invalid`."""
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > MAX_ID:
        raise InvalidInput(
            "cursor: not a cursor this list handed out", code=ErrorCode.CURSOR_INVALID
        )
    return int(cursor)


def cursor_after_last(
    items: Sequence[Mapping[str, Any]], limit: int, key: str = "id"
) -> str | None:
    """The cursor of the page after a list ordered by `key`, which starts after the last item's
    `key`; None after a page shorter than `limit`, which reached the end."""
    return next_cursor(items[-1][key] if len(items) == limit else None)
