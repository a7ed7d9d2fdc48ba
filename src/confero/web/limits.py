"""HTTP request limits and security headers, as pure ASGI middleware (issue 14, Deliver 4).

Body cap before parsing: the attack run sent 4 x 33 MB JSON bodies without a token; they
were read and parsed before the 401 (memory 261 MB -> 1,014 MB, calls stalled). Now a
body whose ``Content-Length`` is over ``max_body`` bytes is answered 413
``request.too_large`` before a byte of it is read (and the connection closed, so the
server does not drain it either); a body without a length (chunked) is counted while it
is read and refused the moment it passes the cap. Shared-file uploads stream to disk
under their own, larger cap (``max_upload_mb``, web/api/files.py), so their one route is
left to it.

Security headers on every page and API answer, errors included (``ConferoApp`` in
web/app.py wraps even the 500 handler): a CSP that allows only our own scripts, styles
and sockets and no framing (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``: the
attack run framed ``/join/<token>``), ``nosniff`` and ``no-referrer`` (the pages' own
meta tag, now for API answers too). A header a route sets itself (a download's sandbox
CSP) is kept. The pages run no inline script (their config is an inert
``application/json`` block) and set styles only through the CSSOM, which a CSP without
``'unsafe-inline'`` allows. The API docs (``/docs``, ``/redoc``) load Swagger/ReDoc from
their CDN with an inline bootstrap script, so they get a looser policy of their own.
The pages' policy (web/pages.py) is this one too; media may come from the camera
(``mediastream:``/``blob:``), the WebSocket goes to this host.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from confero.web.problems import problem

#: The largest request body outside uploads: the API's JSON bodies are a few KB.
MAX_BODY = 1024 * 1024
#: The largest row id a query parameter may name (``before=``): ``Integer`` columns are
#: 32 bits on PostgreSQL, where asyncpg refuses a larger parameter (a 500 before).
MAX_ID = 2**31 - 1

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = "; ".join(
    (
        "default-src 'self'",
        f"script-src 'self' 'unsafe-inline' {CDN}",
        f"style-src 'self' 'unsafe-inline' {CDN} https://fonts.googleapis.com",
        "font-src 'self' https://fonts.gstatic.com",
        "img-src 'self' data: https://fastapi.tiangolo.com",
        f"worker-src 'self' blob: {CDN}",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    )
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)

UPLOAD = re.compile(r"^/api/v1/rooms/[^/]+/files/?$")


def is_upload(scope: Scope) -> bool:
    """The shared-file upload, which has its own cap (``max_upload_mb``)."""
    return scope.get("method") == "POST" and bool(UPLOAD.match(scope.get("path", "")))


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body without a length passes the cap: FastAPI
    re-raises an ``HTTPException`` from body reading, and problems.py answers it 413
    ``request.too_large``."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"a request body has at most {limit} bytes", headers={"Connection": "close"}
        )


class BodyLimit:
    """Requests' bodies over ``max_body`` bytes are refused before they are read."""

    def __init__(
        self,
        app: ASGIApp,
        max_body: int = MAX_BODY,
        exempt: Callable[[Scope], bool] = is_upload,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            response = problem(
                413,
                "request.too_large",
                f"a request body has at most {self.max_body} bytes",
                {"Connection": "close"},
                max_bytes=self.max_body,
            )
            await response(scope, receive, send)
            return
        limit = self.max_body
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we see it
    return None


class SecurityHeaders:
    """Adds the security headers to every HTTP answer that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope.get("path") in DOCS_PATHS else CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in (("Content-Security-Policy", csp), *HEADERS):
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)
