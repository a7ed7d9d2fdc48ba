"""Request dependencies: the services, the signed-in account, the client's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from confero.app.services import Services
from confero.domain.accounts import Account
from confero.domain.errors import DomainError

SESSION_COOKIE = "confero_session"


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


ServicesDep = Annotated[Services, Depends(services)]


def client_source(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return request.cookies.get(SESSION_COOKIE)


async def current_account(request: Request, svc: ServicesDep) -> Account:
    token = request_token(request)
    account = await svc.accounts.resolve_token(token) if token else None
    if account is None:
        raise DomainError("auth.required", "sign in first")
    return account


AccountDep = Annotated[Account, Depends(current_account)]


async def admin_account(account: AccountDep) -> Account:
    if not account.is_admin:
        raise DomainError("auth.forbidden", "only an administrator may do this")
    return account


AdminDep = Annotated[Account, Depends(admin_account)]
