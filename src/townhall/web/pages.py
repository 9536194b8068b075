"""The landing page and the web app (/app), whose built files are served from the package.

The app is a single page: any path under /app that is not one of its files answers its
index.html, and the app shows the screen the path names. Its files are built from web/ by Vite
(`make web`); a checkout that has not built them answers /app with a page that says so.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

STATIC = Path(__file__).parent / "static"
APP = STATIC / "app"
# Vite names the files under assets/ by their content's hash: they never change.
FOREVER = "public, max-age=31536000, immutable"
# index.html, the manifest and the service worker name the current files: always asked again.
EVERY_TIME = "no-cache"
TYPES = {".webmanifest": "application/manifest+json", ".js": "text/javascript; charset=utf-8"}
NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Townhall</title></head>
<body><h1>The web app is not built</h1>
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
    found = _built_file(path)
    if found is not None:
        cache = FOREVER if found.parent.name == "assets" else EVERY_TIME
        return FileResponse(
            found, media_type=TYPES.get(found.suffix), headers={"Cache-Control": cache}
        )
    index = APP / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers={"Retry-After": "3600"})
    return HTMLResponse(
        index.read_text(encoding="utf-8"),
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": EVERY_TIME},
    )


def _built_file(path: str) -> Path | None:
    """The app's file at `path`, never one outside the app's folder."""
    if not path:
        return None
    candidate = (APP / path).resolve()
    if APP.resolve() not in candidate.parents or not candidate.is_file():
        return None
    return candidate
