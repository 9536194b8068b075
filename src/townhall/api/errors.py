"""The one place errors become HTTP: `{"error": {"code", "message"}}` with the code's status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from townhall.api.i18n import localized, negotiate, translated
from townhall.api.responses import JSONBody
from townhall.domain import errors
from townhall.domain.errors import ErrorCode

log = logging.getLogger(__name__)

# The framework's own refusals, by the status it raises them with; its 400 is a body it could not
# parse. It raises no other status in this app.
CODE_BY_HTTP_STATUS = {
    400: ErrorCode.MALFORMED_JSON,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.BODY_TOO_LARGE,
}


# A value outside a field's fixed set gets the field's own code, `<field>_invalid`, as the service
# would have answered; this lists the fields whose code is named otherwise.
CHOICE_CODE_BY_FIELD = {"kind": ErrorCode.SANCTION_KIND_INVALID}
CHOICE_ERRORS = frozenset({"enum", "literal_error"})
INVALID_INPUT_CODES = {code.value: code for code in ErrorCode if code.status == 400}
# A page's `limit` out of its range is `limit_invalid` on every list, whether the route's own
# bounds or the service's refused it.
RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def error_body(code: ErrorCode, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def error_response(code: ErrorCode, message: str) -> JSONBody:
    """The error as sent: its status is the code's own (domain/errors.py)."""
    headers = {"WWW-Authenticate": "Bearer"} if code.status == 401 else None
    return JSONBody(error_body(code, message), status_code=code.status, headers=headers)


def throttled_response(exc: errors.Throttled, retry_after: int, message: str) -> JSONBody:
    """429 saying when to come back, in the body and in the standard header."""
    error = {**error_body(exc.code, message)["error"], "retry_after": retry_after}
    return JSONBody(
        {"error": error}, status_code=exc.code.status, headers={"Retry-After": str(retry_after)}
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.DomainError)
    async def _domain(request: Request, exc: errors.DomainError) -> JSONBody:
        message = localized(exc, request.headers.get("accept-language"))
        if isinstance(exc, errors.Throttled) and exc.retry_after is not None:
            return throttled_response(exc, exc.retry_after, message)
        response = error_response(exc.code, message)
        if isinstance(exc, errors.Unavailable) and exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, errors.RangeNotSatisfiable):
            response.headers["Content-Range"] = f"bytes */{exc.size}"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONBody:
        code, message, where = describe_validation_error(exc)
        return error_response(code, in_language(request, code, message, where))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONBody:
        code = CODE_BY_HTTP_STATUS.get(exc.status_code)
        if code is None:  # a refusal the framework did not make before: ours to look into
            log.error(
                "HTTP %d with no code on %s %s", exc.status_code, request.method, request.url.path
            )
            return error_response(ErrorCode.INTERNAL_ERROR, "something went wrong on our side")
        return error_response(code, in_language(request, code, str(exc.detail)))

    @app.exception_handler(ResponseValidationError)
    async def _answer_mismatch(request: Request, exc: ResponseValidationError) -> JSONBody:
        # Our answer does not fit its model: a bug of ours. Its errors carry the answer's values
        # (message text, reasons, statements), so only where each mismatch is gets logged.
        log.error(
            "answer does not match its model on %s %s: %s",
            request.method,
            request.url.path,
            "; ".join(describe_mismatch(problem) for problem in exc.errors()),
        )
        return error_response(ErrorCode.INTERNAL_ERROR, "something went wrong on our side")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONBody:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(ErrorCode.INTERNAL_ERROR, "something went wrong on our side")


def in_language(request: Request, code: ErrorCode, message: str, *subjects: str) -> str:
    language = negotiate(request.headers.get("accept-language"))
    return translated(code, message, language, tuple(filter(None, subjects)))


def describe_mismatch(problem: Any) -> str:
    where = ".".join(str(part) for part in problem.get("loc", ()))
    return f"{where} ({problem.get('type', 'invalid')})"


def describe_validation_error(exc: RequestValidationError) -> tuple[ErrorCode, str, str]:
    """The first problem and its location (the field). Never the input value: it may be
    personal."""
    problems = exc.errors()
    if not problems:
        return ErrorCode.INVALID_REQUEST, "the request is not valid", ""
    first = problems[0]
    if first.get("type") == "json_invalid":
        return ErrorCode.MALFORMED_JSON, "the request body is not valid JSON", ""
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "body"
    choice_code = _choice_code(first)
    if choice_code is not None:
        return choice_code, f"{where} must be {first['ctx']['expected']}", where
    if first.get("type") in RANGE_ERRORS and first.get("loc", ())[-1:] == ("limit",):
        return ErrorCode.LIMIT_INVALID, f"{where}: {first.get('msg', 'is out of range')}", where
    return ErrorCode.INVALID_REQUEST, f"{where}: {first.get('msg', 'is not valid')}", where


def _choice_code(problem: Any) -> ErrorCode | None:
    """The field's own code when its value is not one of a fixed set, if it has one."""
    if problem.get("type") not in CHOICE_ERRORS or "expected" not in problem.get("ctx", {}):
        return None
    field = str((problem.get("loc") or ("",))[-1])
    return CHOICE_CODE_BY_FIELD.get(field) or INVALID_INPUT_CODES.get(f"{field}_invalid")
