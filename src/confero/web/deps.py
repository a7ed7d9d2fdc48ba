"""Request dependencies: the services, the signed-in account, the client's address."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from confero.app.ratelimit import is_trusted
from confero.app.services import Services
from confero.domain.accounts import Account
from confero.domain.errors import DomainError
from confero.web.node_auth import verified_client

SESSION_COOKIE = "confero_session"


async def services(request: Request) -> Services:
    """``async`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool,
    a thread hop on every request for a dictionary lookup (issue 17's profile)."""
    svc: Services = request.app.state.services
    return svc


ServicesDep = Annotated[Services, Depends(services)]


def client_source(request: Request) -> str:
    """The client's address for per-address limits (sign-in, issue 14).

    The connection's peer, unless that is a trusted proxy (CONFERO_TRUSTED_PROXIES):
    then ``X-Forwarded-For`` is read from the right, skipping trusted proxies, and the
    first hop not ours is the client. From anybody else the header is ignored: a forged
    one must not give each guess a fresh address. (uvicorn's own proxy handling is
    off: confero.server.)

    A request another node of the cluster forwarded (web/forward.py) names its client in
    a header signed with the cluster's secret; only a valid, fresh signature is believed
    (web/node_auth.py, issue 16)."""
    forwarded = node_client(request)
    if forwarded is not None:
        return forwarded
    peer = request.client.host if request.client else "unknown"
    trusted = request.app.state.services.rooms.guesses.policy.trusted_proxies
    if not is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # garbage from our own proxy's client side: stop at the proxy
        if not is_trusted(hop, trusted):
            return hop
        peer = hop
    return peer


def node_client(request: Request) -> str | None:
    """The client a node that forwarded this request vouches for; None if none did."""
    secret: str = getattr(request.app.state, "cluster_secret", "")
    return verified_client(secret, request.headers, request.scope["path"]) if secret else None


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
