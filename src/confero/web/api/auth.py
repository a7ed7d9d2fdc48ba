"""Sign-in (session cookie for the panel, bearer tokens for scripts), one's own account
settings and password, and account creation by an administrator (F-RS8)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from confero.domain.accounts import (
    MAX_DISPLAY_NAME,
    MAX_PASSWORD,
    Account,
)
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
    display_name: str = Field(default="", max_length=MAX_DISPLAY_NAME)
    is_admin: bool = False
    #: Range and zone are checked by the domain: ``account.invalid_sms_allowance``,
    #: ``account.invalid_time_zone``, codes the panel shows next to the field.
    sms_allowance: int = 0
    time_zone: str = "UTC"


class OwnSettings(BaseModel):
    display_name: str | None = Field(default=None, max_length=MAX_DISPLAY_NAME)
    time_zone: str | None = None


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=MAX_PASSWORD)
    new_password: str = Field(max_length=MAX_PASSWORD)


class AccountOut(BaseModel):
    id: str
    email: str
    display_name: str
    is_admin: bool
    disabled: bool
    time_zone: str
    sms_allowance: int
    sms_used: int
    sms_left: int
    created_at: datetime

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(
            id=a.id,
            email=a.email,
            display_name=a.display_name,
            is_admin=a.is_admin,
            disabled=a.disabled,
            time_zone=a.time_zone,
            sms_allowance=a.sms_allowance,
            sms_used=a.sms_used,
            sms_left=a.sms_left,
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
        await svc.people.close_token(token)  # its pages go offline at once (F-WB3)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post("/tokens", response_model=TokenOut, status_code=status.HTTP_201_CREATED)
async def create_token(body: Credentials, request: Request, svc: ServicesDep) -> TokenOut:
    account = await svc.accounts.authenticate(body.email, body.password, client_source(request))
    return TokenOut(token=await svc.accounts.issue_token(account, "api"))


@router.get("/me", response_model=AccountOut)
async def me(account: AccountDep, svc: ServicesDep) -> AccountOut:
    # Read afresh: the signed-in account may come from the token cache, whose SMS
    # counters can be a minute old (app/token_cache.py).
    return AccountOut.of(await svc.accounts.get(account.id) or account)


@router.patch("/me", response_model=AccountOut)
async def update_me(body: OwnSettings, account: AccountDep, svc: ServicesDep) -> AccountOut:
    changed = await svc.accounts.update_own(
        account, display_name=body.display_name, time_zone=body.time_zone
    )
    return AccountOut.of(changed)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChange, request: Request, account: AccountDep, svc: ServicesDep
) -> Response:
    """Wrong current password: 403 ``account.wrong_password``; every other session and
    token of the account ends, the one of this request stays."""
    await svc.accounts.change_password(
        account, body.current_password, body.new_password, keep_token=request_token(request)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/accounts", response_model=AccountOut, status_code=status.HTTP_201_CREATED)
async def create_account(body: AccountIn, admin: AdminDep, svc: ServicesDep) -> AccountOut:
    account = await svc.accounts.create(
        body.email,
        body.password,
        body.display_name,
        is_admin=body.is_admin,
        sms_allowance=body.sms_allowance,
        time_zone=body.time_zone,
    )
    return AccountOut.of(account)
