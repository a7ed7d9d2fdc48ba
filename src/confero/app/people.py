"""People: presence, one-on-one calls, "call everyone" and missed calls (F-WB3, F-WB4).

Every open page of a signed-in account registers here (``open_page``) with a ``send``
callback that must never block (the socket adapter queues); everything the pages show
is pushed from here, computed on the server (issue 11, Deliver 4):

- **presence**: ``busy`` while a participant of the account is in any running
  conference (learned from the bus), else ``online`` while it has a page that pinged
  within ``timeout`` seconds, else ``offline``. Several pages are one person. A change is
  pushed to the pages of every account that has this one as a contact.
- **calls** (domain/calls.py): only to a contact who is online or busy; a busy callee
  gets a waiting call. The callee's pages ring; the first answer wins, the other pages
  get the new state and stop. Accepting makes the call room (RoomService) whose
  conference ends for both when one hangs up (domain/conference.py); its end ends the
  call. Unanswered after ``ring_timeout``: ``no_answer`` (``busy`` for a waiting call)
  and a missed call for the callee.
- **gather**: the owner or a moderator of a room calls its members: pages of those with
  one get a ``gathering`` pop-up, the others a missed call (and a mail when mail works).

State sits behind the ``PresenceStore`` port (app/presence_port.py); the pages' send
callbacks stay here, on the node that holds their sockets. Timers (pings, ringing) use
the event loop's clock: liveness, not domain rules. The bus handler is a fast one: it
updates the store and spawns the pushes that need the database (house rule 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from confero.app.accounts import AccountService
from confero.app.conferences import ConferenceService
from confero.app.contacts import ContactService
from confero.app.notices import NoticeService
from confero.app.ports import Clock, EventBus
from confero.app.presence_port import PageRecord, PresenceStore
from confero.app.ratelimit import RateLimiter
from confero.app.rooms import RoomService
from confero.app.tasks import Background
from confero.domain import events as ev
from confero.domain.accounts import Account
from confero.domain.calls import Call, CallState
from confero.domain.errors import DomainError
from confero.domain.people import Contact, MissedCall, MissedKind, Presence
from confero.domain.roles import Role

log = logging.getLogger(__name__)

Message = dict[str, Any]
Send = Callable[[Message], None]
#: Why the server closed a page: ``timeout`` (no ping), ``signed_out``, ``shutdown``.
Closer = Callable[[str], None]

#: Call invitations (calls and gathers) per caller per window: ``call:<account id>``.
CALL_LIMIT = 10
#: An accepted call whose room nobody entered within this long (seconds) is over.
JOIN_WITHIN = 120.0
#: A call that is over is kept this long (seconds), so a late answer hears ``call.over``.
KEEP_OVER = 60.0


@dataclass(eq=False)
class Page:
    """One open page of ``account`` (one people socket), as this node holds it."""

    id: str
    account: Account
    token: str
    send: Send
    on_close: Closer


def call_view(call: Call) -> Message:
    """CALL of docs/SIGNALING.md."""
    return {
        "id": call.id,
        "state": call.state.value,
        "waiting": call.waiting,
        "caller": {"account_id": call.caller_id, "display_name": call.caller_name},
        "callee": {"account_id": call.callee_id, "display_name": call.callee_name},
        "join_url": call.join_url,
    }


def missed_view(missed: MissedCall) -> Message:
    """MISSED of docs/SIGNALING.md: a gather's row links to its room."""
    join_url = f"/join/{missed.invite_token}?autojoin=1" if missed.invite_token else None
    return {
        "id": missed.id,
        "kind": missed.kind.value,
        "caller_name": missed.caller_name,
        "room_name": missed.room_name,
        "join_url": join_url,
        "at": missed.at.isoformat(),
    }


class PeopleService:
    def __init__(
        self,
        contacts: ContactService,
        rooms: RoomService,
        conferences: ConferenceService,
        notices: NoticeService,
        bus: EventBus,
        store: PresenceStore,
        limiter: RateLimiter,
        *,
        accounts: AccountService,
        clock: Clock,
        ping: float,
        timeout: float,
        ring_timeout: float,
        mail_enabled: bool,
    ) -> None:
        self._contacts = contacts
        self._rooms = rooms
        self._conferences = conferences
        self._notices = notices
        self._bus = bus
        self._store = store
        self._limiter = limiter
        self._accounts = accounts
        self._clock = clock
        #: Seconds between a page's pings, and without one after which it is gone.
        self.ping_interval = ping
        self.timeout = timeout
        self.ring_timeout = ring_timeout
        self.mail_enabled = mail_enabled
        self._pages: dict[str, Page] = {}
        #: The presence last pushed per account (absent: offline).
        self._announced: dict[str, Presence] = {}
        self._tasks = Background(log, "people")
        self._sweeper: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ------------------------------------------------------------ lifetime
    def start(self) -> None:
        """Follow the conferences (busy) and start the sweeper."""
        if self._unsubscribe is None:
            self._unsubscribe = self._bus.subscribe(self._event)
            for room_id in self._conferences.registry.live_rooms():
                actor = self._conferences.registry.get(room_id)
                for p in actor.snapshot().participants if actor is not None else ():
                    if p.account_id is not None:
                        self._store.enter_meeting(p.id, p.account_id, room_id)
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_loop(), name="people-sweeper")

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for page in list(self._pages.values()):
            self._store.remove_page(page.id)
            self._pages.pop(page.id, None)
            self._safely(page.on_close, "shutdown")
        await self._tasks.stop(grace=2)  # pushes and missed calls under way may finish

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        self._tasks.spawn(coro, name)

    async def settled(self) -> None:
        """Returns once the pushes spawned so far are done (tests, shutdown)."""
        await self._tasks.settled()

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    # --------------------------------------------------------------- pages
    async def open_page(
        self, account: Account, token: str, send: Send, on_close: Closer | None = None
    ) -> Page:
        """Register a page and send it ``welcome``: its contacts with their presence, its
        missed calls and the calls ringing for it now (a page opened while ringing rings
        too). Pushes reach it from the moment it is registered, always after welcome."""
        contacts = await self._contacts.list(account)
        missed = await self._contacts.missed(account)
        page = Page(secrets.token_urlsafe(12), account, token, send, on_close or (lambda r: None))
        was = self._presence(account.id)
        self._store.add_page(PageRecord(page.id, account.id, token, self._now()))
        self._pages[page.id] = page
        ringing = [
            call_view(c)
            for c in self._store.calls_of(account.id)
            if c.ringing and c.callee_id == account.id
        ]
        self._deliver(
            page,
            {
                "type": "welcome",
                "account_id": account.id,
                "ping": self.ping_interval,
                "contacts": self._contact_rows(contacts),
                "missed": [missed_view(m) for m in missed],
                "ringing": ringing,
            },
        )
        if self._presence(account.id) is not was:
            self._announce(account.id)
        return page

    def ping(self, page: Page) -> bool:
        """The page is alive; False when the server dropped it already."""
        return self._store.touch_page(page.id, self._now())

    def close_page(self, page: Page) -> None:
        """The page's socket closed (or the server dropped it)."""
        if self._store.remove_page(page.id) is None:
            return
        self._pages.pop(page.id, None)
        account_id = page.account.id
        if not self._store.pages_of(account_id):
            # The caller is gone from every page: its ringing calls are cancelled.
            for call in self._store.calls_of(account_id):
                if call.ringing and call.caller_id == account_id:
                    self._change(call.cancel())
        self._announce(account_id)

    def close_token(self, token: str) -> None:
        """Sign-out: every page of that session goes (its socket is closed)."""
        for record in self._store.pages_with_token(token):
            self._drop(record.id, "signed_out")

    def _drop(self, page_id: str, reason: str) -> None:
        page = self._pages.get(page_id)
        if page is None:  # a record without a page of ours: only forget it
            record = self._store.remove_page(page_id)
            if record is not None:
                self._announce(record.account_id)
            return
        self.close_page(page)
        self._safely(page.on_close, reason)

    # ------------------------------------------------------------- presence
    def _presence(self, account_id: str) -> Presence:
        if self._store.in_meeting(account_id):
            return Presence.BUSY
        if self._store.pages_of(account_id):
            return Presence.ONLINE
        return Presence.OFFLINE

    def presence_of(self, ids: Iterable[str]) -> dict[str, str]:
        """Account id -> ``offline`` | ``online`` | ``busy`` (the REST lists use it)."""
        return {i: self._presence(i).value for i in ids}

    def _contact_rows(self, contacts: Sequence[Contact]) -> list[Message]:
        return [
            {
                "account_id": c.account_id,
                "display_name": c.display_name,
                "email": c.email,
                "source": c.source.value,
                "presence": self._presence(c.account_id).value,
            }
            for c in contacts
        ]

    def _announce(self, account_id: str) -> None:
        self._spawn(self._push_presence(account_id), f"presence-{account_id}")

    async def _push_presence(self, account_id: str) -> None:
        watchers = await self._contacts.watchers_of(account_id)
        presence = self._presence(account_id)  # as it is now, after the wait
        if presence is self._announced.get(account_id, Presence.OFFLINE):
            return
        if presence is Presence.OFFLINE:
            self._announced.pop(account_id, None)
        else:
            self._announced[account_id] = presence
        message = {"type": "presence", "account_id": account_id, "presence": presence.value}
        for watcher in watchers:
            self._push(watcher, message)

    def contacts_changed(self, account_ids: Iterable[str]) -> None:
        """Contacts or room members changed: those accounts' pages get their new list."""
        for account_id in set(account_ids):
            if self._local_pages(account_id):
                self._spawn(self._push_contacts(account_id), f"contacts-{account_id}")

    async def _push_contacts(self, account_id: str) -> None:
        pages = self._local_pages(account_id)
        if not pages:
            return
        contacts = await self._contacts.list(pages[0].account)
        self._push(account_id, {"type": "contacts", "contacts": self._contact_rows(contacts)})

    # ---------------------------------------------------------------- pushes
    def _local_pages(self, account_id: str) -> list[Page]:
        records = self._store.pages_of(account_id)
        return [p for r in records if (p := self._pages.get(r.id)) is not None]

    def _push(self, account_id: str, message: Message, *, but: Page | None = None) -> None:
        for page in self._local_pages(account_id):
            if page is not but:
                self._deliver(page, message)

    def _deliver(self, page: Page, message: Message) -> None:
        self._safely(page.send, message)

    @staticmethod
    def _safely(fn: Callable[[Any], None], arg: Any) -> None:
        try:
            fn(arg)
        except Exception:
            log.exception("a page's callback failed")

    # ----------------------------------------------------------------- calls
    async def _count_invitation(self, account: Account) -> None:
        """Every call and gather counts, refused or not (``auth.rate_limited``)."""
        key, now = f"call:{account.id}", self._clock.now()
        await self._limiter.check(key, now)
        await self._limiter.fail(key, now)

    def _outgoing(self, account_id: str) -> Call | None:
        return next(
            (
                c
                for c in self._store.calls_of(account_id)
                if c.ringing and c.caller_id == account_id
            ),
            None,
        )

    async def call(self, caller: Account, callee_id: str, *, origin: Page | None = None) -> Call:
        """Ring ``callee_id``'s pages; the caller's other pages see it ringing."""
        await self._count_invitation(caller)
        if callee_id == caller.id:
            raise DomainError("call.invalid", "you cannot call yourself")
        if self._outgoing(caller.id) is not None:
            raise DomainError("call.already_ringing", "you are calling someone already")
        contacts = await self._contacts.list(caller)
        callee = next((c for c in contacts if c.account_id == callee_id), None)
        if callee is None:
            raise DomainError("call.not_a_contact", "you can call your contacts only")
        presence = self._presence(callee_id)
        if presence is Presence.OFFLINE:
            raise DomainError("call.unavailable", f"{callee.display_name} is not online")
        if self._outgoing(caller.id) is not None:  # another page called meanwhile
            raise DomainError("call.already_ringing", "you are calling someone already")
        call = Call.start(
            caller.id,
            caller.display_name,
            callee.account_id,
            callee.display_name,
            waiting=presence is Presence.BUSY,
            now=self._clock.now(),
        )
        self._store.put_call(call, self._now() + self.ring_timeout)
        self._push(callee_id, {"type": "ringing", "call": call_view(call)})
        self._push(caller.id, {"type": "call_state", "call": call_view(call)}, but=origin)
        return call

    def _own_call(self, account: Account, call_id: str) -> Call:
        call = self._store.get_call(call_id)
        if call is None:
            raise DomainError("call.not_found", "no such call")
        if not call.party(account.id):
            raise DomainError("call.not_yours", "this call is between two other people")
        return call

    def _as_callee(self, account: Account, call_id: str) -> Call:
        call = self._own_call(account, call_id)
        if call.callee_id != account.id:
            raise DomainError("call.not_yours", "only the one called can answer")
        return call

    async def accept(self, account: Account, call_id: str, *, origin: Page | None = None) -> Call:
        """Make the call room; both sides get ``accepted`` with its link."""
        call = self._as_callee(account, call_id)
        if not call.ringing:
            raise DomainError("call.over", "this call is no longer ringing", state=call.state.value)
        caller = await self._accounts.get(call.caller_id)
        if caller is None or caller.disabled:
            self._change(call.cancel())
            raise DomainError("call.over", "the caller is gone", state="cancelled")
        room = await self._rooms.create_call_room(caller, account)
        call = self._as_callee(account, call_id)  # it may have ended while we waited
        accepted = call.accept(room.id, f"/join/{room.invite_token}?call={call.id}")
        return self._change(accepted, origin=origin)

    def decline(self, account: Account, call_id: str, *, origin: Page | None = None) -> Call:
        return self._change(self._as_callee(account, call_id).decline(), origin=origin)

    def cancel(self, account: Account, call_id: str, *, origin: Page | None = None) -> Call:
        call = self._own_call(account, call_id)
        if call.caller_id != account.id:
            raise DomainError("call.not_yours", "only the caller can cancel")
        return self._change(call.cancel(), origin=origin)

    def _change(self, call: Call, *, origin: Page | None = None) -> Call:
        """Store the call's new state and tell every page of both sides."""
        keep = KEEP_OVER if call.over else JOIN_WITHIN
        self._store.put_call(call, self._now() + keep)
        message = {"type": "call_state", "call": call_view(call)}
        for account_id in (call.caller_id, call.callee_id):
            self._push(account_id, message, but=origin)
        if call.state is CallState.ENDED and call.room_id is not None:
            self._spawn(self._retire(call.room_id), f"retire-{call.room_id}")
        return call

    async def _retire(self, room_id: str) -> None:
        """The call's room goes once what its conference did is stored."""
        await self._bus.drain(room_id)
        await self._rooms.retire_call_room(room_id)

    def _ring_out(self, call: Call) -> None:
        self._change(call.ring_out())
        self._spawn(self._record_missed_call(call), f"missed-{call.id}")

    async def _record_missed_call(self, call: Call) -> None:
        await self._contacts.record_missed(
            call.callee_id,
            caller_id=call.caller_id,
            caller_name=call.caller_name,
            kind=MissedKind.CALL,
            room=None,
        )
        await self._push_missed(call.callee_id)

    # ---------------------------------------------------------------- gather
    async def gather(self, caller: Account, room_id: str) -> tuple[int, int]:
        """Call everyone to the meeting (F-WB4): (members reached on a page, members
        told by a missed call)."""
        await self._count_invitation(caller)
        room = await self._rooms.get(caller, room_id)
        if room.is_call or room.role_for_account(caller.id) is not Role.MODERATOR:
            raise DomainError("auth.forbidden", "only the owner or a moderator may do this")
        members = await self._contacts.members(caller, room_id)
        message = {
            "type": "gathering",
            "room_id": room.id,
            "room_name": room.name,
            "caller_name": caller.display_name,
            "join_url": f"/join/{room.invite_token}?autojoin=1",
        }
        reached, missed = 0, []
        for member in members:
            if member.account_id == caller.id:
                continue
            if self._local_pages(member.account_id):
                reached += 1
                if not self._store.in_room(member.account_id, room.id):
                    self._push(member.account_id, message)
            else:
                missed.append(member)
        for member in missed:
            await self._contacts.record_missed(member.account_id, caller, MissedKind.GATHER, room)
        if missed and self.mail_enabled:
            await self._notices.call_in(room, caller, [m.email for m in missed])
        return reached, len(missed)

    # ---------------------------------------------------------------- missed
    async def dismiss_missed(self, account: Account, missed_id: str | None) -> None:
        """One missed call (or all: ``None``) off the list, on every page."""
        await self._contacts.dismiss_missed(account, missed_id)
        await self._push_missed(account.id)

    async def _push_missed(self, account_id: str) -> None:
        pages = self._local_pages(account_id)
        if not pages:
            return
        missed = await self._contacts.missed(pages[0].account)
        self._push(account_id, {"type": "missed", "missed": [missed_view(m) for m in missed]})

    # -------------------------------------------------------------- the bus
    def _event(self, event: ev.Event) -> None:
        """Fast: who is in a meeting (busy), and the end of call rooms."""
        match event:
            case ev.ParticipantJoined(participant=view, room_id=room_id):
                call = self._store.call_in_room(room_id)
                if call is not None and call.state is CallState.ACCEPTED:
                    self._store.put_call(call, None)  # running: it ends with its conference
                if view.account_id is not None:
                    self._store.enter_meeting(view.id, view.account_id, room_id)
                    self._announce(view.account_id)
            case ev.ParticipantLeft(participant_id=pid):
                account_id = self._store.leave_meeting(pid)
                if account_id is not None:
                    self._announce(account_id)
            case ev.ConferenceEnded(room_id=room_id):
                for account_id in self._store.end_meeting(room_id):
                    self._announce(account_id)
                call = self._store.call_in_room(room_id)
                if call is not None and call.state is CallState.ACCEPTED:
                    self._change(call.end())

    # --------------------------------------------------------------- sweeper
    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(max(self.ping_interval / 2, 0.05))
            try:
                self.sweep()
            except Exception:
                log.exception("people sweep failed")

    def sweep(self) -> None:
        """Drop pages without a ping for ``timeout``; ring out unanswered calls; end
        accepted calls nobody joined."""
        now = self._now()
        for record in self._store.stale_pages(now - self.timeout):
            self._drop(record.id, "timeout")
        # A page quiet for a ping interval is asked: a browser tab hidden for minutes
        # runs its timers about once a minute (Chrome), but answers a socket message at
        # once, so a hidden tab stays online while a dropped network still goes offline.
        for record in self._store.stale_pages(now - self.ping_interval):
            page = self._pages.get(record.id)
            if page is not None:
                self._deliver(page, {"type": "ping"})
        for call in self._store.due_calls(now):
            if call.ringing:
                self._ring_out(call)
            elif call.state is CallState.ACCEPTED:
                self._change(call.end())
            else:  # over long enough: a late answer is now ``call.not_found``
                self._store.drop_call(call.id)
