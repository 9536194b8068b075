"""Security headers on every HTTP answer, set in one place (the edge) so no route can forget them.

The API's JSON and the landing page load nothing: their policy allows nothing. The web app
(/app) loads its own files and talks to this origin only, with no inline script. The API pages
(/docs, /redoc) run Swagger UI and ReDoc from the server's own assets, whose start-up script is
inline; they take no user content. Answers under /api/ are personal: no cache may keep them,
unless the route says otherwise (a default avatar, which is no one's secret).
HSTS goes on answers that came over HTTPS (directly, or from a trusted proxy that says so).
"""

from __future__ import annotations

import functools

from starlette.types import Scope

STRICT_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
API_PAGES_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"
)
API_PAGES = ("/docs", "/redoc")
# The web app (/app) and the staff console (/console): their own scripts, styles and images only
# (Vite builds no inline script), the API and the WebSocket on this origin, the app's manifest
# and its service worker. Media are shown from blob: URLs: their bytes are fetched with the
# bearer token, which an <img src> cannot send (docs/media.md).
APP_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; font-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGES = ("/app/", "/console/")  # the redirects from /app and /console load nothing
HSTS = "max-age=63072000"
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def security_headers(scope: Scope) -> tuple[tuple[bytes, bytes], ...]:
    """The headers an HTTP answer to `scope` gets (the edge adds those the answer did not set)."""
    path: str = scope["path"]
    policy = (
        API_PAGES_POLICY
        if path in API_PAGES
        else APP_POLICY
        if path.startswith(PAGES)
        else STRICT_POLICY
    )
    return _headers(policy, path.startswith("/api/"), scope.get("scheme") == "https")


@functools.cache
def _headers(policy: str, private: bool, over_tls: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The headers an answer gets, encoded once for each kind of answer."""
    headers = {**ALWAYS, "Content-Security-Policy": policy}
    if private:
        headers["Cache-Control"] = "no-store"
    if over_tls:
        headers["Strict-Transport-Security"] = HSTS
    return tuple((name.lower().encode(), value.encode()) for name, value in headers.items())
