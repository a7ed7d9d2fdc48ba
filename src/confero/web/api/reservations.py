"""Reservations (F-RS1..F-RS7); the booking answer carries the room's access data, as
the seed's confirmation does (number, PIN and ADMIN PIN for the owner), and every answer
lists the reservation's notices (mail, SMS) with their state, so the host sees what went
out, what waits, what failed and why (an SMS beyond the allowance is "skipped")."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from confero.app.services import Services
from confero.domain.accounts import Account
from confero.domain.notices import Notice
from confero.domain.reservations import Reservation
from confero.domain.rooms import Room
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
    #: Mail the invitees at booking and 1 hour before (free; F-RS5).
    notify_email: bool = True
    #: SMS the phones at booking / 1 hour before (paid, counted per account; F-RS6).
    sms_at_booking: bool = False
    sms_reminder: bool = False
    #: The new room's language (phone prompts and invitations); en, nl, de or pl.
    language: str = Field(default="en", max_length=8)


class ReservationPatch(BaseModel):
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    title: str | None = Field(default=None, max_length=200)
    invitee_emails: list[str] | None = Field(default=None, max_length=100)
    invitee_phones: list[str] | None = Field(default=None, max_length=100)
    notify_email: bool | None = None
    sms_at_booking: bool | None = None
    sms_reminder: bool | None = None


class NoticeOut(BaseModel):
    id: str
    #: email | sms
    channel: str
    recipient: str
    #: invitation | reminder | at_start | update | cancel
    kind: str
    due_at: datetime
    #: pending | sent | failed | cancelled | skipped
    state: str
    attempts: int
    last_error: str | None

    @classmethod
    def of(cls, n: Notice) -> NoticeOut:
        return cls(
            id=n.id,
            channel=n.channel.value,
            recipient=n.recipient,
            kind=n.kind.value,
            due_at=n.due_at,
            state=n.state.value,
            attempts=n.attempts,
            last_error=n.last_error,
        )


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
    notify_email: bool
    sms_at_booking: bool
    sms_reminder: bool
    notices: list[NoticeOut]
    room: RoomOut | None = None

    @classmethod
    def of(
        cls,
        r: Reservation,
        now: datetime,
        notices: list[Notice],
        room: RoomOut | None = None,
    ) -> ReservationOut:
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
            notify_email=r.notify_email,
            sms_at_booking=r.sms_at_booking,
            sms_reminder=r.sms_reminder,
            notices=[NoticeOut.of(n) for n in notices],
            room=room,
        )


async def _out(
    r: Reservation, account: Account, svc: Services, room: Room | None = None
) -> ReservationOut:
    """With the room's access data (single reservation answers)."""
    room = room or await svc.rooms.get(account, r.room_id)
    notices = await svc.notices.for_reservation(r.id)
    full = await RoomOut.full(room, account, svc)
    return ReservationOut.of(r, svc.clock.now(), notices, full)


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
        notify_email=body.notify_email,
        sms_at_booking=body.sms_at_booking,
        sms_reminder=body.sms_reminder,
        language=body.language,
    )
    return await _out(reservation, account, svc, room)


@router.get("", response_model=list[ReservationOut], response_model_exclude_none=True)
async def list_reservations(account: AccountDep, svc: ServicesDep) -> list[ReservationOut]:
    now = svc.clock.now()
    return [
        ReservationOut.of(r, now, await svc.notices.for_reservation(r.id))
        for r in await svc.reservations.list(account)
    ]


@router.get("/{reservation_id}", response_model=ReservationOut, response_model_exclude_none=True)
async def get_reservation(
    reservation_id: str, account: AccountDep, svc: ServicesDep
) -> ReservationOut:
    return await _out(await svc.reservations.get(account, reservation_id), account, svc)


@router.patch("/{reservation_id}", response_model=ReservationOut, response_model_exclude_none=True)
async def update_reservation(
    reservation_id: str, body: ReservationPatch, account: AccountDep, svc: ServicesDep
) -> ReservationOut:
    r = await svc.reservations.update(account, reservation_id, **body.model_dump(exclude_none=True))
    return await _out(r, account, svc)


@router.delete("/{reservation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_reservation(
    reservation_id: str, account: AccountDep, svc: ServicesDep
) -> Response:
    await svc.reservations.delete(account, reservation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
