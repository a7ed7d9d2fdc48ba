"""The live conference over REST: its state, and commands named as in the keypad table.

An account acts either as itself (``participant_id`` omitted: its room role, owner or
member-moderator, decides) or as one of its own participants (joined through ``join``
here, or later from the browser). Every moderator command is checked by the actor.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictBool

from confero.app.conferences import build_command
from confero.domain.conference import MAX_DISPLAY_NAME
from confero.domain.errors import DomainError
from confero.domain.rooms import Room
from confero.web.deps import AccountDep, ServicesDep

router = APIRouter(prefix="/api/v1/rooms/{room_id}/conference", tags=["conference"])


class CommandIn(BaseModel):
    command: str = Field(max_length=40)
    participant_id: str | None = Field(default=None, max_length=64)
    target: str | None = Field(default=None, max_length=64)
    number: str | None = Field(default=None, max_length=32)
    #: Strict: a reset deletes content, so only a JSON true confirms it.
    confirm: StrictBool | None = None
    reason: str | None = Field(default=None, max_length=20)
    display_name: str | None = Field(default=None, max_length=200)


class CommandOut(BaseModel):
    command: str
    participant_id: str | None = None
    events: list[dict[str, Any]]


@router.get("")
async def conference_state(room_id: str, account: AccountDep, svc: ServicesDep) -> dict[str, Any]:
    room = await svc.rooms.get(account, room_id)
    return svc.conferences.snapshot(room)


@router.post("/commands", response_model=CommandOut, response_model_exclude_none=True)
async def run_command(
    room_id: str, body: CommandIn, account: AccountDep, svc: ServicesDep
) -> CommandOut:
    room: Room = await svc.rooms.get(account, room_id)
    role = room.role_for_account(account.id)
    if body.command == "join":
        pid, events = await svc.conferences.join(
            room,
            # An account's name may be longer than a participant's: the default is cut.
            display_name=body.display_name or account.display_name[:MAX_DISPLAY_NAME],
            role=role,  # type: ignore[arg-type]  # visible rooms always give a role
            channel="api",
            identity=f"account:{account.id}",
            account_id=account.id,
        )
        return CommandOut(command="join", participant_id=pid, events=[e.to_dict() for e in events])
    if body.participant_id is not None:
        owner = svc.conferences.participant_account(room, body.participant_id)
        if owner != account.id:
            raise DomainError("auth.forbidden", "that participant is not yours")
    command = build_command(
        body.command,
        by=body.participant_id,
        by_role=None if body.participant_id else role,
        target=body.target,
        number=body.number,
        confirm=body.confirm,
        reason=body.reason,
    )
    events = await svc.conferences.command(room, command)
    return CommandOut(
        command=body.command,
        participant_id=body.participant_id,
        events=[e.to_dict() for e in events],
    )
