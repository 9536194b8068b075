"""An answer that does not fit its model is our bug: 500 `internal_error`, and the log says where
it went wrong but never what the answer held (message text, reasons, statements)."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from townhall.api import errors
from townhall.api.models.common import Model

SECRET_TEXT = "我们周五在老地方见"


class Note(Model):
    text: str
    seen: int


def app_with_a_broken_answer() -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/note", response_model=Note)
    async def note() -> object:
        return {"text": SECRET_TEXT, "seen": "not a number"}

    return app


async def test_a_mismatched_answer_is_a_500_whose_log_names_the_field_but_not_the_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=app_with_a_broken_answer())
    with caplog.at_level(logging.DEBUG):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.get("/note")
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    assert "seen" in caplog.text  # where it went wrong
    assert SECRET_TEXT not in caplog.text
    assert "not a number" not in caplog.text
