"""The FastAPI application: routers, problem+json errors, and the services' lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from confero import __version__
from confero.app.services import Services
from confero.web import pages, problems, ws
from confero.web.api import auth, chat, conference, health, reservations, rooms


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
    for module in (health, auth, rooms, reservations, conference, chat):
        app.include_router(module.router)
    app.include_router(ws.router)
    pages.install(app)
    return app
