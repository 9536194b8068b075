"""The one place domain errors become HTTP: `{"error": {"code", "message"}}`, the right status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from townhall.api.responses import JSONBody
from townhall.domain import errors

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.PolicyRefusal: 422,
    errors.Throttled: 429,
    errors.Unavailable: 503,
}

CODE_BY_HTTP_STATUS = {
    400: "malformed_json",  # FastAPI's own 400: a body it could not parse
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str) -> JSONBody:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONBody(error_body(code, message), status_code=status, headers=headers)


def throttled_response(exc: errors.Throttled, retry_after: int) -> JSONBody:
    """429 saying when to come back, in the body and in the standard header."""
    error = {**error_body(exc.code, exc.message)["error"], "retry_after": retry_after}
    return JSONBody({"error": error}, status_code=429, headers={"Retry-After": str(retry_after)})


def status_of(error: errors.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.DomainError)
    async def _domain(_request: Request, exc: errors.DomainError) -> JSONBody:
        if isinstance(exc, errors.Throttled) and exc.retry_after is not None:
            return throttled_response(exc, exc.retry_after)
        return error_response(status_of(exc), exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONBody:
        return error_response(400, *describe_validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONBody:
        code = CODE_BY_HTTP_STATUS.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONBody:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "something went wrong on our side")


def describe_validation_error(exc: RequestValidationError) -> tuple[str, str]:
    """The first problem, named by its location. Never the input value: it may be personal."""
    problems = exc.errors()
    if not problems:
        return "invalid_request", "the request is not valid"
    first = problems[0]
    if first.get("type") == "json_invalid":
        return "malformed_json", "the request body is not valid JSON"
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "body"
    return "invalid_request", f"{where}: {first.get('msg', 'is not valid')}"
