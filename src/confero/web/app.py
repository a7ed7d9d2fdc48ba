"""The FastAPI application: routers, problem+json errors, and the services' lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from confero import __version__
from confero.app.services import Services
from confero.web import csrf, pages, panel, people_socket, problems, ws
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


def create_app(
    services: Services,
    *,
    secure_cookies: bool = False,
    signaling: ws.Signaling | None = None,
    ice_servers: list[dict[str, object]] | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await services.close()

    app = FastAPI(
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
