"""The landing page, the web app (/app) and the staff console (/console), whose built files are
served from the package.

Each is a single page: any path under it that is not one of its files answers its index.html,
and the page shows the screen the path names. Their files are built from web/ by Vite
(`make web`); a checkout that has not built them answers with a page that says so.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

STATIC = Path(__file__).parent / "static"
APP = STATIC / "app"
CONSOLE = STATIC / "console"
# Vite names the files under assets/ by their content's hash: they never change.
FOREVER = "public, max-age=31536000, immutable"
# index.html, the manifest and the service worker name the current files: always asked again.
EVERY_TIME = "no-cache"
TYPES = {".webmanifest": "application/manifest+json", ".js": "text/javascript; charset=utf-8"}
NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Townhall</title></head>
<body><h1>The web app and the console are not built</h1>
<p>Run <code>make run</code>, which builds it (Node.js 20 and npm are needed), or
<code>make web</code>.</p></body></html>
"""

router = APIRouter(include_in_schema=False)


@router.get("/")
async def landing() -> HTMLResponse:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(html, media_type="text/html; charset=utf-8")


@router.get("/app")
async def app_root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=308)


@router.get("/app/{path:path}")
async def app_file(path: str) -> Response:
    return _page_file(APP, path)


@router.get("/console")
async def console_root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=308)


@router.get("/console/{path:path}")
async def console_file(path: str) -> Response:
    return _page_file(CONSOLE, path)


def _page_file(folder: Path, path: str) -> Response:
    """The built file at `path` in `folder`, else the page's index.html (the page routes)."""
    found = _built_file(folder, path)
    if found is not None:
        cache = FOREVER if found.parent.name == "assets" else EVERY_TIME
        return FileResponse(
            found, media_type=TYPES.get(found.suffix), headers={"Cache-Control": cache}
        )
    index = folder / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers={"Retry-After": "3600"})
    return HTMLResponse(
        index.read_text(encoding="utf-8"),
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": EVERY_TIME},
    )


def _built_file(folder: Path, path: str) -> Path | None:
    """The file at `path` in `folder`, never one outside it."""
    if not path:
        return None
    candidate = (folder / path).resolve()
    if folder.resolve() not in candidate.parents or not candidate.is_file():
        return None
    return candidate
