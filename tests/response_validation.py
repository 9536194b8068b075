"""Every HTTP answer a test receives from a Townhall server, validated against that server's
/openapi.json: the status must be one the operation declares (there is no `default`), and the
body and headers must match the schema declared for it. A mismatch fails the test that got it.

conftest.py installs the check for the whole session, on `httpx.Client.send` and
`httpx.AsyncClient.send`, so that it sees every answer whoever sent the request: the fixtures'
clients (`TownhallClient`, `User`), the tests' own `httpx.AsyncClient`s and `httpx.get`.
Only requests are left alone: a test may send a malformed one on purpose, and the answer to it is
validated like any other. Answers outside the document (the landing page, /openapi.json, a path
or method no route has) and streamed answers, whose bodies are not read, are not checked.

An operation whose success answer has no schema yet is not checked either (see
`declares_responses`); `tests/api/test_openapi.py` requires that there be none.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema_rs
import orjson
import pytest

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
SCHEMA_REF = "$ref"
JSON = "application/json"
MESSAGE_CHARS = 300

# (METHOD, path template, status): one answer seen and validated.
Seen = tuple[str, str, int]


class ResponseMismatch(AssertionError):
    """An answer that the OpenAPI document does not describe."""


def success_responses(operation: dict[str, Any]) -> dict[str, Any]:
    return {status: r for status, r in operation["responses"].items() if status.startswith("2")}


def declares_responses(operation: dict[str, Any]) -> bool:
    """Whether the operation names a schema (a component) for each success answer with a body;
    until every route does, only those that do are validated."""
    successes = success_responses(operation)
    return bool(successes) and all(
        SCHEMA_REF in body_schema(response) for response in successes.values() if has_body(response)
    )


def has_body(response: dict[str, Any]) -> bool:
    return bool(response.get("content"))


def body_schema(response: dict[str, Any]) -> dict[str, Any]:
    """The schema of an answer's JSON, or of the one other media type it has (an image)."""
    content = response["content"]
    media = content.get("application/json") or next(iter(content.values()))
    schema: dict[str, Any] = media.get("schema", {})
    return schema


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]


@dataclass
class Document:
    """One server's OpenAPI document, ready to validate answers against: each answer's schema
    compiled once, on first use, by jsonschema-rs: a microsecond an answer, where openapi-core
    took a millisecond (finding the path again, resolving every $ref) over the suite's
    hundred thousand answers."""

    spec: dict[str, Any]
    routes: list[Route]
    _validators: dict[tuple[str, ...], jsonschema_rs.Validator] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: dict[str, Any]) -> Document:
        routes = [
            Route(method, template, template_pattern(template))
            for template, operations in spec["paths"].items()
            for method in operations
            if method in HTTP_METHODS
        ]
        # A literal segment wins over a parameter, as the server's own routing has it
        # (/admin/sanctions/standing is not the sanction called "standing").
        routes.sort(key=lambda route: route.template.count("{"))
        return cls(spec, routes)

    def route(self, method: str, path: str) -> Route | None:
        for route in self.routes:
            if route.method == method and route.pattern.fullmatch(path):
                return route
        return None

    def undeclared(self) -> list[tuple[str, str]]:
        return [
            (route.method.upper(), route.template)
            for route in self.routes
            if not declares_responses(self.operation(route))
        ]

    def operation(self, route: Route) -> dict[str, Any]:
        operation: dict[str, Any] = self.spec["paths"][route.template][route.method]
        return operation

    def answer_problems(self, route: Route, response: httpx.Response) -> list[str]:
        """What the answer does that the operation does not declare: its status, a header, its
        content type, or its body against the schema (formats too)."""
        responses = self.operation(route)["responses"]
        status = str(response.status_code)
        if status not in responses:
            return [f"status {status} is not one of those declared: {', '.join(responses)}"]
        declared = responses[status]
        problems = [
            problem
            for name, header in declared.get("headers", {}).items()
            for problem in self._header_problems(route, status, name, header, response.headers)
        ]
        content = declared.get("content")
        if not content:
            return problems
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in content:
            return [*problems, f"content type {media!r} is not one of {', '.join(content)}"]
        try:
            body = orjson.loads(response.content) if media == JSON else response.text
        except orjson.JSONDecodeError:
            return [*problems, f"the body is not JSON: {response.text[:MESSAGE_CHARS]!r}"]
        key = (route.method, route.template, status, media)
        schema = content[media].get("schema", {})
        return [*problems, *self._schema_problems(key, schema, body)]

    def _header_problems(
        self,
        route: Route,
        status: str,
        name: str,
        header: dict[str, Any],
        headers: Mapping[str, str],
    ) -> list[str]:
        if name not in headers:
            return [f"header {name}: missing"] if header.get("required") else []
        key = (route.method, route.template, status, f"header {name}")
        return [
            f"header {name}: {problem}"
            for problem in self._schema_problems(key, header.get("schema", {}), headers[name])
        ]

    def _schema_problems(
        self, key: tuple[str, ...], schema: dict[str, Any], value: Any
    ) -> list[str]:
        validator = self._validators.get(key)
        if validator is None:
            # The components beside the schema: its $refs (#/components/schemas/…) resolve.
            root = {**schema, "components": self.spec.get("components", {})}
            validator = jsonschema_rs.validator_for(root, validate_formats=True)
            self._validators[key] = validator
        return [
            f"{'/'.join(map(str, error.instance_path)) or '(the body)'}: "
            f"{error.message[:MESSAGE_CHARS]}"
            for error in validator.iter_errors(value)
        ]


def template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


@dataclass
class ResponseCheck:
    """The document of the servers the tests started, and what was validated against it.

    Every server of this release serves the same document whatever its settings (no route, model
    or error depends on one: tests/test_openapi_command.py compares a server's with the one
    printed with no setting at all), so it is fetched once per test process: a server's first
    /openapi.json costs it half a second of CPU or more, a fifth of what the test servers spent."""

    documents: dict[str, Document] = field(default_factory=dict)  # by base URL
    mismatches: list[str] = field(default_factory=list)
    _document: Document | None = None
    _recorders: list[set[Seen]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, base_url: str) -> None:
        """Validate every answer from the server at `base_url` against the document."""
        with self._lock:
            document = self._document
        if document is None:
            fetched = httpx.get(f"{base_url}/openapi.json", timeout=30)
            fetched.raise_for_status()
            document = Document.parse(orjson.loads(fetched.content))
        with self._lock:
            self._document = self._document or document
            self.documents[base_url] = self._document

    @contextmanager
    def recording(self) -> Iterator[set[Seen]]:
        """The (METHOD, path template, status) of every answer validated in the block."""
        seen: set[Seen] = set()
        self._recorders.append(seen)
        try:
            yield seen
        finally:
            self._recorders.remove(seen)

    def check(self, response: httpx.Response) -> None:
        request = response.request
        document = self.documents.get(f"{request.url.scheme}://{request.url.netloc.decode()}")
        if document is None:
            return
        method = request.method.lower()
        route = document.route(method, request.url.path)
        if route is None or not declares_responses(document.operation(route)):
            return
        problems = self.problems(document, route, response)
        if problems:
            mismatch = (
                f"{request.method} {request.url.path} ({route.template}) answered "
                f"{response.status_code}, which /openapi.json does not describe:\n  "
                + "\n  ".join(problems)
            )
            self.mismatches.append(mismatch)
            raise ResponseMismatch(mismatch)
        for seen in list(self._recorders):
            seen.add((request.method, route.template, response.status_code))

    def problems(self, document: Document, route: Route, response: httpx.Response) -> list[str]:
        declared = document.operation(route)["responses"]
        if response.status_code >= 500 and str(response.status_code) not in declared:
            return [f"a server error: {response.text[:MESSAGE_CHARS]}"]
        return document.answer_problems(route, response)

    def install(self, patch: pytest.MonkeyPatch) -> None:
        """Check every answer httpx receives (see the module docstring)."""
        sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send

        def send(client: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
            response = sync_send(client, request, **kwargs)
            if not kwargs.get("stream"):
                self.check(response)
            return response

        async def send_async(
            client: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
        ) -> httpx.Response:
            response = await async_send(client, request, **kwargs)
            if not kwargs.get("stream"):
                self.check(response)
            return response

        patch.setattr(httpx.Client, "send", send)
        patch.setattr(httpx.AsyncClient, "send", send_async)
