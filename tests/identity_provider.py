"""A stand-in for an operator's identity-verification provider: it speaks the contract of
docs/identity.md ("Identity-verification provider") on 127.0.0.1 and records every request.

It answers `match` unless told otherwise for a document number: `no_match`, `down` (503),
`slow` (answers after `slow_seconds`, later than a test server's timeout) or `garbage` (200 with
a body that is no answer).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

CHECKS = ("/identity", "/phone-holder")
IDENTITY_FIELDS = {"legal_name", "id_type", "id_number"}
PHONE_HOLDER_FIELDS = IDENTITY_FIELDS | {"phone"}


@dataclass(frozen=True)
class Received:
    """One request as it arrived: the request target (path and query), headers, raw body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class StandInProvider:
    secret_file: Path
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    slow_seconds: float = 1.5
    received: list[Received] = field(default_factory=list)
    # By document number: what each check answers for it.
    identity_answers: dict[str, str] = field(default_factory=dict)
    phone_holder_answers: dict[str, str] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def settings(self) -> dict[str, str]:
        """The server settings that point a Townhall at this provider."""
        return {
            "verifier": "http",
            "verifier_url": self.url,
            "verifier_secret_file": str(self.secret_file),
        }

    def answer(self, id_number: str, identity: str, phone_holder: str | None = None) -> None:
        self.identity_answers[id_number] = identity
        self.phone_holder_answers[id_number] = phone_holder or identity

    def requests_about(self, id_number: str) -> list[Received]:
        return [r for r in self.received if id_number.encode() in r.body]

    def start(self) -> StandInProvider:
        self.secret_file.write_text(self.secret + "\n", encoding="utf-8")
        handler = type("Handler", (_Handler,), {"provider": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _reply(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        fields = IDENTITY_FIELDS if path == "/identity" else PHONE_HOLDER_FIELDS
        if set(body) != fields or not all(isinstance(v, str) for v in body.values()):
            return 400, b'{"error": "bad request"}'
        answers = self.identity_answers if path == "/identity" else self.phone_holder_answers
        answer = answers.get(body["id_number"], "match")
        if answer == "down":
            return 503, b'{"error": "register unavailable"}'
        if answer == "garbage":
            return 200, b'{"status": "ok"}'
        if answer == "slow":
            time.sleep(self.slow_seconds)
            answer = "match"
        return 200, json.dumps({"result": answer}).encode()


class _Handler(BaseHTTPRequestHandler):
    provider: ClassVar[StandInProvider]
    protocol_version = "HTTP/1.1"  # keep-alive: every test registration asks twice

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.provider.received.append(
            Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        if self.headers.get("Authorization") != f"Bearer {self.provider.secret}":
            self._send(401, b'{"error": "unauthorised"}')
        elif self.path not in CHECKS or self.headers.get_content_type() != "application/json":
            self._send(404, b'{"error": "no such check"}')
        else:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                self._send(*self.provider._reply(self.path, parsed))
            else:
                self._send(400, b'{"error": "bad request"}')

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the tests read `received`, not a log on stderr
