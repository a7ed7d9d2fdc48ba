"""Phone callers in a conference, end to end in one process: SIP, RTP, IVR, mixer,
keypad and the conference, with a scripted softphone as the caller."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import httpx
import pytest

from confero.app.services import Services
from confero.domain import events as ev
from confero.domain.rooms import Room
from confero.media.tone import rms
from confero.phone.call import Samples
from confero.phone.ivr import Speech
from confero.phone.stack import PhoneStack
from tests.phone.softphone import Softphone
from tests.phone.support import (
    callee_joins,
    eventually,
    join,
    own_trunk,
    people,
    where_calls_are,
)
from tests.web.support import bearer_headers


async def test_two_callers_hear_each_other_and_not_themselves(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    a = await join(phone, room, room.pin, services)
    b = await join(phone, room, room.pin, services)
    try:
        a.start_tone(1000)
        b.start_tone(600)
        await asyncio.sleep(3)  # the count prompt ("there is one other participant") ends
        assert await b.hears(1000)
        assert await a.hears(600)
        await a.press("*1")  # mute; fires after the ambiguity pause
        await eventually(lambda: any(p["muted"] for p in people(services, room)))
        await asyncio.sleep(2.5)  # "you are muted" is spoken to a only
        assert not await b.hears(1000)
    finally:
        await a.hangup()
        await b.hangup()
    await eventually(lambda: not people(services, room))


async def test_wrong_pin_three_times_and_we_hang_up(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    caller = Softphone(phone.ua.port)
    try:
        call = await caller.dial("5000")
        wrong = "000000" if room.pin != "000000" else "111111"
        await caller.press(f"1{room.conference_number}#{wrong}#{wrong}#{wrong}#")
        await asyncio.wait_for(call.ended.wait(), 20)
        assert call.end_reason == "bye", "the server said goodbye and hung up"
        assert not people(services, room)
    finally:
        await caller.hangup()


async def test_a_rooms_own_number_skips_to_the_pin(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    caller = Softphone(phone.ua.port)
    try:
        call = await caller.dial(room.conference_number)
        assert call.state == "confirmed"
        await caller.press(f"{room.admin_pin}##")
        await eventually(lambda: [p["role"] for p in people(services, room)] == ["moderator"])
    finally:
        await caller.hangup()


async def test_moderator_keypad_from_mute_all_to_end_for_everyone(
    phone: PhoneStack, room: Room, services: Services, client: httpx.AsyncClient
) -> None:
    host = await join(phone, room, room.admin_pin, services)
    guest = await join(phone, room, room.pin, services)
    late: Softphone | None = None
    try:
        roles = sorted(str(p["role"]) for p in people(services, room))
        assert roles == ["moderator", "participant"]
        guest.start_tone(700)
        host.start_tone(1000)
        await asyncio.sleep(2.5)
        assert await host.hears(700)

        await guest.press("*11")  # not a moderator: nothing changes
        await asyncio.sleep(0.5)
        assert not any(p["muted"] for p in people(services, room))

        await host.press("*11")
        await eventually(lambda: [p["muted"] for p in people(services, room)].count(True) == 1)
        await asyncio.sleep(2)  # "all participants are muted"
        assert not await host.hears(700), "the muted guest is not heard"
        await host.press("*10")
        await eventually(lambda: not any(p["muted"] for p in people(services, room)))
        await asyncio.sleep(2)
        assert await host.hears(700)

        await host.press("*21")
        await eventually(lambda: services.conferences.snapshot(room)["locked"] is True)
        late = Softphone(phone.ua.port)
        await late.dial("5000")
        await late.press(f"1{room.conference_number}#{room.pin}##")
        await eventually(
            lambda: len(services.conferences.snapshot(room)["lobby"]) == 1,
            explain=lambda: where_calls_are(phone, late),
        )
        assert len(people(services, room)) == 2, "the newcomer waits in the lobby"
        assert not await late.hears(1000, 1.0), "in the lobby: hold music, not the room"

        owner = await bearer_headers(client, "host@example.org", "long-secret")
        lobby_id = services.conferences.snapshot(room)["lobby"][0]["id"]
        response = await client.post(
            f"/api/v1/rooms/{room.id}/conference/commands",
            json={"command": "admit", "target": lobby_id},
            headers=owner,
        )
        assert response.status_code == 200, response.text
        await eventually(lambda: len(people(services, room)) == 3)
        await asyncio.sleep(2.5)  # "you are admitted"
        assert await late.hears(1000) or await late.hears(1000)

        await host.press("*31")  # removes the one who joined last
        assert late.call is not None
        await asyncio.wait_for(late.call.ended.wait(), 15)
        assert len(people(services, room)) == 2

        await host.press("*30")
        assert host.call is not None and guest.call is not None
        await asyncio.wait_for(guest.call.ended.wait(), 15)
        await asyncio.wait_for(host.call.ended.wait(), 15)
        assert guest.call.end_reason == "bye" and host.call.end_reason == "bye"
        assert services.conferences.snapshot(room)["running"] is False
    finally:
        for p in (host, guest, late):
            if p is not None:
                await p.hangup()


async def test_star_8_dials_out_through_the_trunk_and_the_callee_joins(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    """The trunk is our own user agent: it answers, and its "person" presses 1."""
    trunk, answered = await own_trunk(phone.bridge)
    host = await join(phone, room, room.admin_pin, services)
    try:
        await host.press("*8")
        await host.press("0612345678#")
        callee = await callee_joins(trunk, answered, "0612345678")
        await eventually(lambda: len(people(services, room)) == 2, 15)
        roles = sorted(str(p["role"]) for p in people(services, room))
        assert roles == ["moderator", "participant"]
        callee.hangup()
        await eventually(lambda: len(people(services, room)) == 1, 10)
    finally:
        await host.hangup()
        await trunk.stop()


async def test_everyones_keys_menu_names_volume_and_announcements(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    a = await join(phone, room, room.pin, services)
    b = await join(phone, room, room.pin, services)
    try:
        await asyncio.sleep(3)  # the count prompt is over: the room is quiet
        assert rms(await a.listen(0.5)) < 50

        await a.press("#")  # the menu: several seconds of speech
        speech = await a.listen(4)
        assert rms(speech) > 300
        assert rms(speech[-8000:]) > 100, "still speaking after 3 s: the whole menu"
        assert rms(await b.listen(0.5)) < 50, "the menu is for a only"

        await a.press("*9")
        await eventually(lambda: next(p["volume"] for p in people(services, room)) == 1)
        await a.press("*7")
        await a.press("*7")
        await eventually(lambda: next(p["volume"] for p in people(services, room)) == -1)

        await asyncio.sleep(4)
        await a.press("*3")  # who is here: "the participants are: a participant"
        await asyncio.sleep(1.6)
        assert rms(await a.listen(1.5)) > 300

        await asyncio.sleep(3)
        await a.press("*2")  # announcements off for a
        await asyncio.sleep(4)
        c = await join(phone, room, room.pin, services)
        try:
            assert rms(await a.listen(1.5)) < 50, "a asked for no announcements"
        finally:
            await c.hangup()
    finally:
        await a.hangup()
        await b.hangup()


Command = Callable[..., Awaitable[httpx.Response]]


async def _api_join(client: httpx.AsyncClient, room: Room) -> tuple[Command, str]:
    """The owner joins over the REST API; its conference commands, and its participant id."""
    owner = await bearer_headers(client, "host@example.org", "long-secret")

    async def command(name: str, **fields: str) -> httpx.Response:
        return await client.post(
            f"/api/v1/rooms/{room.id}/conference/commands",
            json={"command": name, **fields},
            headers=owner,
        )

    joined = await command("join")
    assert joined.status_code == 200, joined.text
    return command, joined.json()["participant_id"]


async def test_an_api_participants_invite_dials_out_and_the_callee_joins(
    phone: PhoneStack, room: Room, services: Services, client: httpx.AsyncClient
) -> None:
    """Not only the keypad: a REST (or browser) moderator's ``invite`` rings the number."""
    trunk, answered = await own_trunk(phone.bridge)
    command, pid = await _api_join(client, room)
    try:
        response = await command("invite", participant_id=pid, number="0698765432")
        assert response.status_code == 200, response.text
        callee = await callee_joins(trunk, answered, "0698765432")
        await eventually(lambda: len(people(services, room)) == 2, 15)
        phone_row = next(p for p in people(services, room) if p["channel"] == "phone")
        assert phone_row["role"] == "participant"
        callee.hangup()
        await eventually(lambda: len(people(services, room)) == 1, 10)
    finally:
        await command("leave", participant_id=pid)
        await trunk.stop()


async def test_a_refused_dial_out_is_told_to_the_inviter_only(
    phone: PhoneStack, room: Room, services: Services, client: httpx.AsyncClient
) -> None:
    trunk, refused = await own_trunk(phone.bridge, refuse=True)
    command, pid = await _api_join(client, room)
    told: list[ev.InviteFailed] = []

    async def listen(event: ev.Event) -> None:
        if isinstance(event, ev.InviteFailed):
            told.append(event)

    unsubscribe = services.bus.subscribe(listen)
    try:
        response = await command("invite", participant_id=pid, number="0611112222")
        assert response.status_code == 200, response.text
        await eventually(lambda: bool(told), 10)
        assert refused and refused[0].called == "0611112222"
        assert told[0].number == "0611112222" and told[0].reason == "no_answer"
        assert told[0].audience == frozenset({pid})
        assert len(people(services, room)) == 1, "nobody joined"

        phone.bridge.trunk = None  # no trunk configured at all
        await command("invite", participant_id=pid, number="0633334444")
        await eventually(lambda: len(told) == 2, 5)
        assert told[1].reason == "unavailable"
    finally:
        unsubscribe()
        await command("leave", participant_id=pid)
        await trunk.stop()


# ---------------------------------------------------------------- parity (issue 10)
Said = list[tuple[object, ...]]


def prompts_said(phone: PhoneStack, monkeypatch: pytest.MonkeyPatch) -> Said:
    """Every prompt the bridge's calls render, in order (a caller that typed ahead skips
    a prompt without rendering it)."""
    said: Said = []
    render = phone.bridge.prompts.render

    def spy(items: Sequence[Speech], language: str) -> Samples:
        said.append(tuple(items))
        return render(items, language)

    monkeypatch.setattr(phone.bridge.prompts, "render", spy)
    return said


async def locked_by_phone(phone: PhoneStack, room: Room, services: Services) -> Softphone:
    """A moderator on the phone who has locked the room with ``*21``."""
    host = await join(phone, room, room.admin_pin, services)
    await host.press("*21")
    await eventually(lambda: services.conferences.snapshot(room)["locked"] is True)
    return host


async def knocks(phone: PhoneStack, room: Room, services: Services, *, name: bool) -> Softphone:
    """A caller on the access number who knocks on the locked room; with ``name`` they say
    one (a tone) when asked, else they press # at once and have none."""
    caller = Softphone(phone.ua.port)
    await caller.dial("5000")
    waiting = len(services.conferences.snapshot(room)["lobby"])
    if name:
        caller.start_tone(500)  # heard by the name recording (the lobby hears no one)
        await caller.press(f"1{room.conference_number}#{room.pin}#")
    else:
        await caller.press(f"1{room.conference_number}#{room.pin}##")
    await eventually(lambda: len(services.conferences.snapshot(room)["lobby"]) > waiting, 20)
    return caller


async def test_a_knocker_nobody_admits_hears_why_and_is_let_go(
    phone: PhoneStack, room: Room, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = prompts_said(phone, monkeypatch)
    left: list[ev.LobbyLeft] = []

    def listen(event: ev.Event) -> None:
        if isinstance(event, ev.LobbyLeft):
            left.append(event)

    unsubscribe = services.bus.subscribe(listen)
    host = await locked_by_phone(phone, room, services)
    phone.bridge.knock_timeout = 1.5
    knocker: Softphone | None = None
    try:
        knocker = await knocks(phone, room, services, name=False)
        # The host's call follows the knock from its own event queue: soon, not at once.
        await eventually(lambda: ("knocking",) in said, 5)  # the moderator hears it
        assert knocker.call is not None
        await asyncio.wait_for(knocker.call.ended.wait(), 15)
        assert knocker.call.end_reason == "bye", "the server hung up"
        assert ("knock_timeout", "goodbye") in said
        await eventually(lambda: not services.conferences.snapshot(room)["lobby"])
        assert [e.reason for e in left] == ["left"], "the pages see the knocker go"
        assert len(people(services, room)) == 1
    finally:
        unsubscribe()
        await host.hangup()
        if knocker is not None:
            await knocker.hangup()


async def test_a_phone_moderator_hears_who_knocks_and_star_22_admits_the_longest_waiting(
    phone: PhoneStack, room: Room, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = prompts_said(phone, monkeypatch)
    host = await locked_by_phone(phone, room, services)
    guests: list[Softphone] = []
    try:
        guests.append(await knocks(phone, room, services, name=True))
        await eventually(lambda: ("is_waiting",) in said, 5)  # after the knocker's own name
        first = services.conferences.snapshot(room)["lobby"][0]["id"]
        guests.append(await knocks(phone, room, services, name=False))
        await asyncio.sleep(2.5)  # the host hears "a participant is waiting" out
        await host.press("*22")
        await eventually(lambda: len(people(services, room)) == 2)
        assert first in {p["id"] for p in people(services, room)}, "who knocked first"
        assert len(services.conferences.snapshot(room)["lobby"]) == 1
        await host.press("*22")
        # The host first hears the prompts the first admission set off, in real time;
        # a loaded machine stretches them past the default ten seconds.
        await eventually(lambda: len(people(services, room)) == 3, 20)
        assert not services.conferences.snapshot(room)["lobby"]
        await asyncio.sleep(2.5)
        said.clear()
        await host.press("*22")  # nobody waits now: the moderator is told so
        await eventually(lambda: ("nobody_waiting",) in said, 5)
    finally:
        await host.hangup()
        for guest in guests:
            await guest.hangup()


async def test_a_rooms_own_number_greets_the_caller_after_the_pin(
    phone: PhoneStack, room: Room, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = prompts_said(phone, monkeypatch)
    caller = Softphone(phone.ua.port)
    try:
        await caller.dial(room.conference_number)
        await eventually(lambda: ("enter_pin",) in said, 5)
        await caller.press(f"{room.pin}#")
        await eventually(lambda: ("welcome",) in said, 5)
        assert said.index(("welcome",)) > said.index(("enter_pin",))
        assert rms(await caller.listen(1.0)) > 300, "the welcome is spoken"
        await caller.press("#")
        await eventually(lambda: len(people(services, room)) == 1)
    finally:
        await caller.hangup()


async def test_a_caller_behind_nat_is_latched_heard_and_hears(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    """Issue 13: its SDP names a private address (192.0.2.2, what a phone behind NAT
    without STUN sends) while its RTP comes from where its SIP came from. Its PIN digits
    arrive (the leg latches to the first packet from the SIP peer's host) and it hears
    the room (we answer where its packets come from, not the SDP address)."""
    a = await join(phone, room, room.pin, services, sdp_ip="192.0.2.2")
    b = await join(phone, room, room.pin, services)
    try:
        a.start_tone(1000)
        b.start_tone(600)
        await asyncio.sleep(3)
        assert await b.hears(1000)
        assert await a.hears(600)
    finally:
        await a.hangup()
        await b.hangup()
    await eventually(lambda: not people(services, room))


async def test_wideband_callers_on_g722_and_opus_mix_with_a_g711_caller(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    """Issue 13 deliver 3: a phone offering only G.722, one offering only Opus and a
    G.711 phone are answered in their codec and hear each other; what the G.722 caller
    says at 6 kHz reaches the Opus caller (wideband end to end) and not the G.711 one."""
    callers = [Softphone(phone.ua.port, codec=c) for c in ("G722", "OPUS", "PCMU")]

    async def dial_in(caller: Softphone) -> str:
        call = await caller.dial("5000")
        assert call.state == "confirmed"
        await caller.press(f"1{room.conference_number}#{room.pin}##")
        return caller.codec.name

    try:
        codecs = await asyncio.gather(*(dial_in(c) for c in callers))
        assert codecs == ["G722", "OPUS", "PCMU"], "each answered in the codec it offered"
        await eventually(
            lambda: len(people(services, room)) == 3,
            explain=lambda: where_calls_are(phone, *callers),
        )
        wide, opus, narrow = callers
        wide.start_tone(1000)
        narrow.start_tone(600)
        await asyncio.sleep(3)  # the count prompt ends
        heard = await asyncio.gather(narrow.hears(1000), wide.hears(600))
        assert heard == [True, True], "G.722 heard by G.711 and the other way round"
        await narrow.stop_tone()
        await wide.stop_tone()
        wide.start_tone(6000)
        await asyncio.sleep(0.5)
        opus_hears, narrow_audio = await asyncio.gather(opus.hears(6000), narrow.listen(1.0))
        assert opus_hears, "6 kHz from G.722 through the mix to Opus"
        assert rms(narrow_audio) < 300, "G.711 stops at 3.4 kHz"
    finally:
        for caller in callers:
            await caller.hangup()
    await eventually(lambda: not people(services, room))
