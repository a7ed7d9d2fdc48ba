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
callbacks stay on the node that holds their sockets (``PageHub``, app/people_pages.py).
In a cluster (issue 16) the store is Redis and every push to pages goes out twice: to
this node's pages at once, and through the ``PeopleFanout`` to the pages on the other
nodes, which deliver what they hold (a person's pages may be on three nodes, their
meeting on a fourth). Timers
(pings, ringing) use wall-clock seconds, the same on every node: liveness, not domain
rules. The bus handler is an async fast one: it updates the store in event order and
spawns the pushes that need the database (house rule 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

from confero.app.accounts import AccountService
from confero.app.conferences import ConferenceService
from confero.app.contacts import ContactService
from confero.app.notices import NoticeService
from confero.app.people_pages import Closer, Message, Page, PageHub, Send, safely, token_key
from confero.app.ports import Clock, EventBus
from confero.app.presence_port import Fanned, LocalFanout, PageRecord, PeopleFanout, PresenceStore
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

#: Call invitations (calls and gathers) per caller per window: ``call:<account id>``.
CALL_LIMIT = 10
#: An accepted call whose room nobody entered within this long (seconds) is over.
JOIN_WITHIN = 120.0
#: A call that is over is kept this long (seconds), so a late answer hears ``call.over``.
KEEP_OVER = 60.0


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
        fanout: PeopleFanout | None = None,
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
        #: This node's pages, and the way to the other nodes' (app/people_pages.py).
        self._hub = PageHub(fanout or LocalFanout())
        #: The presence last pushed per account (absent: offline).
        self._announced: dict[str, Presence] = {}
        self._tasks = Background(log, "people")
        self._sweeper: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ------------------------------------------------------------ lifetime
    async def start(self) -> None:
        """Follow the conferences (busy), hear the other nodes, start the sweeper."""
        if self._unsubscribe is None:
            self._unsubscribe = self._bus.subscribe(self._event)
            for room_id in self._conferences.registry.live_rooms():
                actor = self._conferences.registry.get(room_id)
                for p in actor.snapshot().participants if actor is not None else ():
                    if p.account_id is not None:
                        await self._store.enter_meeting(p.id, p.account_id, room_id)
            await self._hub.fanout.start(self._fanned)
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
        for page in self._hub.all():
            self._hub.forget(page)
            safely(page.on_close, "shutdown")
            with contextlib.suppress(Exception):  # a store out of reach: they time out
                await self._store.remove_page(page.id)
        await self._tasks.stop(grace=2)  # pushes and missed calls under way may finish
        await self._hub.fanout.close()

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        self._tasks.spawn(coro, name)

    async def settled(self) -> None:
        """Returns once the pushes spawned so far are done (tests, shutdown)."""
        await self._tasks.settled()

    @staticmethod
    def _now() -> float:
        return time.time()

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
        was = await self._presence(account.id)
        await self._store.add_page(PageRecord(page.id, account.id, page.token_key, self._now()))
        self._hub.add(page)
        ringing = [
            call_view(c)
            for c in await self._store.calls_of(account.id)
            if c.ringing and c.callee_id == account.id
        ]
        welcome = {
            "type": "welcome",
            "account_id": account.id,
            "ping": self.ping_interval,
            "contacts": await self._contact_rows(contacts),
            "missed": [missed_view(m) for m in missed],
            "ringing": ringing,
        }
        self._hub.welcome(page, welcome)
        if await self._presence(account.id) is not was:
            self._announce(account.id)
        return page

    async def ping(self, page: Page) -> bool:
        """The page is alive; False when the server dropped it already."""
        return await self._store.touch_page(page.id, self._now())

    async def close_page(self, page: Page) -> None:
        """The page's socket closed (or the server dropped it)."""
        if not self._hub.forget(page):
            return
        await self._gone(page.account.id, await self._store.remove_page(page.id))

    async def _gone(self, account_id: str, record: PageRecord | None) -> None:
        """A page of ``account_id`` went: its presence, and its calls if it was the last."""
        if record is None:  # another node dropped it first
            return
        if not (await self._store.activity([account_id]))[account_id].online:
            # The caller is gone from every page: its ringing calls are cancelled.
            for call in await self._store.calls_of(account_id):
                if call.ringing and call.caller_id == account_id:
                    with contextlib.suppress(DomainError):
                        await self._change(call, call.cancel())
        self._announce(account_id)

    async def close_token(self, token: str) -> None:
        """Sign-out: every page of that session goes (its socket is closed), on every node."""
        key = token_key(token)
        self._hub.fanout.publish(Fanned("sign_out", token=key))
        await self._close_token_key(key)

    async def _close_token_key(self, key: str) -> None:
        for page in [p for p in self._hub.all() if p.token_key == key]:
            await self._drop(page.id, "signed_out")

    async def _drop(self, page_id: str, reason: str) -> None:
        page = self._hub.get(page_id)
        if page is None:  # a record without a page of ours (its node died): forget it
            record = await self._store.remove_page(page_id)
            if record is not None:
                await self._gone(record.account_id, record)
            return
        await self.close_page(page)
        safely(page.on_close, reason)

    # ------------------------------------------------------------- presence
    async def _presence(self, account_id: str) -> Presence:
        return (await self._presences([account_id]))[account_id]

    async def _presences(self, ids: Iterable[str]) -> dict[str, Presence]:
        facts = await self._store.activity(list(ids))
        return {
            i: Presence.BUSY if a.busy else Presence.ONLINE if a.online else Presence.OFFLINE
            for i, a in facts.items()
        }

    async def presence_of(self, ids: Iterable[str]) -> dict[str, str]:
        """Account id -> ``offline`` | ``online`` | ``busy`` (the REST lists use it)."""
        return {i: p.value for i, p in (await self._presences(ids)).items()}

    async def _contact_rows(self, contacts: Sequence[Contact]) -> list[Message]:
        states = await self._presences(c.account_id for c in contacts)
        return [
            {
                "account_id": c.account_id,
                "display_name": c.display_name,
                "email": c.email,
                "source": c.source.value,
                "presence": states[c.account_id].value,
            }
            for c in contacts
        ]

    def _announce(self, account_id: str) -> None:
        self._spawn(self._push_presence(account_id), f"presence-{account_id}")

    async def _push_presence(self, account_id: str) -> None:
        watchers = await self._contacts.watchers_of(account_id)
        presence = await self._presence(account_id)  # as it is now, after the wait
        if presence is self._announced.get(account_id, Presence.OFFLINE):
            return
        self._remember(account_id, presence)
        message = {"type": "presence", "account_id": account_id, "presence": presence.value}
        self._hub.push(watchers, message)

    def _remember(self, account_id: str, presence: Presence) -> None:
        """The presence last pushed (by any node: the others' pushes keep it true here)."""
        if presence is Presence.OFFLINE:
            self._announced.pop(account_id, None)
        else:
            self._announced[account_id] = presence

    def contacts_changed(self, account_ids: Iterable[str]) -> None:
        """Contacts or room members changed: those accounts' pages get their new list."""
        for account_id in set(account_ids):
            self._hub.fanout.publish(Fanned("contacts", account_id=account_id))
            self._refresh_contacts(account_id)

    def _refresh_contacts(self, account_id: str) -> None:
        if self._hub.of(account_id):
            self._spawn(self._push_contacts(account_id), f"contacts-{account_id}")

    async def _push_contacts(self, account_id: str) -> None:
        pages = self._hub.of(account_id)
        if not pages:
            return
        contacts = await self._contacts.list(pages[0].account)
        rows = await self._contact_rows(contacts)
        self._hub.push_here((account_id,), {"type": "contacts", "contacts": rows})

    # ---------------------------------------------------------------- pushes
    def _fanned(self, fanned: Fanned) -> None:
        """Another node's push or request, for the pages this node holds."""
        match fanned.kind:
            case "push":
                message = fanned.message
                if message.get("type") == "presence":
                    self._remember(str(message["account_id"]), Presence(message["presence"]))
                self._hub.push_here(fanned.to, message, but=fanned.but)
            case "contacts":
                self._refresh_contacts(fanned.account_id)
            case "missed":
                if self._hub.of(fanned.account_id):
                    self._spawn(self._push_missed_here(fanned.account_id), "missed-push")
            case "sign_out":
                self._spawn(self._close_token_key(fanned.token), "sign-out")

    # ----------------------------------------------------------------- calls
    async def _count_invitation(self, account: Account) -> None:
        """Every call and gather counts, refused or not (``auth.rate_limited``)."""
        key, now = f"call:{account.id}", self._clock.now()
        await self._limiter.check(key, now)
        await self._limiter.fail(key, now)

    async def _outgoing(self, account_id: str) -> Call | None:
        return next(
            (
                c
                for c in await self._store.calls_of(account_id)
                if c.ringing and c.caller_id == account_id
            ),
            None,
        )

    async def call(self, caller: Account, callee_id: str, *, origin: Page | None = None) -> Call:
        """Ring ``callee_id``'s pages; the caller's other pages see it ringing."""
        await self._count_invitation(caller)
        if callee_id == caller.id:
            raise DomainError("call.invalid", "you cannot call yourself")
        if await self._outgoing(caller.id) is not None:
            raise DomainError("call.already_ringing", "you are calling someone already")
        contacts = await self._contacts.list(caller)
        callee = next((c for c in contacts if c.account_id == callee_id), None)
        if callee is None:
            raise DomainError("call.not_a_contact", "you can call your contacts only")
        presence = await self._presence(callee_id)
        if presence is Presence.OFFLINE:
            raise DomainError("call.unavailable", f"{callee.display_name} is not online")
        if await self._outgoing(caller.id) is not None:  # another page called meanwhile
            raise DomainError("call.already_ringing", "you are calling someone already")
        call = Call.start(
            caller.id,
            caller.display_name,
            callee.account_id,
            callee.display_name,
            waiting=presence is Presence.BUSY,
            now=self._clock.now(),
        )
        await self._store.put_call(call, self._now() + self.ring_timeout)
        self._hub.push((callee_id,), {"type": "ringing", "call": call_view(call)})
        self._hub.push((caller.id,), {"type": "call_state", "call": call_view(call)}, but=origin)
        return call

    async def _own_call(self, account: Account, call_id: str) -> Call:
        call = await self._store.get_call(call_id)
        if call is None:
            raise DomainError("call.not_found", "no such call")
        if not call.party(account.id):
            raise DomainError("call.not_yours", "this call is between two other people")
        return call

    async def _as_callee(self, account: Account, call_id: str) -> Call:
        call = await self._own_call(account, call_id)
        if call.callee_id != account.id:
            raise DomainError("call.not_yours", "only the one called can answer")
        return call

    async def accept(self, account: Account, call_id: str, *, origin: Page | None = None) -> Call:
        """Make the call room; both sides get ``accepted`` with its link."""
        call = await self._as_callee(account, call_id)
        if not call.ringing:
            raise DomainError("call.over", "this call is no longer ringing", state=call.state.value)
        caller = await self._accounts.get(call.caller_id)
        if caller is None or caller.disabled:
            await self._change(call, call.cancel())
            raise DomainError("call.over", "the caller is gone", state="cancelled")
        room = await self._rooms.create_call_room(caller, account)
        call = await self._as_callee(account, call_id)  # it may have ended while we waited
        accepted = call.accept(room.id, f"/join/{room.invite_token}?call={call.id}")
        return await self._change(call, accepted, origin=origin)

    async def decline(self, account: Account, call_id: str, *, origin: Page | None = None) -> Call:
        call = await self._as_callee(account, call_id)
        return await self._change(call, call.decline(), origin=origin)

    async def cancel(self, account: Account, call_id: str, *, origin: Page | None = None) -> Call:
        call = await self._own_call(account, call_id)
        if call.caller_id != account.id:
            raise DomainError("call.not_yours", "only the caller can cancel")
        return await self._change(call, call.cancel(), origin=origin)

    async def _change(self, was: Call, call: Call, *, origin: Page | None = None) -> Call:
        """Store the call's new state, if it is still ``was``'s (a page on another node
        may have answered first: ``call.over``), and tell every page of both sides."""
        keep = KEEP_OVER if call.over else JOIN_WITHIN
        if not await self._store.swap_call(call, self._now() + keep, was.state):
            now = await self._store.get_call(call.id)
            state = now.state.value if now is not None else "gone"
            raise DomainError("call.over", "this call is no longer ringing", state=state)
        message = {"type": "call_state", "call": call_view(call)}
        self._hub.push((call.caller_id, call.callee_id), message, but=origin)
        if call.state is CallState.ENDED and call.room_id is not None:
            self._spawn(self._retire(call.room_id), f"retire-{call.room_id}")
        return call

    async def _retire(self, room_id: str) -> None:
        """The call's room goes once what its conference did is stored."""
        await self._bus.drain(room_id)
        await self._rooms.retire_call_room(room_id)

    async def _ring_out(self, call: Call) -> None:
        await self._change(call, call.ring_out())
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
        others = [m for m in members if m.account_id != caller.id]
        facts = await self._store.activity([m.account_id for m in others])
        reached, missed = 0, []
        for member in others:
            if facts[member.account_id].online:
                reached += 1
                if not await self._store.in_room(member.account_id, room.id):
                    self._hub.push((member.account_id,), message)
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
        """The account's pages, here and on the other nodes, read their list again."""
        self._hub.fanout.publish(Fanned("missed", account_id=account_id))
        await self._push_missed_here(account_id)

    async def _push_missed_here(self, account_id: str) -> None:
        pages = self._hub.of(account_id)
        if not pages:
            return
        missed = await self._contacts.missed(pages[0].account)
        rows = [missed_view(m) for m in missed]
        self._hub.push_here((account_id,), {"type": "missed", "missed": rows})

    # -------------------------------------------------------------- the bus
    async def _event(self, event: ev.Event) -> None:
        """Fast, in event order: who is in a meeting (busy), and the end of call rooms."""
        match event:
            case ev.ConferenceStarted(room_id=room_id):
                # Seats a dead owner left (its conference ended nowhere) go now.
                for account_id in await self._store.end_meeting(room_id):
                    self._announce(account_id)
            case ev.ParticipantJoined(participant=view, room_id=room_id):
                call = await self._store.call_in_room(room_id)
                if call is not None and call.state is CallState.ACCEPTED:
                    # running: it ends with its conference, not with the sweeper
                    await self._store.swap_call(call, None, CallState.ACCEPTED)
                if view.account_id is not None:
                    await self._store.enter_meeting(view.id, view.account_id, room_id)
                    self._announce(view.account_id)
            case ev.ParticipantLeft(participant_id=pid):
                who = await self._store.leave_meeting(pid)
                if who is not None:
                    self._announce(who)
            case ev.ConferenceEnded(room_id=room_id):
                for account_id in await self._store.end_meeting(room_id):
                    self._announce(account_id)
                call = await self._store.call_in_room(room_id)
                if call is not None and call.state is CallState.ACCEPTED:
                    with contextlib.suppress(DomainError):  # ended by another node's sweep
                        await self._change(call, call.end())

    # --------------------------------------------------------------- sweeper
    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(max(self.ping_interval / 2, 0.05))
            try:
                await self.sweep()
            except Exception:
                log.exception("people sweep failed")

    async def sweep(self) -> None:
        """Drop pages without a ping for ``timeout`` (a dead node's too: any node's
        sweeper does); ring out unanswered calls; end accepted calls nobody joined."""
        now = self._now()
        for record in await self._store.stale_pages(now - self.timeout):
            await self._drop(record.id, "timeout")
        # A page quiet for a ping interval is asked: a browser tab hidden for minutes
        # runs its timers about once a minute (Chrome), but answers a socket message at
        # once, so a hidden tab stays online while a dropped network still goes offline.
        for record in await self._store.stale_pages(now - self.ping_interval):
            page = self._hub.get(record.id)
            if page is not None:
                self._hub.deliver(page, {"type": "ping"})
        for call in await self._store.due_calls(now):  # claimed: no other node acts on them
            try:
                if call.ringing:
                    await self._ring_out(call)
                elif call.state is CallState.ACCEPTED:
                    await self._change(call, call.end())
                else:  # over long enough: a late answer is now ``call.not_found``
                    await self._store.drop_call(call.id)
            except DomainError:  # answered in the same instant: the answer won
                continue
