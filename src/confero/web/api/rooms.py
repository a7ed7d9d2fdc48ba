"""Rooms and their access data (F-RS5, F-RS6).

Who sees what: the PIN to everyone the room is shown to (owner and members: they invite
people into it); the admin PIN, which makes a moderator, to the owner and moderator
members only; the member list to the owner only. Each room also carries the server's
dial-in number and maximum capacity (for the panel's form) and a summary of the meeting
running in it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from confero.app.services import Services
from confero.domain.accounts import Account
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.web.deps import AccountDep, ServicesDep

router = APIRouter(prefix="/api/v1/rooms", tags=["rooms"])


class RoomIn(BaseModel):
    name: str = Field(max_length=200)
    capacity: int | None = Field(default=None, ge=1, le=100000)
    language: str = "en"
    allow_self_unmute: bool = True
    mute_on_entry: bool = False


class RoomPatch(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    capacity: int | None = Field(default=None, ge=1, le=100000)
    language: str | None = None
    allow_self_unmute: bool | None = None
    mute_on_entry: bool | None = None


class MemberIn(BaseModel):
    email: str = Field(max_length=254)
    #: participant | moderator; null removes the member.
    role: str | None = None


class AttendeeOut(BaseModel):
    display_name: str
    #: phone | browser | api
    channel: str


class MeetingOut(BaseModel):
    running: bool
    participants: list[AttendeeOut]

    @classmethod
    def of(cls, snapshot: dict[str, Any]) -> MeetingOut:
        return cls(
            running=bool(snapshot.get("running")),
            participants=[
                AttendeeOut(display_name=p["display_name"], channel=p["channel"])
                for p in snapshot.get("participants", [])
            ],
        )


class RoomOut(BaseModel):
    id: str
    name: str
    conference_number: str
    capacity: int
    language: str
    locked: bool
    booked: bool
    allow_self_unmute: bool
    mute_on_entry: bool
    invite_url: str
    your_role: str
    created_at: datetime
    pin: str | None = None
    admin_pin: str | None = None
    members: dict[str, str] | None = None
    #: The shared number phones dial (CONFERO_ACCESS_NUMBER); "" when none is set.
    dial_in_number: str = ""
    #: The server's largest capacity, for the form; absent where not filled in.
    max_capacity: int | None = None
    meeting: MeetingOut | None = None

    @classmethod
    def full(cls, room: Room, account: Account, svc: Services) -> RoomOut:
        """Everything the panel shows: access data, server limits and the live meeting."""
        out = cls.of(room, account, svc.base_url)
        out.dial_in_number = svc.access_number
        out.max_capacity = svc.rooms.policy.max_capacity
        out.meeting = MeetingOut.of(svc.conferences.snapshot(room))
        return out

    @classmethod
    def of(cls, room: Room, account: Account, base_url: str) -> RoomOut:
        """Access data per role; see ``full`` for the rest."""
        owner = room.owner_id == account.id
        role = room.role_for_account(account.id)
        return cls(
            id=room.id,
            name=room.name,
            conference_number=room.conference_number,
            capacity=room.capacity,
            language=room.language.value,
            locked=room.locked,
            booked=room.booked,
            allow_self_unmute=room.allow_self_unmute,
            mute_on_entry=room.mute_on_entry,
            invite_url=f"{base_url}/join/{room.invite_token}",
            your_role=role.value if role else "none",
            created_at=room.created_at,
            pin=room.pin if role is not None else None,
            admin_pin=room.admin_pin if role is Role.MODERATOR else None,
            members={k: v.value for k, v in room.members.items()} if owner else None,
        )


@router.post(
    "",
    response_model=RoomOut,
    status_code=status.HTTP_201_CREATED,
    response_model_exclude_none=True,
)
async def create_room(body: RoomIn, account: AccountDep, svc: ServicesDep) -> RoomOut:
    room = await svc.rooms.create(
        account,
        body.name,
        capacity=body.capacity,
        language=body.language,
        allow_self_unmute=body.allow_self_unmute,
        mute_on_entry=body.mute_on_entry,
    )
    return RoomOut.full(room, account, svc)


@router.get("", response_model=list[RoomOut], response_model_exclude_none=True)
async def list_rooms(account: AccountDep, svc: ServicesDep) -> list[RoomOut]:
    return [RoomOut.full(r, account, svc) for r in await svc.rooms.list(account)]


@router.get("/{room_id}", response_model=RoomOut, response_model_exclude_none=True)
async def get_room(room_id: str, account: AccountDep, svc: ServicesDep) -> RoomOut:
    return RoomOut.full(await svc.rooms.get(account, room_id), account, svc)


@router.patch("/{room_id}", response_model=RoomOut, response_model_exclude_none=True)
async def update_room(
    room_id: str, body: RoomPatch, account: AccountDep, svc: ServicesDep
) -> RoomOut:
    room = await svc.rooms.update(account, room_id, **body.model_dump(exclude_none=True))
    return RoomOut.full(room, account, svc)


@router.delete("/{room_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_room(room_id: str, account: AccountDep, svc: ServicesDep) -> Response:
    room = await svc.rooms.get(account, room_id)
    svc.rooms.require_owner(account, room)
    await svc.conferences.end_if_running(room)
    await svc.reservations.delete_room(account, room_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{room_id}/pins", response_model=RoomOut, response_model_exclude_none=True)
async def regenerate_pins(room_id: str, account: AccountDep, svc: ServicesDep) -> RoomOut:
    room = await svc.rooms.regenerate_pins(account, room_id)
    return RoomOut.full(room, account, svc)


@router.post("/{room_id}/members", response_model=RoomOut, response_model_exclude_none=True)
async def set_member(
    room_id: str, body: MemberIn, account: AccountDep, svc: ServicesDep
) -> RoomOut:
    room = await svc.rooms.set_member(account, room_id, body.email, body.role)
    return RoomOut.full(room, account, svc)


@router.post("/{room_id}/invite-link", response_model=RoomOut, response_model_exclude_none=True)
async def new_invite_link(room_id: str, account: AccountDep, svc: ServicesDep) -> RoomOut:
    """A fresh invite link (owner or moderators); the old one stops opening the room."""
    room = await svc.rooms.new_invite_link(account, room_id)
    return RoomOut.full(room, account, svc)
