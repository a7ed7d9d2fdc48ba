"""Presence, 1:1 calls, "call everyone" and missed calls (F-WB3, F-WB4), through the
real services: SQLite store, the bus, conference actors, the sweeper on short timers.

Pages are plain inboxes (the socket adapter is tested in tests/web/test_people_socket.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from confero.app.people import CALL_LIMIT, PeopleService
from confero.app.people_pages import Page
from confero.app.services import Services
from confero.config import Settings
from confero.domain.accounts import Account
from confero.domain.commands import Leave
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from tests.app.people_support import Inbox, eventually
from tests.notify.smtp import SmtpSink, smtp_sink  # noqa: F401

PASSWORD = "correct horse battery staple"
PING, TIMEOUT, RING = 0.1, 0.5, 0.6


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Short timers; a real SMTP server for tests that ask for ``"mail"`` (indirect)."""
    mail: dict[str, Any] = {}
    if getattr(request, "param", None) == "mail":
        sink: SmtpSink = request.getfixturevalue("smtp_sink")
        mail = {"smtp_host": sink.host, "smtp_port": sink.port}
    return Settings(
        data_dir=tmp_path / "var",
        presence_ping=PING,
        presence_timeout=TIMEOUT,
        ring_timeout=RING,
        **mail,
    )


@dataclass
class World:
    services: Services
    ann: Account
    bob: Account
    cid: Account
    dan: Account
    #: Pages that ping every PING seconds, as a live page does.
    alive: list[Inbox] = field(default_factory=list)

    async def keep_alive(self) -> None:
        while True:
            for inbox in self.alive:
                if inbox.page is not None:
                    await self.people.ping(inbox.page)
            await asyncio.sleep(PING)

    @property
    def people(self) -> PeopleService:
        return self.services.people

    async def page(
        self, account: Account, token: str | None = None, *, quiet: bool = False
    ) -> Inbox:
        """An open page; one that pings unless ``quiet``."""
        inbox = Inbox()
        inbox.page = await self.people.open_page(
            account, token or f"token-{account.id}", inbox.messages.append, inbox.closed.append
        )
        if not quiet:
            self.alive.append(inbox)
        return inbox

    async def close(self, inbox: Inbox) -> None:
        assert inbox.page is not None
        await self.people.close_page(inbox.page)

    async def settle(self) -> None:
        await self.services.bus.drain()
        await self.people.settled()

    async def meeting(self, account: Account | None, room: Room, pid: str | None = None) -> str:
        """``account`` in ``room``'s conference (browser channel); its participant id."""
        pid, _ = await self.services.conferences.join(
            room,
            display_name=account.display_name if account else "Guest",
            role=room.role_for_account(account.id) or Role.PARTICIPANT
            if account
            else Role.PARTICIPANT,
            channel="browser",
            identity=f"account:{account.id}" if account else "guest:1",
            account_id=account.id if account else None,
            participant_id=pid,
        )
        await self.settle()
        return pid


@pytest.fixture
async def world(services: Services) -> AsyncIterator[World]:
    """Ann and Bob added each other; Cid and Dan are nobody's contacts (yet)."""
    made = [
        await services.accounts.create(f"{n}@example.org", PASSWORD, n.title())
        for n in ("ann", "bob", "cid", "dan")
    ]
    ann, bob, cid, dan = made
    await services.contacts.add(ann, bob.id)
    await services.contacts.add(bob, ann.id)
    world = World(services, ann, bob, cid, dan)
    pinger = asyncio.create_task(world.keep_alive())
    yield world
    pinger.cancel()


async def leave(world: World, room: Room, pid: str) -> None:
    await world.services.conferences.command(room, Leave(by=pid, reason="left"))
    await world.settle()


# ------------------------------------------------------------------ presence
async def test_welcome_has_contacts_with_presence_missed_and_ringing(world: World) -> None:
    bob = await world.page(world.bob)
    ann = await world.page(world.ann)
    welcome = ann.messages[0]
    assert welcome["type"] == "welcome"
    assert welcome["account_id"] == world.ann.id and welcome["ping"] == PING
    assert welcome["contacts"] == [
        {
            "account_id": world.bob.id,
            "display_name": "Bob",
            "email": "bob@example.org",
            "source": "added",
            "presence": "online",
        }
    ]
    assert welcome["missed"] == [] and welcome["ringing"] == []
    call = await world.people.call(world.ann, world.bob.id)
    late = await world.page(world.bob)
    assert [c["id"] for c in late.messages[0]["ringing"]] == [call.id]
    assert bob.last("ringing")["call"]["id"] == call.id


async def test_presence_follows_pages_several_tabs_are_one_person(world: World) -> None:
    ann = await world.page(world.ann)
    people = world.people
    assert await people.presence_of([world.bob.id]) == {world.bob.id: "offline"}
    tab1 = await world.page(world.bob)
    await world.settle()
    assert ann.presence(world.bob.id) == "online"
    tab2 = await world.page(world.bob)
    await world.settle()
    await world.close(tab1)
    await world.settle()
    assert [m["presence"] for m in ann.of("presence")] == ["online"], "one person"
    assert await people.presence_of([world.bob.id]) == {world.bob.id: "online"}
    await world.close(tab2)
    await world.settle()
    assert [m["presence"] for m in ann.of("presence")] == ["online", "offline"]
    assert await people.presence_of([world.bob.id, world.cid.id]) == {
        world.bob.id: "offline",
        world.cid.id: "offline",
    }


async def test_in_a_meeting_is_busy_with_or_without_a_page(world: World) -> None:
    ann = await world.page(world.ann)
    room = await world.services.rooms.create(world.bob, "Bob's room")
    pid = await world.meeting(world.bob, room)
    assert ann.presence(world.bob.id) == "busy"
    assert await world.people.presence_of([world.bob.id]) == {world.bob.id: "busy"}
    await leave(world, room, pid)
    assert ann.presence(world.bob.id) == "offline"
    await world.page(world.bob)
    await world.settle()
    await world.meeting(world.bob, room)
    assert [m["presence"] for m in ann.of("presence")] == ["busy", "offline", "online", "busy"]
    await world.services.conferences.end_if_running(room)
    await world.settle()
    assert ann.presence(world.bob.id) == "online"


async def test_a_page_without_pings_is_gone_within_the_timeout(world: World) -> None:
    ann = await world.page(world.ann)
    pinging = await world.page(world.bob)
    quiet = await world.page(world.bob, quiet=True)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await eventually(lambda: bool(quiet.closed), TIMEOUT * 3)
    assert quiet.closed == ["timeout"]
    assert quiet.of("ping"), "the server asked the quiet page before it gave up"
    assert loop.time() - start < TIMEOUT * 2  # the timeout, a sweep, a loaded machine
    await world.settle()
    assert ann.presence(world.bob.id) == "online", "the other tab keeps bob online"
    world.alive.remove(pinging)
    await eventually(lambda: bool(pinging.closed), TIMEOUT * 3)
    await world.settle()
    assert ann.presence(world.bob.id) == "offline"
    assert ann.closed == []


async def test_signing_out_drops_the_pages_of_that_session_only(world: World) -> None:
    ann = await world.page(world.ann)
    bob_here = await world.page(world.bob, token="session-1")
    bob_there = await world.page(world.bob, token="session-2")
    await world.settle()
    await world.people.close_token("session-1")
    await world.settle()
    assert bob_here.closed == ["signed_out"] and bob_there.closed == []
    assert await world.people.presence_of([world.bob.id]) == {world.bob.id: "online"}
    await world.people.close_token("session-2")
    await world.settle()
    assert ann.presence(world.bob.id) == "offline"


async def test_a_changed_list_is_pushed(world: World) -> None:
    bob = await world.page(world.bob)
    await world.services.contacts.add(world.bob, world.cid.id)
    world.people.contacts_changed([world.bob.id, world.dan.id])
    await world.settle()
    listed = bob.last("contacts")["contacts"]
    assert [c["display_name"] for c in listed] == ["Ann", "Cid"]


# --------------------------------------------------------------------- calls
async def test_call_accept_makes_the_call_room_and_one_hang_up_ends_it(world: World) -> None:
    ann1, ann2 = await world.page(world.ann), await world.page(world.ann)
    bob1, bob2 = await world.page(world.bob), await world.page(world.bob)
    people = world.people
    call = await people.call(world.ann, world.bob.id, origin=ann1.page)
    assert call.state == "ringing" and not call.waiting
    for page in (bob1, bob2):
        ringing = page.last("ringing")["call"]
        assert ringing["caller"] == {"account_id": world.ann.id, "display_name": "Ann"}
        assert ringing["callee"] == {"account_id": world.bob.id, "display_name": "Bob"}
        assert ringing["join_url"] is None
    assert ann2.last("call_state")["call"]["state"] == "ringing"
    assert not ann1.of("call_state"), "the calling page gets its own answer"

    accepted = await people.accept(world.bob, call.id, origin=bob1.page)
    assert accepted.state == "accepted" and accepted.room_id is not None
    room = await world.services.rooms.get_by_id(accepted.room_id)
    assert room is not None and room.is_call
    assert accepted.join_url == f"/join/{room.invite_token}?call={call.id}"
    assert room.owner_id == world.ann.id and room.members == {world.bob.id: Role.MODERATOR}
    for page in (ann1, ann2, bob2):
        state = page.last("call_state")["call"]
        assert state["state"] == "accepted" and state["join_url"] == accepted.join_url
    assert not bob1.of("call_state")

    # a third account and a guest cannot join, whatever they know
    for stranger in (world.cid, None):
        with pytest.raises(DomainError) as exc:
            await world.meeting(stranger, room)
        assert exc.value.code == "call.not_yours"
    with pytest.raises(DomainError) as exc:
        await people.accept(world.cid, call.id)
    assert exc.value.code == "call.not_yours"

    ann_pid = await world.meeting(world.ann, room)
    await world.meeting(world.bob, room)
    assert await world.people.presence_of([world.ann.id]) == {world.ann.id: "busy"}
    await leave(world, room, ann_pid)
    snap = world.services.conferences.snapshot(room)
    assert snap["running"] is False
    for page in (ann1, ann2, bob1, bob2):
        assert page.last("call_state")["call"]["state"] == "ended"
    # The call room goes with the call (no conference number held for ever).
    await world.settle()
    assert await world.services.rooms.get_by_id(room.id) is None
    assert await world.services.rooms.by_invite_token(room.invite_token) is None
    assert await people.presence_of([world.ann.id, world.bob.id]) == {
        world.ann.id: "online",
        world.bob.id: "online",
    }
    rooms = await world.services.rooms.list(world.ann)
    assert room.id not in [r.id for r in rooms], "call rooms are never listed"


async def test_decline_and_a_late_second_answer(world: World) -> None:
    ann = await world.page(world.ann)
    bob1, bob2 = await world.page(world.bob), await world.page(world.bob)
    call = await world.people.call(world.ann, world.bob.id)
    declined = await world.people.decline(world.bob, call.id, origin=bob1.page)
    assert declined.state == "declined"
    assert ann.last("call_state")["call"]["state"] == "declined"
    assert bob2.last("call_state")["call"]["state"] == "declined"
    for answer in (world.people.decline, world.people.accept):
        with pytest.raises(DomainError) as exc:
            await answer(world.bob, call.id)
        assert exc.value.code == "call.over"


async def test_cancel_stops_the_ringing(world: World) -> None:
    await world.page(world.ann)
    bob = await world.page(world.bob)
    call = await world.people.call(world.ann, world.bob.id)
    with pytest.raises(DomainError) as exc:
        await world.people.cancel(world.bob, call.id)
    assert exc.value.code == "call.not_yours", "only the caller cancels"
    await world.people.cancel(world.ann, call.id)
    assert bob.last("call_state")["call"]["state"] == "cancelled"
    with pytest.raises(DomainError) as exc:
        await world.people.accept(world.bob, call.id)
    assert exc.value.code == "call.over"
    with pytest.raises(DomainError) as exc:
        await world.people.accept(world.bob, "no-such-call")
    assert exc.value.code == "call.not_found"


async def test_the_caller_closing_its_last_page_cancels(world: World) -> None:
    ann = await world.page(world.ann)
    bob = await world.page(world.bob)
    await world.people.call(world.ann, world.bob.id)
    await world.close(ann)
    assert bob.last("call_state")["call"]["state"] == "cancelled"


async def test_no_answer_rings_out_and_leaves_a_missed_call(world: World) -> None:
    ann = await world.page(world.ann)
    bob = await world.page(world.bob)
    call = await world.people.call(world.ann, world.bob.id)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await eventually(lambda: ann.last("call_state")["call"]["state"] != "ringing", RING * 4)
    assert loop.time() - start >= RING * 0.9
    assert ann.last("call_state")["call"]["state"] == "no_answer"
    assert bob.last("call_state")["call"]["state"] == "no_answer"
    await world.settle()
    missed = bob.last("missed")["missed"]
    assert len(missed) == 1
    assert missed[0]["kind"] == "call" and missed[0]["caller_name"] == "Ann"
    assert missed[0]["join_url"] is None
    stored = await world.services.contacts.missed(world.bob)
    assert [m.id for m in stored] == [missed[0]["id"]]
    assert call.id  # the call itself is over
    again = await world.page(world.bob)
    assert again.messages[0]["missed"] == missed
    await world.people.dismiss_missed(world.bob, missed[0]["id"])
    for page in (bob, again):
        assert page.last("missed")["missed"] == []


async def test_a_busy_callee_gets_a_waiting_call_that_ends_busy(world: World) -> None:
    ann = await world.page(world.ann)
    bob = await world.page(world.bob)
    room = await world.services.rooms.create(world.bob, "Bob's room")
    await world.meeting(world.bob, room)
    call = await world.people.call(world.ann, world.bob.id)
    assert call.waiting
    assert bob.last("ringing")["call"]["waiting"] is True
    await world.people.decline(world.bob, call.id)
    assert ann.last("call_state")["call"]["state"] == "busy"
    second = await world.people.call(world.ann, world.bob.id)
    assert second.waiting
    await eventually(lambda: ann.last("call_state")["call"]["state"] != "ringing", RING * 4)
    assert ann.last("call_state")["call"]["id"] == second.id
    assert ann.last("call_state")["call"]["state"] == "busy"


async def test_a_busy_callee_can_take_the_waiting_call(world: World) -> None:
    await world.page(world.ann)
    await world.page(world.bob)
    room = await world.services.rooms.create(world.bob, "Bob's room")
    await world.meeting(world.bob, room)
    call = await world.people.call(world.ann, world.bob.id)
    accepted = await world.people.accept(world.bob, call.id)
    assert accepted.state == "accepted" and accepted.waiting


async def test_who_may_be_called(world: World) -> None:
    await world.page(world.ann)
    await world.page(world.cid)
    people = world.people

    async def refused(callee_id: str) -> str:
        with pytest.raises(DomainError) as exc:
            await people.call(world.ann, callee_id)
        return exc.value.code

    assert await refused(world.ann.id) == "call.invalid"
    assert await refused(world.cid.id) == "call.not_a_contact", "online, but no contact"
    assert await refused("no-such-account") == "call.not_a_contact"
    assert await refused(world.bob.id) == "call.unavailable", "a contact, but offline"
    await world.page(world.bob)
    await people.call(world.ann, world.bob.id)
    assert await refused(world.bob.id) == "call.already_ringing"


async def test_call_invitations_are_rate_limited_counting_every_attempt(world: World) -> None:
    await world.page(world.ann)
    for _ in range(CALL_LIMIT):
        with pytest.raises(DomainError) as exc:
            await world.people.call(world.ann, world.cid.id)
        assert exc.value.code == "call.not_a_contact"
    await world.page(world.bob)
    with pytest.raises(DomainError) as exc:
        await world.people.call(world.ann, world.bob.id)
    assert exc.value.code == "auth.rate_limited"
    with pytest.raises(DomainError) as exc:
        await world.people.gather(world.ann, "any-room")
    assert exc.value.code == "auth.rate_limited", "gathers count with calls"
    await world.people.call(world.bob, world.ann.id)  # the limit is per caller


# -------------------------------------------------------------------- gather
async def gather_room(world: World) -> Room:
    rooms = world.services.rooms
    room = await rooms.create(world.ann, "Weekly sync")
    await rooms.set_member(world.ann, room.id, world.bob.email, "participant")
    await rooms.set_member(world.ann, room.id, world.dan.email, "moderator")
    return room


async def test_gather_pops_up_on_online_members_and_leaves_missed_calls(world: World) -> None:
    room = await gather_room(world)
    bob1, bob2 = await world.page(world.bob), await world.page(world.bob)
    cid = await world.page(world.cid)
    ann = await world.page(world.ann)
    online, offline = await world.people.gather(world.ann, room.id)
    assert (online, offline) == (1, 1)
    for page in (bob1, bob2):
        assert page.last("gathering") == {
            "type": "gathering",
            "room_id": room.id,
            "room_name": "Weekly sync",
            "caller_name": "Ann",
            "join_url": f"/join/{room.invite_token}?autojoin=1",
        }
    assert not cid.of("gathering"), "a non-member gets nothing"
    assert not ann.of("gathering"), "nor does the caller"
    missed = await world.services.contacts.missed(world.dan)
    assert len(missed) == 1 and missed[0].kind == "gather"
    dan = await world.page(world.dan)
    row = dan.messages[0]["missed"][0]
    assert row["room_name"] == "Weekly sync" and row["caller_name"] == "Ann"
    assert row["join_url"] == f"/join/{room.invite_token}?autojoin=1"
    assert not await world.services.contacts.missed(world.cid)


@pytest.mark.parametrize("settings", ["mail"], indirect=True)
async def test_gather_mails_offline_members_when_mail_works(
    world: World,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    assert world.people.mail_enabled
    room = await gather_room(world)
    await world.page(world.bob)
    assert await world.people.gather(world.ann, room.id) == (1, 1)
    sink = smtp_sink
    mails = await sink.wait_for(1)
    assert [r[0] for r in sink.recipients] == ["dan@example.org"]
    assert "Weekly sync" in str(mails[0]["Subject"]) + mails[0].as_string()


async def test_who_may_gather(world: World) -> None:
    room = await gather_room(world)
    await world.page(world.ann)
    with pytest.raises(DomainError) as exc:
        await world.people.gather(world.bob, room.id)
    assert exc.value.code == "auth.forbidden", "a participant member may not"
    with pytest.raises(DomainError) as exc:
        await world.people.gather(world.cid, room.id)
    assert exc.value.code == "room.not_found", "a stranger does not see the room"
    online, offline = await world.people.gather(world.dan, room.id)  # a moderator member
    assert (online, offline) == (1, 1)  # ann online; bob offline


async def test_a_page_that_only_answers_the_servers_pings_stays(world: World) -> None:
    """A hidden browser tab: its own ping timer sleeps, its socket handler answers."""
    ann = await world.page(world.ann)
    page: list[Page] = []
    pings: list[asyncio.Future[bool]] = []

    def answer(message: dict[str, Any]) -> None:
        if message["type"] == "ping" and page:
            pings.append(asyncio.ensure_future(world.people.ping(page[0])))

    closed: list[str] = []
    page.append(await world.people.open_page(world.bob, "token-hidden", answer, closed.append))
    await asyncio.sleep(TIMEOUT * 2.5)
    await world.settle()
    assert closed == [] and ann.presence(world.bob.id) == "online"
    await world.people.close_page(page[0])
