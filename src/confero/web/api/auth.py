"""Sign-in (session cookie for the panel, bearer tokens for scripts) and accounts."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from confero.domain.accounts import Account
from confero.web.deps import (
    SESSION_COOKIE,
    AccountDep,
    AdminDep,
    ServicesDep,
    client_source,
    request_token,
)

router = APIRouter(prefix="/api/v1", tags=["auth"])


class Credentials(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class AccountIn(Credentials):
    display_name: str = Field(default="", max_length=120)
    is_admin: bool = False


class AccountOut(BaseModel):
    id: str
    email: str
    display_name: str
    is_admin: bool
    created_at: datetime

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(
            id=a.id,
            email=a.email,
            display_name=a.display_name,
            is_admin=a.is_admin,
            created_at=a.created_at,
        )


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"


@router.post("/session", response_model=AccountOut)
async def sign_in(
    body: Credentials, request: Request, response: Response, svc: ServicesDep
) -> AccountOut:
    account = await svc.accounts.authenticate(body.email, body.password, client_source(request))
    token = await svc.accounts.issue_token(account, "session")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
        max_age=14 * 24 * 3600,
        path="/",
    )
    return AccountOut.of(account)


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(request: Request, response: Response, svc: ServicesDep) -> None:
    token = request_token(request)
    if token:
        await svc.accounts.revoke_token(token)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post("/tokens", response_model=TokenOut, status_code=status.HTTP_201_CREATED)
async def create_token(body: Credentials, request: Request, svc: ServicesDep) -> TokenOut:
    account = await svc.accounts.authenticate(body.email, body.password, client_source(request))
    return TokenOut(token=await svc.accounts.issue_token(account, "api"))


@router.get("/me", response_model=AccountOut)
async def me(account: AccountDep) -> AccountOut:
    return AccountOut.of(account)


@router.post("/accounts", response_model=AccountOut, status_code=status.HTTP_201_CREATED)
async def create_account(body: AccountIn, admin: AdminDep, svc: ServicesDep) -> AccountOut:
    account = await svc.accounts.create(
        body.email, body.password, body.display_name, is_admin=body.is_admin
    )
    return AccountOut.of(account)
