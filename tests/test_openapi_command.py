"""`townhall openapi` prints the document the server serves, with no server and no data dir: the
web app's API client is generated from it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.conftest import CLI, Server


def test_the_printed_document_is_the_one_served(server: Server, tmp_path: Path) -> None:
    printed = CLI.run(["openapi"], env=server.env, timeout=120)
    assert printed.returncode == 0, printed.stderr
    served = httpx.get(f"{server.base_url}/openapi.json").json()
    assert json.loads(printed.stdout) == served

    written = tmp_path / "openapi.json"
    into_file = CLI.run(["openapi", "--out", str(written)], env=server.env, timeout=120)
    assert into_file.returncode == 0 and into_file.stdout == ""
    assert json.loads(written.read_text(encoding="utf-8")) == served
