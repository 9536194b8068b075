"""`townhall openapi` prints the document the server serves, with no server and no data dir: the
web app's API client is generated from it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.conftest import CLI, Server
from tests.support import without_townhall_settings


def test_the_printed_document_is_the_one_served(server: Server, tmp_path: Path) -> None:
    printed = CLI.run(["openapi"], env=server.env, timeout=120)
    assert printed.returncode == 0, printed.stderr
    served = httpx.get(f"{server.base_url}/openapi.json").json()
    assert json.loads(printed.stdout) == served

    written = tmp_path / "openapi.json"
    into_file = CLI.run(["openapi", "--out", str(written)], env=server.env, timeout=120)
    assert into_file.returncode == 0 and into_file.stdout == ""
    assert json.loads(written.read_text(encoding="utf-8")) == served


def test_the_document_depends_on_no_setting(server: Server) -> None:
    """The tests validate every server's answers against the document of the first they started
    (tests/response_validation.py): whatever a server is told, its document must be the same."""
    served = httpx.get(f"{server.base_url}/openapi.json").json()
    unset = without_townhall_settings()
    other_settings = {
        **unset,
        "TOWNHALL_POLICY_PACK": "cn-2014",
        "TOWNHALL_CORS_ALLOWED_ORIGINS": '["https://chat.example.org"]',
        "TOWNHALL_CLASSIFIERS": "true",
        "TOWNHALL_LIMITS__MAX_MESSAGE_BYTES": "100",
        "TOWNHALL_PASSWORD_HASH_PROFILE": "cheapest",
    }
    assert set(other_settings.items()) - set(server.env.items())
    for env in (unset, other_settings):
        printed = CLI.run(["openapi"], env=env, timeout=120)
        assert printed.returncode == 0, printed.stderr
        assert json.loads(printed.stdout) == served
