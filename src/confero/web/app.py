"""The FastAPI application: routers, problem+json errors, and the services' lifetime.

Issue 14: every request passes the body cap (web/limits.py) before anything reads it, and
every answer, the 500 of an unexpected error included, carries the security headers.
Issue 18: outside even those, ``RequestObserver`` (web/observe.py) gives each request its
id and measures it; ``/metrics`` is routed here only when the node serves it on the main
port (``metrics_route``).
Issue 16: on a cluster node (``cluster_secret``), room-scoped calls and sockets for a room
another node runs are forwarded there (web/forward.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from confero import __version__
from confero.app.services import Services
from confero.observe.metrics import Metrics
from confero.web import (
    csrf,
    forward,
    limits,
    observe,
    pages,
    panel,
    people_socket,
    problems,
    ws,
)
from confero.web.api import (
    accounts,
    auth,
    chat,
    conference,
    files,
    health,
    invitations,
    people,
    recordings,
    reservations,
    rooms,
    sms,
)


class ConferoApp(FastAPI):
    """FastAPI with the security headers outside Starlette's own error middleware, so
    that its 500 answers carry them too, and the request observer outside everything."""

    #: Request durations go here (issue 18); None: request ids only.
    metrics: Metrics | None = None

    def build_middleware_stack(self) -> ASGIApp:
        inner = limits.SecurityHeaders(super().build_middleware_stack())
        return observe.RequestObserver(inner, self.metrics)


def create_app(
    services: Services,
    *,
    secure_cookies: bool = False,
    signaling: ws.Signaling | None = None,
    ice_servers: list[dict[str, object]] | None = None,
    max_body: int = limits.MAX_BODY,
    metrics: Metrics | None = None,
    metrics_route: bool = False,
    cluster_secret: str = "",
) -> FastAPI:
    """``cluster_secret``: the secret the nodes of a cluster share (issue 16); empty: one
    process, nothing forwarded and no forwarded client believed."""
    forwarder = forward.Forwarder(cluster_secret) if cluster_secret else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if forwarder is not None:
            await forwarder.close()
        await services.close()

    app = ConferoApp(
        title="Confero",
        version=__version__,
        summary="Phone and browser conferencing in one room.",
        lifespan=lifespan,
    )
    app.metrics = metrics
    app.state.services = services
    app.state.secure_cookies = secure_cookies
    app.state.signaling = signaling
    app.state.ice_servers = ice_servers or []
    app.state.cluster_secret = cluster_secret
    app.state.forwarder = forwarder
    problems.install(app)
    forward.install(app)  # conference.elsewhere: answered by the node that runs the room
    app.add_middleware(csrf.CrossSiteGuard, public_url=services.base_url)
    # Added last, so it runs first: an oversized body is refused before the CSRF check,
    # authentication or parsing (issue 14).
    app.add_middleware(limits.BodyLimit, max_body=max_body)
    for module in (
        health,
        auth,
        accounts,
        rooms,
        reservations,
        invitations,
        sms,
        conference,
        chat,
        people,
        files,
        recordings,
    ):
        app.include_router(module.router)
    if metrics is not None and metrics_route:
        app.include_router(observe.metrics_router(metrics))
    app.include_router(ws.router)
    app.include_router(people_socket.router)
    pages.install(app)
    app.include_router(panel.router)
    return app
