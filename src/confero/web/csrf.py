"""Cross-site request protection for the REST API (F-RS8, issue 9).

The session cookie is ``SameSite=Lax``, so modern browsers already leave it off POSTs
that another site's page sends. This is the second wall, for older browsers that ignore
SameSite and for sibling sites on the same registrable domain (``evil.example.org``
counts as "same site" for SameSite but is another origin): an unsafe request
(POST/PUT/PATCH/DELETE) under ``/api/`` that is authenticated by the cookie is refused
with 403 ``auth.cross_site`` when the browser says it comes from elsewhere, through
``Origin`` (another host:port than ours) or ``Sec-Fetch-Site`` (``cross-site`` or
``same-site``).

Not refused: bearer-token requests (a page on another site cannot attach our token) and
requests that carry neither header (scripts, curl, tests: browsers always send one of
them on a cross-origin POST, so their absence means no browser to hijack).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from confero.web.deps import SESSION_COOKIE
from confero.web.problems import problem

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})


def _bearer(request: Request) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(value.strip())


def is_cross_site(request: Request, own_hosts: Iterable[str] = ()) -> bool:
    """True when a browser sent this cookie-authenticated unsafe API request from
    another site's page."""
    if request.method not in UNSAFE or not request.url.path.startswith("/api/"):
        return False
    if SESSION_COOKIE not in request.cookies or _bearer(request):
        return False
    if request.headers.get("sec-fetch-site", "").lower() in FOREIGN_FETCH_SITES:
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    # "null" (a sandboxed or privacy-sensitive context) has no host and is refused too.
    host = urlsplit(origin).netloc.lower()
    ours = {request.headers.get("host", "").lower(), *(h.lower() for h in own_hosts)}
    return not host or host not in ours


class CrossSiteGuard:
    """Pure ASGI middleware; ``public_url`` (the configured base URL) is accepted as our
    origin too, for a reverse proxy that rewrites ``Host``."""

    def __init__(self, app: ASGIApp, public_url: str = "") -> None:
        self.app = app
        netloc = urlsplit(public_url).netloc
        self.own_hosts = (netloc,) if netloc else ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_cross_site(Request(scope), self.own_hosts):
            response = problem(403, "auth.cross_site", "this request came from another site's page")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
