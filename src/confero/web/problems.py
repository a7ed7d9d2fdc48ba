"""Errors as RFC 9457 problem+json with a stable ``code`` (house rule 7).

The status of each code comes from the error registry (``confero.domain.errors.ERRORS``),
the one table the socket, the phone and the page read too.

Every failure leaves through here: domain rule violations, malformed requests and
unexpected bugs alike. Bugs are logged with their traceback on the server and answered
with a plain 500 problem, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from confero.domain.errors import DomainError

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": code, "status": status, "code": code, "detail": detail}
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = exc.kind.http_status
    headers = None
    extra = {k: v for k, v in exc.context.items() if isinstance(v, str | int | float | bool)}
    if exc.code.endswith(".rate_limited") and "retry_after" in exc.context:
        headers = {"Retry-After": str(exc.context["retry_after"])}
    return problem(status, exc.code, exc.detail, headers, **extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    return problem(422, "request.invalid", "the request is not valid", errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode (e.g. JSON that is not UTF-8):
        # malformed input like any other, with the same status and code.
        errors = [{"loc": ["body"], "msg": str(exc.detail)}]
        return problem(422, "request.invalid", "the request is not valid", errors=errors)
    code = {
        404: "http.not_found",
        405: "http.method_not_allowed",
        401: "auth.required",
        403: "auth.forbidden",
        413: "request.too_large",
    }.get(exc.status_code, f"http.{exc.status_code}")
    return problem(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))


#: Seconds a client is told to wait when the database stayed busy.
BUSY_RETRY_AFTER = 2


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """SQLite's ``database is locked`` after the busy timeout (store/database.py): the
    server is overloaded, not broken, so 503 with Retry-After rather than a 500 (issue
    14). Any other database failure is a bug like any other."""
    if "database is locked" in str(exc):
        log.warning("database busy on %s %s", request.method, request.url.path)
        return problem(
            503,
            "server.busy",
            "the server is busy; try again in a moment",
            {"Retry-After": str(BUSY_RETRY_AFTER)},
            retry_after=BUSY_RETRY_AFTER,
        )
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "server.error", "something went wrong on our side")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
