"""HTTP's part of observability (issue 18): request ids, request durations, ``/metrics``.

``RequestObserver`` is a pure ASGI middleware, outermost (web/app.py), so it sees every
answer, the 500 of a bug and the 413 of an oversized body included:

- the request id: an incoming ``X-Request-ID`` is kept if it is short and plain (at
  most 64 of ``[A-Za-z0-9._:-]``: it goes into log lines and headers, so nothing that
  could forge a line or a header), else a new one; it is echoed in the response and set
  in the log context (observe/logs.py) for everything the request does. A WebSocket
  gets one too, for the lines its handler logs.
- the duration, labelled by the route *template* Starlette matched (``/api/v1/rooms/
  {room_id}``), a mount's prefix (``/static/{path}``), or ``unmatched``: a raw path
  would make one series per room id, per token, per scanner's guess.

Where ``/metrics`` is served, and why (``CONFERO_METRICS*``, config.py). Metrics tell
an outsider how busy the node is and who calls it how often, so they must never be
public by accident:

- ``CONFERO_METRICS_PORT``: a listener of its own (``exposition_app`` under a second
  uvicorn server, server.py) on ``CONFERO_METRICS_HOST``, 127.0.0.1 by default; it
  serves ``/metrics`` and nothing else, and the main port does not serve it at all.
  The recommended set-up: Prometheus on the host, or the host bound to a private
  network only the scraper reaches.
- ``CONFERO_METRICS=true`` without a port: ``/metrics`` on the main port, but answered
  only to a client whose connection comes from a loopback address *and* whose request
  carries no ``Forwarded``/``X-Forwarded-For``/``X-Real-IP``: a reverse proxy on the
  same host connects from loopback too, and forwards the public's requests, so a
  request it forwards (it adds those headers) gets the same 404 as any stranger. A
  proxy that adds none of them must not forward ``/metrics``, or the port set-up used:
  docs/OPERATIONS.md says so.
- neither: no ``/metrics`` anywhere (404).
"""

from __future__ import annotations

import ipaddress
import re
import time
import uuid
from typing import Final

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from confero.observe import logs
from confero.observe.metrics import Metrics
from confero.web.problems import problem

REQUEST_ID_HEADER: Final = "X-Request-ID"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: The route label of a request no route matched (404s, scanners).
UNMATCHED: Final = "unmatched"
_FORWARDING = (b"forwarded", b"x-forwarded-for", b"x-real-ip")


def request_id_of(scope: Scope) -> str:
    """The client's ``X-Request-ID`` if short and plain, else a new random one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1")
            if _SAFE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def route_label(scope: Scope, root_path: str = "") -> str:
    """The template of the route that took the request (never the raw path)."""
    route = scope.get("route")
    path: object = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(path, str):
        return path
    mounted = scope.get("root_path", "")
    if isinstance(mounted, str) and mounted != root_path and mounted.startswith(root_path):
        return mounted[len(root_path) :] + "/{path}"
    return UNMATCHED


class RequestObserver:
    """Request id in and out, and the request's duration by route (``metrics``: None
    means ids only, as in tests that build the app without a node)."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            with logs.bound(request_id=request_id_of(scope)):
                await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        root_path = scope.get("root_path", "")
        status = 500  # what the client sees if the app fails before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, rid)
            await send(message)

        try:
            with logs.bound(request_id=rid):
                await self.app(scope, receive, send_with_id)
        finally:
            if self.metrics is not None:
                self.metrics.observe_http(
                    route_label(scope, root_path),
                    scope.get("method", "GET"),
                    status,
                    time.perf_counter() - started,
                )


def from_loopback_directly(request: Request) -> bool:
    """The connection comes from this host and no proxy forwarded the request."""
    if any(name in _FORWARDING for name, _ in request.scope.get("headers", ())):
        return False
    host = request.client.host if request.client is not None else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def metrics_router(metrics: Metrics) -> APIRouter:
    """``/metrics`` on the main port, for loopback clients only (see the module)."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def exposition(request: Request) -> Response:
        if not from_loopback_directly(request):
            return problem(404, "http.not_found", "Not Found")
        return Response(await metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return router


def exposition_app(metrics: Metrics) -> ASGIApp:
    """The metrics listener's whole application: ``GET /metrics``, else 404."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != "/metrics" or scope["method"] not in ("GET", "HEAD"):
            status, body, kind = 404, b"not found\n", b"text/plain; charset=utf-8"
        else:
            status, body, kind = 200, await metrics.exposition(), CONTENT_TYPE_LATEST.encode()
        headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    return app
