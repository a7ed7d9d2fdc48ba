"""The application (confero/web/app.py): nothing a request runs goes through FastAPI's
thread pool. A plain ``def`` route or dependency is run there, a thread hop per request
(issue 17 found one in the dependency every route uses)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute

from confero.app.services import Services
from confero.web.app import create_app


def _calls(dependant: Dependant) -> Iterator[object]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _routes(routes: list[Any]) -> Iterator[object]:
    """Every route, also those of included routers (FastAPI 0.16x keeps them apart)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)
        else:
            yield route


def test_every_route_and_dependency_runs_on_the_event_loop(services: Services) -> None:
    app = create_app(services)
    checked, threaded = 0, []
    for route in _routes(app.routes):
        if isinstance(route, APIRoute | APIWebSocketRoute):
            for call in _calls(route.dependant):
                checked += 1
                if not inspect.iscoroutinefunction(call):
                    threaded.append(f"{route.path}: {getattr(call, '__qualname__', call)}")
    assert checked > 50
    assert threaded == []
