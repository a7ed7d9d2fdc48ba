"""Accounts administration (F-RS8): the administrators list, change, disable and
re-enable accounts, set their SMS allowance and reset their passwords.

Creating an account stays ``POST /api/v1/accounts`` in ``auth.py``. Every route here
answers 403 ``auth.forbidden`` to anyone but an administrator.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from confero.domain.accounts import MAX_DISPLAY_NAME, MAX_PASSWORD
from confero.web.api.auth import AccountOut
from confero.web.deps import AdminDep, ServicesDep

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


class AccountPatch(BaseModel):
    display_name: str | None = Field(default=None, max_length=MAX_DISPLAY_NAME)
    is_admin: bool | None = None
    disabled: bool | None = None
    #: 0 or more (``account.invalid_sms_allowance`` otherwise).
    sms_allowance: int | None = None
    time_zone: str | None = None


class PasswordReset(BaseModel):
    password: str = Field(max_length=MAX_PASSWORD)


@router.get("", response_model=list[AccountOut])
async def list_accounts(admin: AdminDep, svc: ServicesDep) -> list[AccountOut]:
    return [AccountOut.of(a) for a in await svc.accounts.list_all(admin)]


@router.patch("/{account_id}", response_model=AccountOut)
async def update_account(
    account_id: str, body: AccountPatch, admin: AdminDep, svc: ServicesDep
) -> AccountOut:
    """An administrator cannot disable or demote itself: 409 ``account.self_lockout``."""
    changed = await svc.accounts.update(admin, account_id, **body.model_dump(exclude_none=True))
    return AccountOut.of(changed)


@router.post("/{account_id}/password", status_code=status.HTTP_204_NO_CONTENT)
async def reset_password(
    account_id: str, body: PasswordReset, admin: AdminDep, svc: ServicesDep
) -> Response:
    """A new password chosen by the administrator; the account's sessions end."""
    await svc.accounts.reset_password(admin, account_id, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
