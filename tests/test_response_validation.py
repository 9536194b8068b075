"""The check every test's answers go through (tests/response_validation.py) finds what an answer
does that its document does not declare: a status, a missing or wrong header, a content type, a
body off its schema (a $ref'd component, a format), and lets a right answer through."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.response_validation import Document

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/notes/{note_id}": {
            "get": {
                "responses": {
                    "200": {
                        "description": "a note",
                        "headers": {
                            "Cache-Control": {"schema": {"type": "string", "const": "no-store"}}
                        },
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Note"}}
                        },
                    },
                    "401": {
                        "description": "no token",
                        "headers": {"WWW-Authenticate": {"required": True, "schema": {}}},
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                }
            }
        }
    },
    "components": {
        "schemas": {
            "Note": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "at": {"type": "string", "format": "date-time"},
                },
                "required": ["id", "at"],
                "additionalProperties": False,
            }
        }
    },
}
GOOD = {"id": 1, "at": "2026-12-03T08:00:00.000Z"}


def problems(status: int, body: Any = GOOD, **headers: str) -> list[str]:
    document = Document.parse(SPEC)
    route = document.route("get", "/notes/7")
    assert route is not None
    request = httpx.Request("GET", "http://test/notes/7")
    answer = httpx.Response(status, json=body, headers=headers, request=request)
    return document.answer_problems(route, answer)


def test_a_declared_answer_passes() -> None:
    assert problems(200) == []
    assert problems(200, **{"Cache-Control": "no-store"}) == []
    assert problems(401, {}, **{"WWW-Authenticate": "Bearer"}) == []


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        (lambda: problems(404), "status 404 is not one of those declared: 200, 401"),
        (lambda: problems(401, {}), "header WWW-Authenticate: missing"),
        (lambda: problems(200, **{"Cache-Control": "max-age=60"}), "header Cache-Control:"),
        (lambda: problems(200, {"id": "one", "at": GOOD["at"]}), "id: "),
        (lambda: problems(200, {"id": 1}), '"at" is a required property'),
        (lambda: problems(200, {**GOOD, "extra": 1}), "(the body): Additional properties"),
        (lambda: problems(200, {"id": 1, "at": "yesterday"}), "at: "),
    ],
    ids=["status", "required header", "header value", "type", "required", "extra", "format"],
)
def test_an_undeclared_answer_is_named(answer: Any, found: str) -> None:
    assert any(found in problem for problem in answer()), answer()


def test_a_body_of_another_content_type_or_not_json_is_named() -> None:
    document = Document.parse(SPEC)
    route = document.route("get", "/notes/7")
    assert route is not None
    request = httpx.Request("GET", "http://test/notes/7")
    text = httpx.Response(200, text="hi", request=request)
    assert document.answer_problems(route, text) == [
        "content type 'text/plain' is not one of application/json"
    ]
    broken = httpx.Response(
        200, content=b"{", headers={"content-type": "application/json"}, request=request
    )
    assert document.answer_problems(route, broken) == ["the body is not JSON: '{'"]
