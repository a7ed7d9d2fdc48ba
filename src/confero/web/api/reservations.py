"""Reservations (F-RS1..F-RS4, F-RS7); the booking answer carries the room's access
data, as the seed's confirmation does (number, PIN and ADMIN PIN for the owner)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from confero.domain.accounts import Account
from confero.domain.reservations import Reservation
from confero.web.api.rooms import RoomOut
from confero.web.deps import AccountDep, ServicesDep

router = APIRouter(prefix="/api/v1/reservations", tags=["reservations"])


class ReservationIn(BaseModel):
    start: AwareDatetime
    end: AwareDatetime
    room_id: str | None = None
    title: str = Field(default="", max_length=200)
    invitee_emails: list[str] = Field(default_factory=list, max_length=100)
    invitee_phones: list[str] = Field(default_factory=list, max_length=100)


class ReservationPatch(BaseModel):
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    title: str | None = Field(default=None, max_length=200)
    invitee_emails: list[str] | None = Field(default=None, max_length=100)
    invitee_phones: list[str] | None = Field(default=None, max_length=100)


class ReservationOut(BaseModel):
    id: str
    room_id: str
    title: str
    start: datetime
    end: datetime
    created_at: datetime
    #: upcoming | open | ended — open from 5 minutes before the start (F-RS3).
    status: str
    invitee_emails: list[str]
    invitee_phones: list[str]
    room: RoomOut | None = None

    @classmethod
    def of(cls, r: Reservation, now: datetime, room: RoomOut | None = None) -> ReservationOut:
        state = r.join_state(now).value
        return cls(
            id=r.id,
            room_id=r.room_id,
            title=r.title,
            start=r.start,
            end=r.end,
            created_at=r.created_at,
            status={"too_early": "upcoming"}.get(state, state),
            invitee_emails=r.invitee_emails,
            invitee_phones=r.invitee_phones,
            room=room,
        )


async def _with_room(r: Reservation, account: Account, svc: ServicesDep) -> ReservationOut:
    room = await svc.rooms.get(account, r.room_id)
    return ReservationOut.of(r, svc.clock.now(), RoomOut.of(room, account, svc.base_url))


@router.post(
    "",
    response_model=ReservationOut,
    status_code=status.HTTP_201_CREATED,
    response_model_exclude_none=True,
)
async def book(body: ReservationIn, account: AccountDep, svc: ServicesDep) -> ReservationOut:
    reservation, room = await svc.reservations.book(
        account,
        body.start,
        body.end,
        room_id=body.room_id,
        title=body.title,
        invitee_emails=body.invitee_emails,
        invitee_phones=body.invitee_phones,
    )
    return ReservationOut.of(reservation, svc.clock.now(), RoomOut.of(room, account, svc.base_url))


@router.get("", response_model=list[ReservationOut], response_model_exclude_none=True)
async def list_reservations(account: AccountDep, svc: ServicesDep) -> list[ReservationOut]:
    now = svc.clock.now()
    return [ReservationOut.of(r, now) for r in await svc.reservations.list(account)]


@router.get("/{reservation_id}", response_model=ReservationOut, response_model_exclude_none=True)
async def get_reservation(
    reservation_id: str, account: AccountDep, svc: ServicesDep
) -> ReservationOut:
    return await _with_room(await svc.reservations.get(account, reservation_id), account, svc)


@router.patch("/{reservation_id}", response_model=ReservationOut, response_model_exclude_none=True)
async def update_reservation(
    reservation_id: str, body: ReservationPatch, account: AccountDep, svc: ServicesDep
) -> ReservationOut:
    r = await svc.reservations.update(account, reservation_id, **body.model_dump(exclude_none=True))
    return await _with_room(r, account, svc)


@router.delete("/{reservation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_reservation(
    reservation_id: str, account: AccountDep, svc: ServicesDep
) -> Response:
    await svc.reservations.delete(account, reservation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
