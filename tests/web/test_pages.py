"""The web app (/app) and the staff console (/console) as the server serves them: each path of a
page answers its index.html under a policy that allows no inline script, its hashed assets are
cached for good, and no path reaches outside the page's folder."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server
from tests.support import unavailable_here
from townhall.web.pages import APP, CONSOLE

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.mark.parametrize(("page", "folder"), [("app", APP), ("console", CONSOLE)])
def test_a_page_answers_its_index_for_every_screen_under_a_strict_policy(
    server: Server, page: str, folder: Path
) -> None:
    if not (folder / "index.html").is_file():
        unavailable_here(f"/{page} is not built: make web")
    root = httpx.get(f"{server.base_url}/{page}", follow_redirects=False)
    assert (root.status_code, root.headers["location"]) == (308, f"/{page}/")
    index = httpx.get(f"{server.base_url}/{page}/some/screen")
    assert index.status_code == 200 and index.headers["cache-control"] == "no-cache"
    policy = index.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "img-src 'self' data: blob:;" in policy  # media, fetched with the token (docs/media.md)
    (script,) = re.findall(rf'src="(/{page}/assets/[^"]+\.js)"', index.text)
    asset = httpx.get(f"{server.base_url}{script}")
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("text/javascript")
    assert "immutable" in asset.headers["cache-control"]
    for outside in ("../../pages.py", "..%2F..%2Fpages.py", "%2e%2e/%2e%2e/pages.py"):
        escaped = httpx.get(f"{server.base_url}/{page}/{outside}")
        assert "router = APIRouter" not in escaped.text, outside
