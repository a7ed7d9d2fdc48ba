"""Booking rooms ahead of time with the rules of seed 004 (F-RS1..F-RS7).

A reservation without a room gets a new booked room (capacity 30, fresh number and
PINs) in the same transaction; a later reservation may reuse a booked room the account
owns, keeping its access data. Per-account limits are checked under a lock on the
account (an asyncio lock in process, SELECT ... FOR UPDATE in the database), so two
bookings at once cannot both take the last place.

Every booking, edit and deletion plans its notices (mail, SMS; F-RS5, F-RS6) in the same
unit of work as the reservation itself: a failure leaves neither behind.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from confero.app.notices import NoticeService, recipients
from confero.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from confero.app.rooms import RoomService
from confero.domain.accounts import Account, normalize_email
from confero.domain.errors import DomainError
from confero.domain.notices import Plan, plan_booking, plan_delete, plan_edit
from confero.domain.reservations import (
    JoinState,
    Reservation,
    check_limit,
    check_overlap,
    room_join_state,
    validate_change,
    validate_window,
)
from confero.domain.rooms import BOOKED_CAPACITY, Room

_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
MAX_INVITEES = 100


def _clean_invitees(
    emails: Sequence[str] | None, phones: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    emails = list(emails or [])
    phones = list(phones or [])
    for name, values in (("invitee_emails", emails), ("invitee_phones", phones)):
        if len(values) > MAX_INVITEES:
            raise DomainError(
                "reservation.too_many_invitees", f"at most {MAX_INVITEES} invitees", field=name
            )
    clean_emails: list[str] = []
    for e in emails:
        try:
            clean_emails.append(normalize_email(e))
        except DomainError:
            raise DomainError(
                "reservation.invalid_invitee",
                f"not an email address: {e!r}",
                field="invitee_emails",
                value=e,
            ) from None
    clean_phones: list[str] = []
    for p in phones:
        digits = re.sub(r"[\s\-()]", "", p)
        if not _PHONE.match(digits):
            raise DomainError(
                "reservation.invalid_invitee",
                f"not a phone number: {p!r}",
                field="invitee_phones",
                value=p,
            )
        clean_phones.append(digits)
    return list(dict.fromkeys(clean_emails)), list(dict.fromkeys(clean_phones))


class ReservationService:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, rooms: RoomService, notices: NoticeService
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._rooms = rooms
        self._notices = notices
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def book(
        self,
        account: Account,
        start: datetime,
        end: datetime,
        *,
        room_id: str | None = None,
        title: str = "",
        invitee_emails: Sequence[str] | None = None,
        invitee_phones: Sequence[str] | None = None,
        notify_email: bool = True,
        sms_at_booking: bool = False,
        sms_reminder: bool = False,
        language: str = "en",
    ) -> tuple[Reservation, Room]:
        """``language`` is the new room's: of its phone prompts and of the invitations
        (a reservation into an existing room keeps that room's)."""
        now = self._clock.now()
        validate_window(start, end, now)
        emails, phones = _clean_invitees(invitee_emails, invitee_phones)
        title = " ".join(title.split())[:120]
        async with self._locks[account.id], self._uow() as uow:
            await uow.accounts.lock(account.id)
            check_limit(await uow.reservations.list_for_account(account.id), now)
            if room_id is not None:
                room = await RoomService.visible(uow, account, room_id)
                RoomService.require_owner(account, room)
                if not room.booked:
                    raise DomainError(
                        "reservation.room_not_bookable",
                        "only booked rooms take reservations; omit room_id for a new one",
                    )
                check_overlap(await uow.reservations.list_for_room(room.id), start, end)
            else:
                name = title or f"Teleconference {start:%Y-%m-%d %H:%M}"
                room = await self._rooms.add_room(
                    uow,
                    account,
                    name,
                    capacity=min(BOOKED_CAPACITY, self._rooms.policy.max_capacity),
                    language=language,
                    booked=True,
                )
            reservation = Reservation(
                id=uuid.uuid4().hex,
                account_id=account.id,
                room_id=room.id,
                start=start,
                end=end,
                created_at=now,
                title=title,
                invitee_emails=emails,
                invitee_phones=phones,
                notify_email=notify_email,
                sms_at_booking=sms_at_booking,
                sms_reminder=sms_reminder,
            )
            await uow.reservations.add(reservation)
            plan = Plan(sequence=0, send=tuple(plan_booking(recipients(reservation), now)))
            host = await uow.accounts.get(account.id) or account
            await self._notices.apply(uow, plan, reservation, room, host)
            await uow.commit()
        if plan.send:
            self._notices.wake()
        return reservation, room

    async def _own(self, account: Account, reservation_id: str) -> Reservation:
        async with self._uow() as uow:
            return await self._own_in(uow, account, reservation_id)

    async def _own_in(self, uow: UnitOfWork, account: Account, reservation_id: str) -> Reservation:
        r = await uow.reservations.get(reservation_id)
        if r is None or r.account_id != account.id or not r.is_visible(self._clock.now()):
            raise DomainError("reservation.not_found", "no such reservation")
        return r

    async def _room_and_host(
        self, uow: UnitOfWork, account: Account, r: Reservation
    ) -> tuple[Room, Account]:
        room = await uow.rooms.get(r.room_id)
        assert room is not None, "a reservation's room goes only with the reservation"
        return room, await uow.accounts.get(account.id) or account

    async def get(self, account: Account, reservation_id: str) -> Reservation:
        return await self._own(account, reservation_id)

    async def list(self, account: Account) -> list[Reservation]:
        """What the panel shows: everything until an hour after its end (F-RS2)."""
        now = self._clock.now()
        async with self._uow() as uow:
            found = await uow.reservations.list_for_account(account.id)
        return sorted((r for r in found if r.is_visible(now)), key=lambda r: r.start)

    async def update(
        self,
        account: Account,
        reservation_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        title: str | None = None,
        invitee_emails: Sequence[str] | None = None,
        invitee_phones: Sequence[str] | None = None,
        notify_email: bool | None = None,
        sms_at_booking: bool | None = None,
        sms_reminder: bool | None = None,
    ) -> Reservation:
        """Changes the window, title, invitees or notice options (F-RS7) and re-plans
        the notices: an updated calendar entry, cancellations, new invitations."""
        now = self._clock.now()
        async with self._locks[account.id], self._uow() as uow:
            await uow.accounts.lock(account.id)
            current = await self._own_in(uow, account, reservation_id)
            new_start = start or current.start
            new_end = end or current.end
            if (new_start, new_end) != (current.start, current.end):
                validate_change(current, new_start, new_end, now)
            emails, phones = _clean_invitees(
                current.invitee_emails if invitee_emails is None else invitee_emails,
                current.invitee_phones if invitee_phones is None else invitee_phones,
            )
            check_overlap(
                await uow.reservations.list_for_room(current.room_id),
                new_start,
                new_end,
                ignore_id=current.id,
            )
            changed = replace(
                current,
                start=new_start,
                end=new_end,
                title=current.title if title is None else " ".join(title.split())[:120],
                invitee_emails=emails,
                invitee_phones=phones,
                notify_email=current.notify_email if notify_email is None else notify_email,
                sms_at_booking=current.sms_at_booking if sms_at_booking is None else sms_at_booking,
                sms_reminder=current.sms_reminder if sms_reminder is None else sms_reminder,
            )
            known = await uow.notices.for_reservation(current.id)
            plan = plan_edit(recipients(current), recipients(changed), known, now)
            changed.sequence = plan.sequence
            await uow.reservations.update(changed)
            room, host = await self._room_and_host(uow, account, changed)
            await self._notices.apply(uow, plan, changed, room, host)
            await uow.commit()
        if plan.send:
            self._notices.wake()
        return changed

    async def delete(self, account: Account, reservation_id: str) -> None:
        """Frees its place at once (F-RS2); the room stays, closed without a window.
        Pending notices are cancelled; whoever was already told gets a cancellation."""
        now = self._clock.now()
        async with self._locks[account.id], self._uow() as uow:
            await uow.accounts.lock(account.id)
            current = await self._own_in(uow, account, reservation_id)
            known = await uow.notices.for_reservation(current.id)
            plan = plan_delete(recipients(current), known, now)
            room, host = await self._room_and_host(uow, account, current)
            await uow.reservations.delete(current.id)
            gone = replace(current, sequence=plan.sequence)
            await self._notices.apply(uow, plan, gone, room, host)
            await uow.commit()
        if plan.send:
            self._notices.wake()

    async def delete_room(self, account: Account, room_id: str) -> None:
        """A room goes with its reservations: whoever was told of one that has not ended
        gets the cancellation, committed with the deletion itself."""
        now = self._clock.now()
        woken = False
        async with self._locks[account.id], self._uow() as uow:
            await uow.accounts.lock(account.id)
            room = await RoomService.visible(uow, account, room_id)
            RoomService.require_owner(account, room)
            for current in await uow.reservations.list_for_room(room.id):
                known = await uow.notices.for_reservation(current.id)
                plan = plan_delete(recipients(current), known, now)
                host = await uow.accounts.get(current.account_id) or account
                gone = replace(current, sequence=plan.sequence)
                await self._notices.apply(uow, plan, gone, room, host)
                woken = woken or bool(plan.send)
            await uow.rooms.delete(room.id)
            await uow.commit()
        if woken:
            self._notices.wake()

    async def reload(self, reservation: Reservation) -> Reservation:
        """The stored version of ``reservation`` (it may have been edited); once deleted,
        the reservation as it was."""
        async with self._uow() as uow:
            found = await uow.reservations.get(reservation.id)
        return found or reservation

    async def join_state(self, room: Room) -> tuple[JoinState, Reservation | None]:
        """Permanent rooms are always open; booked rooms only inside a window (F-RS3)."""
        if not room.booked:
            return JoinState.OPEN, None
        async with self._uow() as uow:
            found = await uow.reservations.list_for_room(room.id)
        return room_join_state(found, self._clock.now())
