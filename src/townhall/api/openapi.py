"""The OpenAPI document as the server really answers: the error responses every route of a kind
can give, declared once here instead of on each route.

FastAPI documents a 422 `HTTPValidationError` on every route with parameters, which Townhall
never sends: `api/errors.py` answers a request that fails validation with 400 in the error
envelope, and 422 means a refusal by policy. So that 422 goes, and each operation gets:

- 400 if it takes parameters or a body (the request failed validation, or its JSON did not parse);
- 401 and 403 if it takes a bearer token (none or a stale one; the role, status or a sanction
  does not allow it — every authenticated route checks standing or permission);
- 404 if it has path parameters (no such thing, or not visible to the caller);
- 413 if it takes a body (`api/limits.py` refuses bodies over the configured size);
- 503 if it is under /api/ (every such route reads or writes the database): the database did
  not answer (`database_unavailable`, with Retry-After);
- 507 if it changes something or takes a bearer token (a signed-in read may record the look: a
  view counted, a staff read audited): the disk was full and nothing was written.

A route declares the other statuses its service can answer with `errors(...)` from
`api/models/common.py`; a status it declares itself is kept as it is.

Every error answer refers to the envelope of its status (`Error400`, `Error404`, ...), whose
`code` is an enum of exactly the codes sent with that status (`domain.errors.ErrorCode`): a
generated client gets the codes it can meet as a type, and a code sent with the wrong status
fails the response validation test.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from townhall.api.models.common import ERROR_MEANINGS
from townhall.api.responses import JSONBody
from townhall.api.schemas import MAX_ID
from townhall.domain.errors import ErrorCode

COMPONENTS = "#/components/schemas/"
# FastAPI's own validation error, which Townhall never answers (see the module docstring).
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
RESPONSE_HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "always `Bearer`: the scheme to authenticate with",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "seconds until trying again can succeed, as in `retry_after`",
            "schema": {"type": "string"},
        }
    },
    416: {
        "Content-Range": {
            "description": "`bytes */<size>`: how long the file is",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    503: {
        "Retry-After": {
            "description": "seconds until trying again may succeed (the database's outage)",
            "schema": {"type": "string"},
        }
    },
}


# Answers that are not JSON, named as the JSON ones are, so a generated client knows each.
MEDIA_SCHEMAS = {
    "SvgImage": {
        "type": "string",
        "contentMediaType": "image/svg+xml",
        "description": "an SVG document (text)",
    },
    "MediaBytes": {
        "type": "string",
        "description": "a media object's bytes (or a range of them), as its Content-Type says",
    },
    "HashList": {
        "type": "string",
        "description": "a PDQ hash list in a format of Meta's ThreatExchange tools (UTF-8): the "
        "CSV `threatexchange dataset -P --csv` prints (a header row naming signal_type and "
        "signal_str; collab, category and tags optional), or the local-file exchange's file "
        "(`pdq <hash>`, or the bare hash, a line)",
    },
}


def media_ref(name: str) -> dict[str, str]:
    assert name in MEDIA_SCHEMAS, name
    return {"$ref": f"#/components/schemas/{name}"}


def install(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json. FastAPI caches what it generates; the
    completion runs once on each document it generates."""
    generate = app.openapi
    completed: dict[str, Any] | None = None

    def document() -> dict[str, Any]:
        nonlocal completed
        schema = generate()
        if schema is not completed:
            completed = complete(schema)
        return schema

    # FastAPI's documented way to extend its document: replace the app's `openapi` method.
    app.openapi = document  # type: ignore[method-assign]


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Add the automatic error responses to every operation and drop FastAPI's 422, in place."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if method in HTTP_METHODS:
                complete_operation(path, method, operation)
    # The generic envelope routes name in `errors(...)` is replaced by the one of each status.
    for name in (*FASTAPI_VALIDATION_SCHEMAS, "ErrorEnvelope", "ErrorDetail"):
        schemas.pop(name, None)
    schemas.update(error_envelope_schemas())
    schemas.update(MEDIA_SCHEMAS)
    restore_integer_bounds(document)
    return document


def restore_integer_bounds(node: Any) -> None:
    """FastAPI's document model holds `minimum`/`maximum` as floats, which turns the largest id
    (2**63 - 1) into 9.223372036854776e18, past int64. Integer bounds go back to integers."""
    if isinstance(node, dict):
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            bound = node.get(key)
            if isinstance(bound, float) and node.get("type") == "integer":
                node[key] = MAX_ID if bound == float(MAX_ID) else int(bound)
        for value in node.values():
            restore_integer_bounds(value)
    elif isinstance(node, list):
        for value in node:
            restore_integer_bounds(value)


def complete_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    # An operation that takes no token says so: without `security`, a client cannot tell it
    # from one that inherits a document-wide requirement.
    operation.setdefault("security", [])
    responses = operation.setdefault("responses", {})
    if refers_to(responses.get("422"), FASTAPI_VALIDATION_SCHEMAS[0]):
        del responses["422"]
    for status in automatic_errors(path, method, operation):
        responses.setdefault(str(status), error_response(status))
    for status, response in responses.items():
        if refers_to(response, "ErrorEnvelope"):
            response["content"]["application/json"]["schema"] = envelope_ref(int(status))
    for status, headers in RESPONSE_HEADERS.items():
        if str(status) in responses:
            responses[str(status)].setdefault("headers", headers)
    operation["responses"] = dict(sorted(responses.items()))


def automatic_errors(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer because of its kind alone."""
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    statuses = []
    if parameters or has_body:
        statuses.append(400)
    if operation.get("security"):
        statuses += [401, 403]
    if any(parameter["in"] == "path" for parameter in parameters):
        statuses.append(404)
    if has_body:
        statuses.append(413)
    if path.startswith("/api/"):
        statuses.append(503)
    if operation.get("security") or method != "get":
        statuses.append(507)
    return statuses


def error_response(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_MEANINGS[status],
        "content": {"application/json": {"schema": envelope_ref(status)}},
    }


def envelope_name(status: int) -> str:
    return f"Error{status}"


def envelope_ref(status: int) -> dict[str, str]:
    return {"$ref": COMPONENTS + envelope_name(status)}


def error_envelope_schemas() -> dict[str, Any]:
    """One envelope per status a route can declare, its `code` the enum of that status's codes."""
    return {envelope_name(status): envelope_schema(status) for status in ERROR_MEANINGS}


def envelope_schema(status: int) -> dict[str, Any]:
    codes = sorted(code.value for code in ErrorCode if code.status == status)
    detail: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["code", "message"],
        "properties": {
            "code": {
                "type": "string",
                "enum": codes,
                "description": "stable snake_case code; see docs/errors.md",
            },
            "message": {"type": "string", "description": "for people; never personal data"},
        },
    }
    if status == 429:
        detail["properties"]["retry_after"] = {
            "type": "integer",
            "minimum": 0,
            "description": "seconds until trying again can succeed",
        }
    return {
        "title": envelope_name(status),
        "description": ERROR_MEANINGS[status],
        "type": "object",
        "additionalProperties": False,
        "required": ["error"],
        "properties": {"error": detail},
    }


def refers_to(response: dict[str, Any] | None, component: str) -> bool:
    if response is None:
        return False
    content = response.get("content", {}).get("application/json", {})
    return bool(content.get("schema", {}).get("$ref") == COMPONENTS + component)


def operation_id(route: APIRoute) -> str:
    """`<tag>_<handler>`, e.g. `review_decide`: short, unique and readable as the method name a
    generated client gives the operation (FastAPI's default repeats the whole path)."""
    tag = str(route.tags[0]) if route.tags else "api"
    return f"{tag}_{route.name}".replace(" ", "_")


def api_router(**options: Any) -> APIRouter:
    """A router whose routes carry what the app would give them on inclusion (its answer class,
    its operation ids): app.py adds them to the app's own list as they are, since FastAPI
    matches an included router's routes twice a request, each with its context set and reset.
    What only inclusion gives does not reach them: `app.dependency_overrides`, and a router's
    own lifespan, startup and shutdown hooks (tests/test_routes.py holds them to that)."""
    return APIRouter(
        default_response_class=JSONBody, generate_unique_id_function=operation_id, **options
    )
