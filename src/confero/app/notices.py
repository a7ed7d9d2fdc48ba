"""Planning and reading the notices of reservations and meetings (F-RS5..F-RS7, seed 002).

The reservation service calls ``plan`` inside its own unit of work, so a booking and its
notices commit together or not at all; the worker (``notice_worker``) sends them later.
SMS are a paid option: SMS beyond what the account has left (its allowance minus what it
used and what is already waiting) are stored as "skipped", so the host sees at once which
ones will not go out. The content of every notice is stored with it (the invitation as
planned), so the cancellation of a deleted reservation can still be sent.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from confero.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from confero.app.ratelimit import RateLimiter
from confero.app.rooms import RoomService
from confero.domain.accounts import Account, normalize_email
from confero.domain.errors import DomainError
from confero.domain.notices import (
    ALLOWANCE_USED_UP,
    Channel,
    Invitation,
    Kind,
    Notice,
    OutboxSms,
    Plan,
    Recipients,
    State,
)
from confero.domain.reservations import JoinState, Reservation, room_join_state
from confero.domain.rooms import Room

#: "Invite a person" from a meeting: at most this many addresses per account per window.
INVITE_LIMIT = 20
INVITE_WINDOW = timedelta(minutes=10)
#: The calendar entry of an ad-hoc invitation: a meeting from now on, for an hour.
ADHOC_LENGTH = timedelta(hours=1)


def recipients(r: Reservation) -> Recipients:
    return Recipients(
        start=r.start,
        end=r.end,
        emails=tuple(r.invitee_emails),
        phones=tuple(r.invitee_phones),
        notify_email=r.notify_email,
        sms_at_booking=r.sms_at_booking,
        sms_reminder=r.sms_reminder,
        sequence=r.sequence,
    )


class NoticeService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        base_url: str,
        access_number: str = "",
        limiter: RateLimiter | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._base_url = base_url.rstrip("/")
        self._access_number = access_number
        self._limiter = limiter or RateLimiter(INVITE_LIMIT, INVITE_WINDOW)
        self._wakeups: list[asyncio.Event] = []

    # ------------------------------------------------------------ waking the workers

    def subscribe(self) -> asyncio.Event:
        """An event set whenever new notices are planned (one per worker)."""
        event = asyncio.Event()
        self._wakeups.append(event)
        return event

    def unsubscribe(self, event: asyncio.Event) -> None:
        if event in self._wakeups:
            self._wakeups.remove(event)

    def wake(self) -> None:
        """Call after the commit that stored new notices: workers look at once."""
        for event in self._wakeups:
            event.set()

    # ------------------------------------------------------------ content

    def invitation(
        self, kind: Kind, r: Reservation, room: Room, host: Account, sequence: int
    ) -> Invitation:
        uid = f"{r.id}@confero"
        title = r.title or room.name
        return self._invitation(
            kind, room, host, uid=uid, sequence=sequence, title=title, start=r.start, end=r.end
        )

    def _invitation(
        self,
        kind: Kind,
        room: Room,
        host: Account,
        *,
        uid: str,
        sequence: int,
        title: str,
        start: datetime,
        end: datetime,
    ) -> Invitation:
        """The notice's content: the window given, the room's way in, the host as organizer."""
        return Invitation(
            kind=kind,
            uid=uid,
            sequence=sequence,
            title=title,
            room_name=room.name,
            start=start,
            end=end,
            time_zone=host.time_zone,
            language=room.language.value,
            dial_in_number=self._access_number,
            conference_number=room.conference_number,
            pin=room.pin,
            join_url=f"{self._base_url}/join/{room.invite_token}",
            organizer_name=host.display_name,
            organizer_email=host.email,
        )

    async def content(self, notice: Notice) -> Invitation | None:
        """What a notice says when it is sent: rendered from the reservation as it is now
        (a new invite link, a moved end), or as planned once the reservation is gone.
        ``None``: the reservation is gone and this is no cancellation: do not send."""
        if notice.reservation_id is None:
            return notice.invitation
        async with self._uow() as uow:
            r = await uow.reservations.get(notice.reservation_id)
            room = await uow.rooms.get(r.room_id) if r else None
            host = await uow.accounts.get(r.account_id) if r else None
        if r is None or room is None or host is None:
            return notice.invitation if notice.kind is Kind.CANCEL else None
        cancel = notice.kind is Kind.CANCEL
        sequence = notice.invitation.sequence if cancel else r.sequence
        return self.invitation(notice.kind, r, room, host, sequence)

    # ------------------------------------------------------------ planning

    async def apply(
        self,
        uow: UnitOfWork,
        plan: Plan,
        r: Reservation,
        room: Room,
        host: Account,
    ) -> None:
        """Inside the caller's unit of work: cancel, then store the new notices."""
        now = self._clock.now()
        await uow.notices.cancel(plan.cancel, now)
        budget = await uow.notices.sms_left(host.id) - await uow.notices.pending_sms(host.id)
        # The earliest messages get the credits that are left.
        for p in sorted(plan.send, key=lambda p: p.due):
            state, error = State.PENDING, None
            if p.channel is Channel.SMS:
                if budget <= 0:
                    state, error = State.SKIPPED, ALLOWANCE_USED_UP
                budget -= 1
            await uow.notices.add(
                Notice(
                    id=uuid.uuid4().hex,
                    account_id=host.id,
                    room_id=room.id,
                    reservation_id=r.id,
                    channel=p.channel,
                    recipient=p.recipient,
                    kind=p.kind,
                    due_at=p.due,
                    created_at=now,
                    invitation=self.invitation(p.kind, r, room, host, plan.sequence),
                    state=state,
                    last_error=error,
                )
            )

    # ------------------------------------------------------------ reading

    async def for_reservation(self, reservation_id: str) -> list[Notice]:
        async with self._uow() as uow:
            return list(await uow.notices.for_reservation(reservation_id))

    async def outbox(self) -> list[OutboxSms]:
        """What the development SMS outbox holds, newest first."""
        async with self._uow() as uow:
            return list(await uow.sms_outbox.list())

    # ------------------------------------------------------------ invite a person now

    async def invite_now(self, account: Account, room_id: str, emails: Sequence[str]) -> int:
        """Mail an invitation for a meeting starting now to each address (seed 002);
        allowed to anyone with a role in the room, at most 20 addresses per 10 minutes."""
        clean: list[str] = []
        for e in emails:
            try:
                clean.append(normalize_email(e))
            except DomainError:
                raise DomainError(
                    "invitation.invalid_email",
                    f"not an email address: {e!r}",
                    field="emails",
                    value=e,
                ) from None
        clean = list(dict.fromkeys(clean))
        if not clean:
            raise DomainError("invitation.no_recipients", "name at least one address")
        now = self._clock.now()
        key = f"invite:{account.id}"
        async with self._uow() as uow:
            room = await RoomService.visible(uow, account, room_id)
            await self._limiter.check(key, now)
            await self._add_adhoc(uow, room, account, clean)
            await uow.commit()
        await self._limiter.fail(key, now, times=len(clean))
        self.wake()
        return len(clean)

    async def call_in(self, room: Room, caller: Account, emails: Sequence[str]) -> int:
        """Mails "call everyone to the meeting" to the members who are offline (F-WB4): the
        same ad-hoc invitation mail, one per address. No invite limit here: the gather
        that calls this has its own (app/people.py), and the caller's rights in the room
        were checked there. Addresses that are not valid are left out; how many mails
        were planned."""
        clean: list[str] = []
        for e in emails:
            try:
                clean.append(normalize_email(e))
            except DomainError:
                continue
        clean = list(dict.fromkeys(clean))
        if not clean:
            return 0
        async with self._uow() as uow:
            await self._add_adhoc(uow, room, caller, clean)
            await uow.commit()
        self.wake()
        return len(clean)

    async def _add_adhoc(
        self, uow: UnitOfWork, room: Room, host: Account, addresses: Sequence[str]
    ) -> None:
        """One ad-hoc invitation (from now for an hour, or to the end of the booked
        window that is open) mailed to each address, inside the caller's unit of work."""
        now = self._clock.now()
        end = now + ADHOC_LENGTH
        if room.booked:
            state, window = room_join_state(await uow.reservations.list_for_room(room.id), now)
            if state is JoinState.OPEN and window is not None:
                end = max(window.end, now + timedelta(minutes=1))
        uid = f"{uuid.uuid4().hex}@confero"
        invitation = self._invitation(
            Kind.ADHOC, room, host, uid=uid, sequence=0, title=room.name, start=now, end=end
        )
        for address in addresses:
            await uow.notices.add(
                Notice(
                    id=uuid.uuid4().hex,
                    account_id=host.id,
                    room_id=room.id,
                    reservation_id=None,
                    channel=Channel.EMAIL,
                    recipient=address,
                    kind=Kind.ADHOC,
                    due_at=now,
                    created_at=now,
                    invitation=invitation,
                )
            )
