"""Room chat and activity log: they belong to the room, so they work with no
conference running (F-EN8) and disappear only on reset or deletion (F-RC1).

In a cluster a post is stored and announced by the node that runs the room (``OnOwner``,
web/forward.py; issue 16), so its sockets hear it once; reading needs only the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.web.deps import AccountDep, ServicesDep
from confero.web.forward import OnOwner
from confero.web.limits import MAX_ID

router = APIRouter(prefix="/api/v1/rooms/{room_id}", tags=["chat"])


class ChatIn(BaseModel):
    text: str = Field(max_length=8000)


class ChatOut(BaseModel):
    id: int
    author_name: str
    account_id: str | None
    #: Posted by no account of the room: pages mark the name (issue 14).
    guest: bool
    text: str
    created_at: datetime


class ChatPage(BaseModel):
    messages: list[ChatOut]
    #: Pass as ``before`` to get the next (older) page; null on the last page.
    next_before: int | None


class ActivityOut(BaseModel):
    id: int
    kind: str
    conference_id: str | None
    actor: str | None
    detail: dict[str, Any]
    created_at: datetime


class ActivityPage(BaseModel):
    entries: list[ActivityOut]
    next_before: int | None


# A row id the database can hold: 2**63 was a 500 (integer overflow; issue 14).
Before = Query(default=None, ge=1, le=MAX_ID)
Limit = Query(default=50, ge=1, le=200)


@router.get("/chat", response_model=ChatPage)
async def list_chat(
    room_id: str,
    account: AccountDep,
    svc: ServicesDep,
    before: int | None = Before,
    limit: int = Limit,
) -> ChatPage:
    room = await svc.rooms.get(account, room_id)
    # One more than asked tells whether an older page exists (null on the last page).
    found = await svc.rooms.list_chat(room.id, before, limit + 1)
    messages = [
        ChatOut(
            id=m.id or 0,
            author_name=m.author_name,
            account_id=m.account_id,
            guest=m.account_id is None,
            text=m.text,
            created_at=m.created_at,
        )
        for m in found[:limit]
    ]
    next_before = messages[-1].id if len(found) > limit else None
    return ChatPage(messages=messages, next_before=next_before)


@router.post(
    "/chat",
    response_model=ChatOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[OnOwner],
)
async def post_chat(room_id: str, body: ChatIn, account: AccountDep, svc: ServicesDep) -> ChatOut:
    room = await svc.rooms.get(account, room_id)
    m = await svc.rooms.post_chat(
        room, account.display_name, body.text, account.id, sender=f"account:{account.id}"
    )
    return ChatOut(
        id=m.id or 0,
        author_name=m.author_name,
        account_id=m.account_id,
        guest=m.account_id is None,
        text=m.text,
        created_at=m.created_at,
    )


@router.get("/activity", response_model=ActivityPage)
async def list_activity(
    room_id: str,
    account: AccountDep,
    svc: ServicesDep,
    before: int | None = Before,
    limit: int = Limit,
) -> ActivityPage:
    room = await svc.rooms.get(account, room_id)
    if room.role_for_account(account.id) is not Role.MODERATOR:
        # Who came, went and was removed is the moderators' to read (issue 12, F-RC1).
        raise DomainError("auth.forbidden", "only the room's moderators read its log")
    found = await svc.rooms.list_activity(room.id, before, limit + 1)
    entries = [
        ActivityOut(
            id=e.id or 0,
            kind=e.kind,
            conference_id=e.conference_id,
            actor=e.actor,
            detail=e.detail,
            created_at=e.created_at,
        )
        for e in found[:limit]
    ]
    next_before = entries[-1].id if len(found) > limit else None
    return ActivityPage(entries=entries, next_before=next_before)
