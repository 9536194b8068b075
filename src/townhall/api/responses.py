"""The JSON response class: orjson, ten times faster than the stdlib encoder."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class JSONBody(JSONResponse):
    """A JSONResponse, so that FastAPI documents each route's response model as its schema."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
