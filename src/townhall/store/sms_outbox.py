"""The default SMS sender: a file in the data dir the operator reads (a real gateway replaces it).

It writes the masked number and the account id, never the full number: the outbox is a file on
disk, and a full phone number is never written to disk in plaintext.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import orjson

from townhall.domain.identity import mask_phone


class OutboxSmsSender:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, *, account_id: int, phone_e164: str, text: str) -> None:
        line = orjson.dumps(
            {
                "at": time.time(),
                "account_id": account_id,
                "to": mask_phone(phone_e164),
                "text": text,
            }
        )
        await asyncio.to_thread(self._append, line + b"\n")

    def _append(self, line: bytes) -> None:
        """The whole line or nothing: a line cut short by a full disk is taken back, so that
        the outbox stays one JSON object a line."""
        # 0600: the file holds live codes.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            end = os.fstat(fd).st_size
            try:
                written = 0
                while written < len(line):
                    written += os.write(fd, line[written:])
            except OSError:
                os.ftruncate(fd, end)
                raise
        finally:
            os.close(fd)
