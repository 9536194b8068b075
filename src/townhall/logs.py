"""The server's logs: one JSON object a line (readable lines on a terminal), each with the time,
level, logger, the request's id and the account it acted for.

Redaction by construction: Townhall's own lines never format a token, a password, identity data
or message text into their text (the tests read every line a server writes to make sure); fields
under such a name are replaced before rendering; and the libraries that log payloads at debug
level (SQL parameters, WebSocket frames, HTTP bodies) are held at WARNING whatever `log_level`
says.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import orjson
import structlog

LogFormat = Literal["auto", "json", "console"]

REDACTED = "[redacted]"
SECRET_FIELDS = frozenset(
    {
        "token", "password", "authorization", "secret", "sms_code", "text", "body", "title",
        "identity", "id_number", "legal_name", "name", "phone", "statement", "detail",
    }
)  # fmt: skip
# Each logs what passes through it (statements, with parameters at DEBUG; frames; requests) at
# INFO or DEBUG: held at WARNING whatever the level.
PAYLOAD_LOGGERS = ("aiosqlite", "sqlalchemy", "websockets", "httpx", "httpcore")
# uvicorn hands its WebSocket protocol this logger, which then logs every frame at DEBUG.
FRAME_LOGGERS = ("uvicorn.error",)
# What uvicorn logs as an error with a traceback though the client did it (a text frame that is
# not UTF-8, answered with close code 1007): one warning line, so that a client cannot write
# tracebacks into the log at will.
CLIENT_FAULTS = frozenset({"Invalid UTF-8 sequence received from client."})


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in event.keys() & SECRET_FIELDS:
        event[key] = REDACTED
    return event


def configure(level: str, log_format: LogFormat = "auto") -> None:
    """Route every logger, Townhall's and the libraries', through one handler on stderr."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,  # the request id, the account served
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.processors.format_exc_info],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in FRAME_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
    # Whatever sets those loggers' levels later (uvicorn sets its own from its settings), the
    # handler itself lets none of their payload lines through.
    handler.addFilter(_no_payload_lines)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        logger_factory=functools.partial(_HandlerEnd, handler),
        wrapper_class=structlog.make_filtering_bound_logger(root.level),
        cache_logger_on_first_use=True,
    )


class _HandlerEnd:
    """Where Townhall's structlog lines (the access log's) end: rendered by the chain every line
    goes through, then written by the one handler (its stream, under its lock). Passing them
    through a stdlib record instead cost about 50 µs a line (two records, the caller looked up):
    a twentieth of an authenticated request's CPU."""

    def __init__(self, handler: logging.StreamHandler[Any], name: str) -> None:
        self._handler = handler
        self.name = name  # add_logger_name reads it

    def write(self, line: str) -> None:
        handler = self._handler
        with handler.lock or contextlib.nullcontext():
            handler.stream.write(line + handler.terminator)
            handler.flush()

    debug = info = warning = error = critical = write


def _no_payload_lines(record: logging.LogRecord) -> bool:
    name = record.name
    if name.startswith(PAYLOAD_LOGGERS):
        return record.levelno >= logging.WARNING
    if name.startswith(FRAME_LOGGERS):
        if record.msg in CLIENT_FAULTS:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return record.levelno >= logging.INFO
    return True


def _dumps(event: Any, **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()
