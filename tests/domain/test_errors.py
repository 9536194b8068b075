"""Every error code the server sends is one member of `ErrorCode`, with one HTTP status: raised
somewhere, only as the kind of its status, never as a loose string; and docs/errors.md is that
table as it is, generated here (TOWNHALL_REGENERATE_DOCS=1 rewrites it)."""

from __future__ import annotations

import ast
import os
import re
from http import HTTPStatus
from pathlib import Path

import pytest

from townhall.domain.classifiers import NotEnoughTrainingData
from townhall.domain.errors import DomainError, ErrorCode, NotFound
from townhall.domain.identity import IdentityRejected

ROOT = Path(__file__).parents[2]
SOURCE = ROOT / "src" / "townhall"
ERRORS_DOC = ROOT / "docs" / "errors.md"


def source_files() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in sorted(SOURCE.rglob("*.py"))}


def error_kinds() -> dict[str, type[DomainError]]:
    """Every DomainError subclass, by name."""
    kinds: dict[str, type[DomainError]] = {}
    pending = [DomainError]
    while pending:
        kind = pending.pop()
        kinds[kind.__name__] = kind
        pending += kind.__subclasses__()
    return kinds


def test_every_code_is_raised_somewhere() -> None:
    used = set(re.findall(r"\bErrorCode\.(\w+)", "\n".join(source_files().values())))
    assert [code for code in ErrorCode if code.name not in used] == []


def test_no_code_is_a_loose_string() -> None:
    """Neither `code="..."` (nor an f-string) where an error is made, nor `code = "..."` in a
    class."""
    loose = []
    for path, text in source_files().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.keyword) and node.arg == "code":
                value = node.value
            elif isinstance(node, ast.ClassDef):
                value = next(
                    (
                        statement.value
                        for statement in node.body
                        if isinstance(statement, ast.Assign)
                        and any(ast.unparse(target) == "code" for target in statement.targets)
                    ),
                    None,
                )
            else:
                continue
            if isinstance(value, ast.JoinedStr) or (
                isinstance(value, ast.Constant) and isinstance(value.value, str)
            ):
                loose.append(f"{path.relative_to(ROOT)}:{value.lineno}")
    assert loose == []


def test_a_code_is_named_for_what_it_sends() -> None:
    for code in ErrorCode:
        assert code.value == code.name.lower()
        assert code.meaning and HTTPStatus(code.status)


def test_every_code_is_raised_as_the_kind_of_its_status() -> None:
    """`NotFound(..., code=ErrorCode.X)` only where X is a 404 code, so `except NotFound` catches
    exactly those; codes chosen at run time are checked when the error is made (below)."""
    kinds = error_kinds()
    raised = []
    for path, text in source_files().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
                kind = ast.unparse(node.func).rpartition(".")[2]
                raised += [
                    (f"{path.relative_to(ROOT)}:{node.lineno}", kind, keyword.value.attr)
                    for keyword in node.keywords
                    if keyword.arg == "code"
                    and isinstance(keyword.value, ast.Attribute)
                    and ast.unparse(keyword.value.value) == "ErrorCode"
                ]
    assert len(raised) > 150
    # A kind that fixes its own code passes it to super().__init__, which checks it.
    raised = [(where, kind, code) for where, kind, code in raised if kind != "__init__"]
    assert [(where, kind) for where, kind, _ in raised if kind not in kinds] == []
    mismatched = [
        (where, kind, code)
        for where, kind, code in raised
        if ErrorCode[code].status != kinds[kind].status
    ]
    assert mismatched == []


def test_an_error_made_with_a_code_of_another_status_is_a_mistake() -> None:
    assert NotFound("no such post", code=ErrorCode.POST_NOT_FOUND).code == "post_not_found"
    with pytest.raises(TypeError, match="handle_taken is a 409 code, not a NotFound"):
        NotFound("that handle is taken", code=ErrorCode.HANDLE_TAKEN)


def test_each_kind_of_error_has_codes_of_its_status() -> None:
    kinds = [kind for kind in error_kinds().values() if kind is not DomainError]
    assert {IdentityRejected, NotEnoughTrainingData} <= set(kinds)  # kinds beside their rules
    assert {kind.status for kind in kinds} <= {code.status for code in ErrorCode}


def test_the_error_codes_are_documented_as_they_are() -> None:
    """docs/errors.md is generated: edit ErrorCode in domain/errors.py, then run this test with
    TOWNHALL_REGENERATE_DOCS=1."""
    generated = errors_doc()
    if os.environ.get("TOWNHALL_REGENERATE_DOCS") == "1":
        ERRORS_DOC.write_text(generated, encoding="utf-8")
    assert ERRORS_DOC.read_text(encoding="utf-8") == generated, (
        "docs/errors.md is stale: run "
        "TOWNHALL_REGENERATE_DOCS=1 pytest tests/domain/test_errors.py -k documented"
    )


# The generated page -----------------------------------------------------------------------------

INTRODUCTION = """\
# Error codes

<!-- Generated from ErrorCode in src/townhall/domain/errors.py by tests/domain/test_errors.py:
do not edit by hand; change the table, then run
TOWNHALL_REGENERATE_DOCS=1 pytest tests/domain/test_errors.py -k documented -->

Every refusal the server sends, over HTTP or as a WebSocket `error` frame, reads
`{"error": {"code": "snake_case_code", "message": "human text"}}`. The code is one of those
below and is stable: a client decides on the code, never on the message, which is for people
(and never repeats a value that may be personal). Each code always comes with the same HTTP
status. A 401 carries `WWW-Authenticate: Bearer`; a 429 adds `"retry_after"` (seconds) to the
error and a `Retry-After` header where a wait is known. On the WebSocket the frame carries the
code without a status, and a socket refused at its `auth` frame is then closed with code 4401.
The command line prints the same codes.
"""


def errors_doc() -> str:
    lines = [INTRODUCTION]
    for status in sorted({code.status for code in ErrorCode}):
        lines += [f"## {status} {HTTPStatus(status).phrase}", "", "| code | meaning |"]
        lines.append("| --- | --- |")
        for code in sorted(c for c in ErrorCode if c.status == status):
            lines.append(f"| `{code}` | {code.meaning} |")
        lines.append("")
    return "\n".join(lines)
