"""The FastAPI application: routers, problem+json errors, and the services' lifetime.

Issue 14: every request passes the body cap (web/limits.py) before anything reads it, and
every answer, the 500 of an unexpected error included, carries the security headers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from confero import __version__
from confero.app.services import Services
from confero.web import csrf, limits, pages, panel, people_socket, problems, ws
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
    that its 500 answers carry them too."""

    def build_middleware_stack(self) -> ASGIApp:
        return limits.SecurityHeaders(super().build_middleware_stack())


def create_app(
    services: Services,
    *,
    secure_cookies: bool = False,
    signaling: ws.Signaling | None = None,
    ice_servers: list[dict[str, object]] | None = None,
    max_body: int = limits.MAX_BODY,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await services.close()

    app = ConferoApp(
        title="Confero",
        version=__version__,
        summary="Phone and browser conferencing in one room.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.secure_cookies = secure_cookies
    app.state.signaling = signaling
    app.state.ice_servers = ice_servers or []
    problems.install(app)
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
    app.include_router(ws.router)
    app.include_router(people_socket.router)
    pages.install(app)
    app.include_router(panel.router)
    return app
