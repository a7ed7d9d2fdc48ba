"""Rooms and their access data (F-RS5, F-RS6).

Who sees what: the PIN to everyone the room is shown to (owner and members: they invite
people into it); the admin PIN, which makes a moderator, to the owner and moderator
members only; the ``members`` map to the owner only. Each room also carries the server's
dial-in number and maximum capacity (for the panel's form) and a summary of the meeting
running in it.

Members (F-WB4): ``GET .../members`` lists the owner and members with their presence to
anyone with a role in the room; the owner and moderator members add (by id or email),
remove and set the role of members; the owner stays moderator and cannot be removed.

Issue 14: removing a member takes them out of the running conference, closes their
sockets on the room and replaces the invite link they knew; deleting a room closes its
sockets. In a cluster (issue 16) those routes, and a room's own summary, are answered by
the node that runs its meeting (``OnOwner``, web/forward.py): its sockets and its
conference live there. The room list shows every room's meeting as it runs on any node:
this node's from its registry, the others' as their owners published them
(``ConferenceService.meetings``, app/running.py), one Redis round trip for the list.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from confero.app.conferences import build_command
from confero.app.contacts import ContactService
from confero.app.placement import MeetingSummary
from confero.app.services import Services
from confero.domain.accounts import Account
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.web.api.people import ContactsDep, MemberOut, contacts_changed
from confero.web.deps import AccountDep, ServicesDep
from confero.web.forward import OnOwner

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


class RoleIn(BaseModel):
    #: participant | moderator
    role: str = Field(max_length=32)


class AttendeeOut(BaseModel):
    display_name: str
    #: phone | browser | api
    channel: str


class MeetingOut(BaseModel):
    running: bool
    #: In join order; of a meeting another node of a cluster runs, the first 100.
    participants: list[AttendeeOut]
    #: How many are in the meeting, given when that is more than ``participants`` lists.
    participant_count: int | None = None

    @classmethod
    def of(cls, summary: MeetingSummary | None) -> MeetingOut:
        """``summary``: the meeting running in the room, None when none runs."""
        if summary is None:
            return cls(running=False, participants=[])
        listed = [
            AttendeeOut(display_name=a.display_name, channel=a.channel) for a in summary.attendees
        ]
        more = summary.participants > len(listed)
        return cls(
            running=True,
            participants=listed,
            participant_count=summary.participants if more else None,
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
    #: Owner only: PIN entry is locked after guessing until then (issue 14); absent
    #: when not locked. ``DELETE .../pin-lockout`` lifts it.
    pin_locked_until: datetime | None = None

    @classmethod
    async def full(
        cls,
        room: Room,
        account: Account,
        svc: Services,
        meetings: Mapping[str, MeetingSummary] | None = None,
    ) -> RoomOut:
        """Everything the panel shows: access data, server limits and the live meeting
        (from ``meetings`` when the caller read those of several rooms at once)."""
        out = cls.of(room, account, svc.base_url)
        out.dial_in_number = svc.access_number
        out.max_capacity = svc.rooms.policy.max_capacity
        if meetings is None:
            meetings = await svc.conferences.meetings([room.id])
        out.meeting = MeetingOut.of(meetings.get(room.id))
        if room.owner_id == account.id:
            out.pin_locked_until = await svc.rooms.room_locked_until(room)
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
    return await RoomOut.full(room, account, svc)


@router.get("", response_model=list[RoomOut], response_model_exclude_none=True)
async def list_rooms(account: AccountDep, svc: ServicesDep) -> list[RoomOut]:
    rooms = await svc.rooms.list(account)
    meetings = await svc.conferences.meetings([r.id for r in rooms])
    return [await RoomOut.full(r, account, svc, meetings) for r in rooms]


@router.get(
    "/{room_id}", response_model=RoomOut, response_model_exclude_none=True, dependencies=[OnOwner]
)
async def get_room(room_id: str, account: AccountDep, svc: ServicesDep) -> RoomOut:
    return await RoomOut.full(await svc.rooms.get(account, room_id), account, svc)


@router.patch("/{room_id}", response_model=RoomOut, response_model_exclude_none=True)
async def update_room(
    room_id: str, body: RoomPatch, account: AccountDep, svc: ServicesDep
) -> RoomOut:
    room = await svc.rooms.update(account, room_id, **body.model_dump(exclude_none=True))
    return await RoomOut.full(room, account, svc)


@router.delete("/{room_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[OnOwner])
async def delete_room(
    room_id: str, request: Request, account: AccountDep, svc: ServicesDep
) -> Response:
    room = await svc.rooms.get(account, room_id)
    svc.rooms.require_owner(account, room)
    await svc.conferences.end_if_running(room)
    await svc.reservations.delete_room(account, room_id)
    signaling = getattr(request.app.state, "signaling", None)
    if signaling is not None:  # no socket stays open on a deleted room (issue 14)
        signaling.close_sockets(room.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{room_id}/pins", response_model=RoomOut, response_model_exclude_none=True)
async def regenerate_pins(room_id: str, account: AccountDep, svc: ServicesDep) -> RoomOut:
    room = await svc.rooms.regenerate_pins(account, room_id)
    return await RoomOut.full(room, account, svc)


@router.delete("/{room_id}/pin-lockout", response_model=RoomOut, response_model_exclude_none=True)
async def lift_pin_lockout(room_id: str, account: AccountDep, svc: ServicesDep) -> RoomOut:
    """The owner opens PIN entry again after a guessing lock-out (issue 14)."""
    room = await svc.rooms.lift_pin_lockout(account, room_id)
    return await RoomOut.full(room, account, svc)


@router.post(
    "/{room_id}/members",
    response_model=RoomOut,
    response_model_exclude_none=True,
    dependencies=[OnOwner],
)
async def set_member(
    room_id: str, body: MemberIn, request: Request, account: AccountDep, svc: ServicesDep
) -> RoomOut:
    try:
        named = await svc.accounts.by_email(body.email)
    except DomainError:
        named = None  # not an address: set_member answers account.not_found
    room = await svc.rooms.set_member(account, room_id, body.email, body.role)
    if body.role is None and named is not None:
        room = await _revoke(request, svc, account, room, named.id)
    contacts_changed(svc, _people(room, named.id if named else None))
    return await RoomOut.full(room, account, svc)


async def _revoke(
    request: Request, svc: Services, account: Account, room: Room, member_id: str
) -> Room:
    """A removed member keeps nothing (issue 14): their participants leave the running
    conference, their sockets on the room close, and, when someone else removed them,
    the invite link they knew is replaced (the old one stops opening the room)."""
    snapshot = svc.conferences.snapshot(room)
    for name, key in (("kick", "participants"), ("deny", "lobby")):
        for p in snapshot.get(key, []):
            pid = str(p["id"])
            if svc.conferences.participant_account(room, pid) == member_id:
                out = build_command(name, by=None, by_role=Role.MODERATOR, target=pid)
                with contextlib.suppress(DomainError):  # gone meanwhile
                    await svc.conferences.command(room, out)
    if snapshot.get("running"):
        await svc.conferences.settled(room)
    signaling = getattr(request.app.state, "signaling", None)
    if signaling is not None:
        signaling.close_sockets(room.id, member_id)
    if member_id != account.id:
        room = await svc.rooms.new_invite_link(account, room.id)
        await _close_strangers(request, svc, room)
    return room


def _people(room: Room, also: str | None) -> set[str]:
    """Everyone whose co-members (so whose contacts) may have changed."""
    return {room.owner_id, *room.members, *([also] if also else [])}


async def _members_after(
    room: Room, account: Account, svc: Services, contacts: ContactService
) -> list[MemberOut]:
    if room.role_for_account(account.id) is None:
        return []  # one left the room oneself: there is nothing left to show
    return await MemberOut.many(svc, await contacts.members(account, room.id))


@router.get("/{room_id}/members", response_model=list[MemberOut])
async def list_members(
    room_id: str, account: AccountDep, svc: ServicesDep, contacts: ContactsDep
) -> list[MemberOut]:
    """The owner first, then the members by name, with their presence."""
    return await MemberOut.many(svc, await contacts.members(account, room_id))


@router.put("/{room_id}/members/{member_id}", response_model=list[MemberOut])
async def put_member(
    room_id: str,
    member_id: str,
    body: RoleIn,
    account: AccountDep,
    svc: ServicesDep,
    contacts: ContactsDep,
) -> list[MemberOut]:
    """Adds the account as a member with ``role``, or gives it that role."""
    room = await svc.rooms.set_member_by_id(account, room_id, member_id, body.role)
    contacts_changed(svc, _people(room, member_id))
    return await _members_after(room, account, svc, contacts)


@router.delete(
    "/{room_id}/members/{member_id}", response_model=list[MemberOut], dependencies=[OnOwner]
)
async def remove_member(
    room_id: str,
    member_id: str,
    request: Request,
    account: AccountDep,
    svc: ServicesDep,
    contacts: ContactsDep,
) -> list[MemberOut]:
    room = await svc.rooms.set_member_by_id(account, room_id, member_id, None)
    room = await _revoke(request, svc, account, room, member_id)
    contacts_changed(svc, _people(room, member_id))
    return await _members_after(room, account, svc, contacts)


@router.post(
    "/{room_id}/invite-link",
    response_model=RoomOut,
    response_model_exclude_none=True,
    dependencies=[OnOwner],
)
async def new_invite_link(
    room_id: str, request: Request, account: AccountDep, svc: ServicesDep
) -> RoomOut:
    """A fresh invite link (owner or moderators); the old one stops opening the room,
    and the guests it let in who have not joined lose their pages (issue 14)."""
    room = await svc.rooms.new_invite_link(account, room_id)
    await _close_strangers(request, svc, room)
    return await RoomOut.full(room, account, svc)


async def _close_strangers(request: Request, svc: Services, room: Room) -> None:
    """The pages the old link opened close, and those knocking leave the lobby."""
    signaling = getattr(request.app.state, "signaling", None)
    if signaling is None:
        return
    for lobby_id in signaling.close_strangers(room.id):
        deny = build_command("deny", by=None, by_role=Role.MODERATOR, target=lobby_id)
        with contextlib.suppress(DomainError):  # admitted or gone meanwhile
            await svc.conferences.command(room, deny)
