"""Routes answered directly: without FastAPI's per-request machinery, with FastAPI's semantics.

FastAPI costs every request several hundred microseconds of CPU around Townhall's own work. It
tries the routes one by one. It solves each route's dependencies recursively, classifying every
callable again. It passes the request through its exception and exit-stack layers. An empty
`/sync` was 3.5 µs of Townhall's work and about 360 µs of the framework's (docs/benchmarks.md,
"Direct routes").

`DirectRoutes` is the innermost middleware: every request still passes the request id, the
security headers, the metrics and access log, and the request guard. For a route whose parameters
it can resolve itself (`_direct`), it:
- finds the route with an index by path depth, taking the first full match in the app's order,
  as FastAPI does;
- resolves the dependencies with the functions FastAPI would call (`deps.RESOLVERS`);
- validates the path, the query and the body with FastAPI's own functions;
- calls the endpoint, and serializes its answer as FastAPI does.
A refusal goes to the app's own exception handlers. Every other request goes on to FastAPI: a
route it does not take, and a path no route matches (404, 405 and the trailing-slash redirect stay
FastAPI's).
"""

from __future__ import annotations

import email.message
import functools
import inspect
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, params
from fastapi._compat import ModelField, field_annotation_is_sequence, get_missing_field_error
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _is_json_field,
    request_body_to_args,
)
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.routing import APIRoute, serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from starlette._utils import get_route_path
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from townhall.api.deps import RESOLVERS, Resolver

Handler = Callable[[Request, Any], Response | Awaitable[Response]]
NO_BODY = PydanticUndefined  # what FastAPI's validation takes for a request without a body
# No route of any depth: a Mount, or a path parameter that takes slashes.
ANY_DEPTH = -1


class DirectRoutes:
    def __init__(self, app: ASGIApp, routes_of: FastAPI) -> None:
        self.app = app
        self._fastapi = routes_of
        self._by_depth = _index(routes_of.router.routes)
        # Starlette's ExceptionMiddleware answers with these; `Exception` is the outermost
        # layer's, and an error it would handle goes on up to it, as from FastAPI.
        self._handlers: dict[type[Exception], Handler] = {
            kind: handler
            for kind, handler in routes_of.exception_handlers.items()
            if isinstance(kind, type) and kind is not Exception
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._find(scope) if scope["type"] == "http" else None
        # Overrides are for FastAPI's solver to apply; none are set outside a test.
        if found is None or self._fastapi.dependency_overrides:
            await self.app(scope, receive, send)
            return
        direct, path_params = found
        scope["endpoint"] = direct.route.endpoint
        scope["path_params"] = path_params
        scope["route"] = direct.route
        request = Request(scope, receive)
        try:
            response = await direct.respond(request)
        except Exception as error:
            handler = self._handler_for(error)
            if handler is None:
                raise
            answer = handler(request, error)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)

    def _find(self, scope: Scope) -> tuple[_Direct, dict[str, Any]] | None:
        """The route FastAPI would take, if it is one to answer directly, and its path's
        parameters."""
        path = get_route_path(scope)
        method = scope["method"]
        depth = path.count("/")
        for candidate in self._by_depth.get(depth) or self._by_depth[ANY_DEPTH]:
            match = candidate.route.path_regex.match(path)
            if match is None:
                continue
            if candidate.methods is not None and method not in candidate.methods:
                continue  # FastAPI's partial match: a later route may still match in full
            if candidate.direct is None:
                return None
            convertors = candidate.route.param_convertors
            return candidate.direct, {
                name: convertors[name].convert(value) for name, value in match.groupdict().items()
            }
        return None

    def _handler_for(self, error: Exception) -> Handler | None:
        for kind in type(error).__mro__:
            if kind in self._handlers:
                return self._handlers[kind]
        return None


@dataclass(frozen=True)
class _Candidate:
    route: Route | Mount
    methods: frozenset[str] | None  # None: every method
    direct: _Direct | None  # None: FastAPI answers


def _index(routes: list[BaseRoute]) -> dict[int, list[_Candidate]]:
    """The routes an HTTP request can match, by the number of slashes in the paths each
    matches, in the app's order; a route that matches paths of any depth is in every list."""
    by_depth: defaultdict[int, list[tuple[int, _Candidate]]] = defaultdict(list)
    any_depth: list[tuple[int, _Candidate]] = []
    for order, route in enumerate(routes):
        if isinstance(route, Mount):
            any_depth.append((order, _Candidate(route, None, None)))
        elif isinstance(route, Route):  # a WebSocket route matches no HTTP request
            methods = frozenset(route.methods) if route.methods else None
            candidate = _Candidate(route, methods, _direct(route))
            if ":path}" in route.path:
                any_depth.append((order, candidate))
            else:
                by_depth[route.path.count("/")].append((order, candidate))
    return {
        depth: [candidate for _, candidate in sorted([*listed, *any_depth], key=_order)]
        for depth, listed in [*by_depth.items(), (ANY_DEPTH, [])]
    }


def _order(ordered: tuple[int, _Candidate]) -> int:
    return ordered[0]


def _direct(route: Route) -> _Direct | None:
    """The route as one to answer directly, if FastAPI would do nothing for it that this does
    not: its dependencies are all in `deps.RESOLVERS`, it takes no header, cookie, form or
    file, it injects no response, background tasks or security scopes, and it streams nothing."""
    if not isinstance(route, APIRoute) or not inspect.iscoroutinefunction(route.endpoint):
        return None
    dependant = route.dependant
    resolvers: list[tuple[str | None, Resolver]] = []
    for dependency in dependant.dependencies:
        resolver = RESOLVERS.get(dependency.call)  # type: ignore[arg-type]
        if resolver is None:
            return None
        resolvers.append((dependency.name, resolver))
    takes_what_this_does_not = (
        dependant.header_params,
        dependant.cookie_params,
        dependant.response_param_name,
        dependant.background_tasks_param_name,
        dependant.websocket_param_name,
        dependant.http_connection_param_name,
        dependant.security_scopes_param_name,
        route.stream_item_field,
        route.is_json_stream,
        getattr(route, "max_body_size", None),
        route.body_field is not None and not _is_json_body(route.body_field.field_info),
    )
    if any(takes_what_this_does_not):
        return None
    path_params = _params(dependant.path_params)
    query_params = _params(dependant.query_params)
    if path_params is None or query_params is None:
        return None
    return _Direct(route, tuple(resolvers), path_params, query_params)


def _params(fields: list[ModelField]) -> tuple[_Param, ...] | None:
    taken = []
    for field in fields:
        param = _Param.of(field)
        if param is None:
            return None
        taken.append(param)
    return tuple(taken)


@dataclass(frozen=True)
class _Param:
    """A path or query parameter, classified once as FastAPI's `request_params_to_args`
    classifies it on every request; validated as it validates it."""

    field: ModelField
    name: str  # in the request
    many: bool  # a list: every value the query gives under the name
    loc: tuple[str, str]

    @classmethod
    def of(cls, field: ModelField) -> _Param | None:
        """None for what this does not take: a parameter model, a choice of names, a list in
        the path."""
        aliases = _get_param_aliases(field)
        if _get_param_model(field) is not None or len(aliases) != 1:
            return None
        name = aliases[0][1]
        many = not _is_json_field(field) and field_annotation_is_sequence(
            field.field_info.annotation
        )
        where = field.field_info.in_.value  # type: ignore[attr-defined]
        if many and where == "path":
            return None
        return cls(field, name, many, (where, name))

    def take(self, received: Mapping[str, Any], values: dict[str, Any], errors: list[Any]) -> None:
        value = (
            received.getlist(self.name)
            if self.many and isinstance(received, QueryParams)
            else received.get(self.name)
        )
        if value is None or (self.many and len(value) == 0):
            if self.field.field_info.is_required():
                errors.append(get_missing_field_error(loc=self.loc))
                return
            value = deepcopy(self.field.default)
            if not self.field.field_info.validate_default:
                values[self.field.name] = value
                return
        valid, problems = self.field.validate(value, values, loc=self.loc)
        if problems:
            errors.extend(problems)
        else:
            values[self.field.name] = valid


def _is_json_body(field: FieldInfo) -> bool:
    return isinstance(field, params.Body) and not isinstance(field, params.Form)


@dataclass(frozen=True)
class _Direct:
    """A route and what its request handler does, as FastAPI's `get_request_handler` does it
    for such a route."""

    route: APIRoute
    resolvers: tuple[tuple[str | None, Resolver], ...]
    path_params: tuple[_Param, ...]
    query_params: tuple[_Param, ...]

    async def respond(self, request: Request) -> Response:
        route = self.route
        dependant = route.dependant
        # In FastAPI's order: the body is read first, then the dependencies are solved, then
        # the parameters are validated.
        body = await _json_body(request, route) if route.body_field is not None else NO_BODY
        values: dict[str, Any] = {}
        for name, resolve in self.resolvers:
            value = await resolve(request)
            if name is not None:
                values[name] = value
        if dependant.request_param_name is not None:
            values[dependant.request_param_name] = request
        errors: list[Any] = []
        for param in self.path_params:
            param.take(request.path_params, values, errors)
        if self.query_params:
            query = request.query_params
            for param in self.query_params:
                param.take(query, values, errors)
        if dependant.body_params:
            body_values, body_errors = await request_body_to_args(
                dependant.body_params, body, route._embed_body_fields
            )
            values.update(body_values)
            errors += body_errors
        if errors:
            raise RequestValidationError(errors, body=None if body is NO_BODY else body)
        answer = await route.endpoint(**values)
        if isinstance(answer, Response):
            return answer
        return await self._serialized(answer)

    async def _serialized(self, answer: Any) -> Response:
        route = self.route
        # FastAPI's own choice: the response model's JSON straight from pydantic when the route
        # names no response class.
        straight_to_json = route.response_field is not None and isinstance(
            route.response_class, DefaultPlaceholder
        )
        content = await serialize_response(
            field=route.response_field,
            response_content=answer,
            include=route.response_model_include,
            exclude=route.response_model_exclude,
            by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset,
            exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none,
            dump_json=straight_to_json,
        )
        status = route.status_code or 200  # as the answer classes' own default
        response: Response
        if straight_to_json:
            response = Response(content, status, media_type="application/json")
        else:
            answer_class = route.response_class
            if isinstance(answer_class, DefaultPlaceholder):
                answer_class = answer_class.value
            response = answer_class(content, status)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        return response


@functools.lru_cache(maxsize=256)
def _names_json(content_type: str) -> bool:
    """Whether a Content-Type is JSON, parsed as FastAPI parses it (the email package's rules
    for a media type and its parameters); clients send a few distinct values, each parsed
    once."""
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def _json_body(request: Request, route: APIRoute) -> Any:
    """The body as FastAPI reads it for a JSON body parameter: parsed when it says it is JSON
    (or says nothing, where the route is not strict about it), else its bytes, which then fail
    validation. Invalid JSON is a validation error of type `json_invalid`; a body the parser
    cannot read at all is FastAPI's 400."""
    raw = await request.body()
    if not raw:
        return NO_BODY
    content_type = request.headers.get("content-type")
    strict = route.strict_content_type
    if isinstance(strict, DefaultPlaceholder):
        strict = strict.value
    says_json = not strict if content_type is None else _names_json(content_type)
    if not says_json:
        return raw
    try:
        return await request.json()
    except json.JSONDecodeError as error:
        problem = {
            "type": "json_invalid",
            "loc": ("body", error.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": error.msg},
        }
        raise RequestValidationError([problem], body=error.doc) from error
    except Exception as error:  # not UTF-8, nested past the parser's depth
        raise HTTPException(400, "There was an error parsing the body") from error
