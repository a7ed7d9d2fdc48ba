"""A node that does not run a room hands its browsers to the node that does (issue 16
item 4, F-SC2, docs/CLUSTER.md).

A live conference lives on one node (app/placement.py), yet any node serves pages and
API. What needs the live conference is forwarded, transparently, to its owner: the room
page's socket (pumped both ways until either side closes, close code and reason passed
through) and the room-scoped REST calls that read or command it, or that its pages
must hear of (``OnOwner`` on the conference, chat post, files, recordings and the room
routes that end, revoke or re-link; re-sent, bodies streamed both ways, and answered
with the owner's status, body and headers unchanged). The socket carries the signaling
only: the SDP answer is the owner's, so ICE and media go straight from the browser to
the owner, never through this node.

Both carry the browser's own headers (cookie, origin, host: the owner checks the origin
against the host as for a socket of its own) and the client's address signed with the
cluster's secret (web/node_auth.py), so the owner counts limits against the browser, not
this node. A forwarded request is always served where it arrives (at most one hop): if
the room moved meanwhile, the owner answers ``conference.busy`` or closes the socket
with ``MOVED`` and the page comes back through a fresh lookup. The owner unreachable
(5 s): 503 ``conference.busy``, or the socket closed ``UNAVAILABLE`` (the page retries).

Without Redis there is no forwarder (no secret) and the owner is always this node.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator
from typing import Any, cast
from urllib.parse import quote, urlsplit

import httpx
import websockets
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import StreamingResponse
from starlette.requests import HTTPConnection
from starlette.types import Scope
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection

from confero.app.placement import NodeInfo, elsewhere
from confero.domain.errors import DomainError
from confero.web.deps import client_source, node_client
from confero.web.node_auth import sign

log = logging.getLogger(__name__)

#: Seconds the owner has for each step: connect, handshake, each read or write.
TIMEOUT = 5.0
#: The browser's headers a forwarded REST call keeps: who it is (token, cookie, the
#: participant's content token), what it sends, and what the CSRF guard reads
#: (web/csrf.py: Origin and Sec-Fetch-Site, judged against Host).
REQUEST_HEADERS = (
    "authorization",
    "cookie",
    "content-type",
    "content-length",
    "host",
    "origin",
    "sec-fetch-site",
    "accept-language",
    "x-confero-participant",
    "x-request-id",
)
#: The browser's headers a forwarded socket keeps (its Host is the URL's: ``_connect``).
SOCKET_HEADERS = ("cookie", "origin", "user-agent", "accept-language", "x-request-id")
#: The owner's answer headers passed back (the body is passed unchanged): what it is,
#: and what a download's own safety headers say (web/api/files.py).
ANSWER_HEADERS = (
    "content-type",
    "content-length",
    "content-encoding",
    "content-disposition",
    "content-security-policy",
    "x-content-type-options",
    "cache-control",
    "referrer-policy",
    "retry-after",
    "location",
)
#: Largest socket message either way (uvicorn's own default for the browser's side).
MAX_MESSAGE = 16 * 1024 * 1024
#: Close codes a close frame may not carry: the owner vanished without a close.
_NO_CLOSE_FRAME = frozenset({1005, 1006, 1015})


def busy() -> DomainError:
    """The owner cannot be reached now; the client tries again (never names a node)."""
    return DomainError("conference.busy", "the conference cannot be reached now; try again")


def _target(scope: Scope) -> str:
    """The request's path and query exactly as the browser sent them."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(scope["path"])
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


class Forwarder:
    """One per node: the pooled HTTP client to the other nodes and the socket pump."""

    def __init__(self, secret: str, *, timeout: float = TIMEOUT) -> None:
        assert secret, "a forwarder signs with the cluster's secret"
        self._secret = secret
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:  # made in the server's loop, on first use
            self._http = httpx.AsyncClient(
                timeout=self._timeout, follow_redirects=False, trust_env=False
            )
        return self._http

    async def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    def _signed(self, conn: HTTPConnection) -> dict[str, str]:
        address = client_source(cast(Request, conn))
        return sign(self._secret, address, conn.scope["path"])

    # ------------------------------------------------------------- where
    async def owner_elsewhere(self, conn: HTTPConnection, room_id: str) -> NodeInfo | None:
        """The other live node that runs the room; None: serve it here (nobody runs it,
        this node does, or another node forwarded this to us: never a second hop)."""
        if node_client(cast(Request, conn)) is not None:
            return None
        placement = conn.app.state.services.registry.placement
        owner: NodeInfo | None = await placement.owner(room_id)
        if owner is None or owner.node_id == placement.this_node.node_id:
            return None
        return owner

    # -------------------------------------------------------------- REST
    async def request(self, request: Request, base: str) -> Response:
        """Re-send ``request`` to the node at ``base``; its answer, unchanged. Both bodies
        stream (a shared file is large); the body caps (web/limits.py, the upload's own)
        hold on both nodes."""
        headers = {n: v for n in REQUEST_HEADERS if (v := request.headers.get(n)) is not None}
        headers.update(self._signed(request))
        has_body = "content-length" in headers or "transfer-encoding" in request.headers
        http = self._client()
        outgoing = http.build_request(
            request.method,
            base + _target(request.scope),
            content=request.stream() if has_body else None,  # the read body, or the rest
            headers=headers,
        )
        try:
            answer = await http.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            path = request.url.path
            log.warning("forward: %s %s to %s failed: %r", request.method, path, base, exc)
            raise busy() from exc
        kept = {n: v for n in ANSWER_HEADERS if (v := answer.headers.get(n)) is not None}
        return StreamingResponse(_relay(answer), status_code=answer.status_code, headers=kept)

    # ------------------------------------------------------------ sockets
    async def socket(self, websocket: WebSocket, base: str, *, gone: int) -> None:
        """Accept the browser's socket and pump it to the same path on the node at
        ``base`` until either side closes; ``gone``: the close code for the browser when
        that node vanishes without closing. Raises ``conference.busy`` (nothing accepted)
        when that node cannot be reached."""
        try:
            upstream = await self._connect(websocket, base)
        except (OSError, TimeoutError, ValueError, websockets.InvalidHandshake) as exc:
            log.warning("forward: socket to %s failed: %r", base, exc)
            raise busy() from exc
        async with upstream:
            await websocket.accept()
            await _pump(websocket, upstream, gone)

    async def _connect(self, websocket: WebSocket, base: str) -> ClientConnection:
        """Connected to ``base``, while the handshake names the browser's own Host."""
        owner = urlsplit(base)
        secure = owner.scheme == "https"
        host = websocket.headers.get("host") or owner.netloc
        headers = [(n, v) for n in SOCKET_HEADERS if (v := websocket.headers.get(n)) is not None]
        headers.extend(self._signed(websocket).items())
        tls: dict[str, Any] = {"server_hostname": owner.hostname} if secure else {}
        return await websockets.connect(
            f"{'wss' if secure else 'ws'}://{host}{_target(websocket.scope)}",
            host=owner.hostname,
            port=owner.port or (443 if secure else 80),
            additional_headers=headers,
            user_agent_header=None,
            proxy=None,
            open_timeout=self._timeout,
            max_size=MAX_MESSAGE,
            compression=None,
            **tls,
        )


async def _relay(answer: httpx.Response) -> AsyncIterator[bytes]:
    """The owner's body as it came (still encoded); its connection back to the pool."""
    try:
        async for chunk in answer.aiter_raw():
            yield chunk
    finally:
        await answer.aclose()


async def _pump(browser: WebSocket, upstream: ClientConnection, gone: int) -> None:
    """Text and binary both ways; the first side to close closes the other alike."""
    up = asyncio.create_task(_to_owner(browser, upstream), name="forward-up")
    down = asyncio.create_task(_to_browser(browser, upstream, gone), name="forward-down")
    try:
        await asyncio.wait((up, down), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (up, down):
            task.cancel()
        await asyncio.gather(up, down, return_exceptions=True)


async def _to_owner(browser: WebSocket, upstream: ClientConnection) -> None:
    code, reason = 1000, ""
    try:
        while True:
            message = await browser.receive()
            if message["type"] == "websocket.disconnect":
                code, reason = message.get("code", 1000), message.get("reason") or ""
                break
            data = message.get("text")
            await upstream.send(data if data is not None else message.get("bytes") or b"")
    except WebSocketDisconnect as exc:
        code, reason = exc.code, exc.reason or ""
    except websockets.ConnectionClosed:
        return  # the owner closed: _to_browser passes that on
    with contextlib.suppress(Exception):
        await upstream.close(1000 if code in _NO_CLOSE_FRAME else code, reason)


async def _to_browser(browser: WebSocket, upstream: ClientConnection, gone: int) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for data in upstream:
            if isinstance(data, str):
                await browser.send_text(data)
            else:
                await browser.send_bytes(data)
    code, reason = upstream.close_code or 1006, upstream.close_reason or ""
    if code in _NO_CLOSE_FRAME:  # the owner went away without a word: try again later
        code, reason = gone, ""
    with contextlib.suppress(Exception):
        await browser.close(code, reason)


# ---------------------------------------------------------------- REST wiring
def forwarder_of(conn: HTTPConnection) -> Forwarder | None:
    forwarder: Forwarder | None = getattr(conn.app.state, "forwarder", None)
    return forwarder


async def run_on_owner(request: Request, room_id: str) -> None:
    """Route dependency: a room another live node runs is answered there (raises
    ``conference.elsewhere``, which ``install``'s handler forwards) before the route
    reads or writes anything here."""
    forwarder = forwarder_of(request)
    if forwarder is None:
        return
    owner = await forwarder.owner_elsewhere(request, room_id[:64])
    if owner is not None:
        raise elsewhere(owner)


#: ``dependencies=[OnOwner]`` on a room-scoped route that needs the live conference.
OnOwner = Depends(run_on_owner)


def install(app: FastAPI) -> None:
    """``conference.elsewhere`` from a route (``OnOwner``, or the conference service in a
    race) forwards the request; any other error goes to the handler installed before
    (web/problems.py). Routes raise it before writing anything, so re-sending is safe.
    Unforwarded (no forwarder, or it came from a node), it is a plain ``conference.busy``:
    the internal address never reaches a client."""
    fallback = app.exception_handlers[DomainError]

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if exc.code == "conference.elsewhere":
            forwarder, url = forwarder_of(request), exc.context.get("internal_url")
            exc = busy()
            if forwarder is not None and isinstance(url, str) and node_client(request) is None:
                with contextlib.suppress(DomainError):
                    return await forwarder.request(request, url)
        answer = fallback(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(DomainError, handler)
