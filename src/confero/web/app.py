"""The FastAPI application: routers, problem+json errors, and the services' lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from confero import __version__
from confero.app.services import Services
from confero.web import problems, ws
from confero.web.api import auth, chat, conference, health, reservations, rooms


def create_app(
    services: Services, *, secure_cookies: bool = False, signaling: ws.Signaling | None = None
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
    problems.install(app)
    for module in (health, auth, rooms, reservations, conference, chat):
        app.include_router(module.router)
    app.include_router(ws.router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return (
            "<!doctype html><title>Confero</title><h1>Confero</h1>"
            "<p>The server runs. The API is described at <a href='/docs'>/docs</a>.</p>"
        )

    return app
