"""Invite a person to a meeting now (seed 002, F-RS5): a mail with the access data, the
join link and a calendar entry from now on. Anyone with a role in the room may; at most
20 addresses per account per 10 minutes, so the server is no spam relay."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from confero.web.deps import AccountDep, ServicesDep

router = APIRouter(prefix="/api/v1/rooms", tags=["invitations"])


class InvitationIn(BaseModel):
    emails: list[str] = Field(min_length=1, max_length=20)


class QueuedOut(BaseModel):
    #: How many mails were queued (the addresses, without repeats).
    queued: int


@router.post(
    "/{room_id}/invitations", response_model=QueuedOut, status_code=status.HTTP_202_ACCEPTED
)
async def invite(
    room_id: str, body: InvitationIn, account: AccountDep, svc: ServicesDep
) -> QueuedOut:
    return QueuedOut(queued=await svc.notices.invite_now(account, room_id, body.emails))
