"""The conference as browser users notice it, through the real socket and real WebRTC:
who may moderate (F-WB5), muting and removing, ending (F-EN1..F-EN4), the lobby (F-EN5),
leaving and coming back (F-EN6, F-EN7), the room's chat (F-EN8), bad input, and a phone
caller in the same room as the browsers."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import websockets
from websockets.typing import Origin

from confero.app.services import Services
from confero.domain.rooms import Room
from confero.media.tone import goertzel_power, rms
from tests.phone.support import eventually, people
from tests.phone.support import join as dial_in
from tests.webrtc.support import Browser, Served

_refs = itertools.count(1)


# ------------------------------------------------------------------ helpers
async def host_cookie(services: Services) -> str:
    """The session cookie of the room's owner (the `room` fixture's account)."""
    owner = await services.accounts.by_email("host@example.org")
    assert owner is not None
    token = await services.accounts.issue_token(owner, "session")
    return f"confero_session={token}"


async def enter(
    served: Served,
    room: Room,
    browsers: list[Browser],
    name: str,
    *,
    cookie: str | None = None,
    tone_hz: float | None = None,
) -> Browser:
    """A page that opens the socket, joins, and publishes its microphone."""
    b = Browser(served.ws_url(room), cookie=cookie)
    browsers.append(b)
    await b.connect()
    await b.join(name)
    await b.publish(tone_hz=tone_hz)
    return b


async def opened(served: Served, room: Room, browsers: list[Browser]) -> Browser:
    """A page that only opened the socket (the prejoin page)."""
    b = Browser(served.ws_url(room))
    browsers.append(b)
    await b.connect()
    return b


async def answer(b: Browser, ref: str, within: float = 5) -> dict[str, Any]:
    """The message that answers the one sent with ``ref``."""
    found: list[dict[str, Any]] = []

    def answered() -> bool:
        for msg in b.messages:
            if msg.get("ref") == ref and msg["type"] != "event":
                b.messages.remove(msg)
                found.append(msg)
                return True
        return False

    await eventually(answered, within)
    return found[0]


async def seen(b: Browser, event: str, within: float = 10, **fields: Any) -> dict[str, Any]:
    """The first event of that name whose fields, or whose participant's fields, match."""
    found: list[dict[str, Any]] = []

    def matches(msg: dict[str, Any]) -> bool:
        if msg["type"] != "event" or msg["event"] != event:
            return False
        about = msg.get("participant") or {}
        return all(msg.get(k, about.get(k)) == v for k, v in fields.items())

    def arrived() -> bool:
        for msg in b.messages:
            if matches(msg):
                b.messages.remove(msg)
                found.append(msg)
                return True
        return False

    await eventually(arrived, within)
    return found[0]


async def command(b: Browser, name: str, **fields: Any) -> dict[str, Any]:
    ref = f"{name}-{next(_refs)}"
    await b.send(type="command", command=name, ref=ref, **fields)
    return await answer(b, ref)


def ok(reply: dict[str, Any]) -> bool:
    return reply["type"] == "result" and reply.get("ok") is True


async def settled(*pages: Browser) -> None:
    """Everything queued for these pages until now has arrived (each outbox is FIFO)."""
    for b in pages:
        ref = f"sync-{next(_refs)}"
        await b.send(type="ping", ref=ref)
        await b.expect("pong", ref=ref)


def got(b: Browser, event: str, **fields: Any) -> list[dict[str, Any]]:
    """Events of that name this page received and no test step has consumed."""
    return [
        m
        for m in b.messages
        if m["type"] == "event"
        and m["event"] == event
        and all(m.get(k) == v for k, v in fields.items())
    ]


def hearing(b: Browser, hz: float) -> bool:
    """The tone is a good part of what the page heard over the last 0.6 s, beside other
    voices (``Heard.has_tone`` wants it alone: two tones are each other's noise)."""
    audio = b.heard.recent()
    level = rms(audio)
    return audio.size >= 9600 and level > 200 and goertzel_power(audio, 48_000, hz) > 0.1 * level**2


async def hears(b: Browser, hz: float, within: float = 15) -> None:
    """The page hears the tone, in audio that arrived after this call."""
    mark = b.heard.frames
    await eventually(lambda: b.heard.frames >= mark + 30 and hearing(b, hz), within)


async def stops_hearing(b: Browser, hz: float, within: float = 5) -> None:
    mark = b.heard.frames
    await eventually(lambda: b.heard.frames >= mark + 30 and not hearing(b, hz), within)


def legs(served: Served, room: Room) -> set[str]:
    return set(served.node.engine.legs_in(room.id))


async def republish(b: Browser, tone_hz: float | None = None) -> None:
    """After a rejoin the page makes a new publish connection, as the real page does."""
    if b.pc is not None:
        await b.pc.close()
    await b.publish(tone_hz=tone_hz)


# ------------------------------------------------------------------ moderation
async def test_a_guest_cannot_moderate_and_nothing_changes(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    ann = await enter(served, room, browsers, "Ann", tone_hz=600)
    bob = await enter(served, room, browsers, "Bob")
    assert bob.welcome is not None and bob.welcome["role"] == "participant"
    await hears(bob, 600)

    attempts: list[tuple[str, dict[str, Any]]] = [
        ("mute", {"target": ann.pid}),
        ("unmute", {"target": ann.pid}),
        ("kick", {"target": ann.pid}),
        ("lock", {}),
        ("mute_all", {}),
        ("end_for_all", {}),
        ("end_for_all_but_me", {}),
        ("reset", {"confirm": True}),
    ]
    for name, fields in attempts:
        reply = await command(bob, name, **fields)
        assert reply["type"] == "error", (name, reply)
        assert reply["code"] == "conference.moderator_only", (name, reply)

    await settled(ann, bob)
    for page in (ann, bob):
        for event in ("mute_changed", "participant_left", "lock_changed", "conference_ended"):
            assert not got(page, event), f"{event} after a refused command"
    snap = served.services.conferences.snapshot(room)
    assert snap["running"] is True and snap["locked"] is False
    assert [(p["display_name"], p["muted"]) for p in snap["participants"]] == [
        ("Ann", False),
        ("Bob", False),
    ]
    assert legs(served, room) == {ann.pid, bob.pid}
    await hears(bob, 600)  # Ann is still heard
    assert ok(await command(bob, "raise_hand")), "a guest's own commands still work"


async def test_the_host_mutes_one_guest_and_removes_another(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    host = await enter(served, room, browsers, "Host", cookie=await host_cookie(served.services))
    assert host.welcome is not None and host.welcome["role"] == "moderator"
    ann = await enter(served, room, browsers, "Ann", tone_hz=600)
    bob = await enter(served, room, browsers, "Bob", tone_hz=1000)
    assert ann.welcome is not None and ann.welcome["role"] == "participant"
    await hears(host, 600)
    await hears(host, 1000)

    assert ok(await command(host, "mute", target=ann.pid))
    for page in (host, ann, bob):
        changed = await page.event("mute_changed", participant_id=ann.pid)
        assert changed["muted"] is True and changed["by"] == host.pid
    await stops_hearing(host, 600)
    await stops_hearing(bob, 600)
    assert hearing(host, 1000), "only Ann was muted"

    assert ok(await command(host, "kick", target=bob.pid))
    removed = await bob.event("participant_left", participant_id=bob.pid)
    assert removed["reason"] == "kicked" and removed["by"] == host.pid
    for page in (host, ann):
        await page.event("participant_left", participant_id=bob.pid, reason="kicked")
    await eventually(lambda: legs(served, room) == {host.pid, ann.pid}, 5)
    await stops_hearing(host, 1000)
    # Bob's page stays open (chat, the "removed" screen) but he is out of the meeting.
    reply = await command(bob, "raise_hand")
    assert reply["type"] == "error" and reply["code"] == "conference.not_joined"
    names = [p["display_name"] for p in people(served.services, room)]
    assert names == ["Host", "Ann"]


# ------------------------------------------------------------------ ending
async def test_end_for_all_ends_everyones_media_and_the_next_join_starts_anew(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    waiting = await opened(served, room, browsers)  # the prejoin page of someone
    host = await enter(served, room, browsers, "Host", cookie=await host_cookie(served.services))
    started = await waiting.event("conference_started")
    ann = await enter(served, room, browsers, "Ann", tone_hz=600)
    bob = await enter(served, room, browsers, "Bob", tone_hz=1000)
    await hears(host, 600)
    old = host.welcome["state"]["conference_id"] if host.welcome else None
    assert started["conference_id"] == old

    assert ok(await command(host, "end_for_all"))
    for page in (host, ann, bob, waiting):
        ended = await page.event("conference_ended")
        assert ended["reason"] == "ended_by_host" and ended["by"] == host.pid
    await eventually(lambda: served.node.engine.leg_count() == 0, 5)
    assert served.services.conferences.snapshot(room)["running"] is False
    reply = await command(ann, "raise_hand")
    assert reply["code"] == "conference.not_joined"

    # The pages stay open; joining again starts a new conference.
    welcome = await ann.join("Ann")
    assert welcome["state"]["conference_id"] != old
    assert [p["display_name"] for p in welcome["state"]["participants"]] == ["Ann"]
    assert welcome["role"] == "participant"
    await republish(ann, tone_hz=600)
    await bob.join("Bob")
    await republish(bob)
    await hears(bob, 600)


async def test_a_locked_room_stays_locked_after_end_for_all(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    """F-EN2: coming back to a locked room means knocking, even on a page opened
    before the room was locked."""
    host = await enter(served, room, browsers, "Host", cookie=await host_cookie(served.services))
    ann = await enter(served, room, browsers, "Ann")
    assert ok(await command(host, "lock"))
    await ann.event("lock_changed", locked=True)
    assert ok(await command(host, "end_for_all"))
    await ann.event("conference_ended")
    await eventually(lambda: served.node.engine.leg_count() == 0, 5)

    await ann.send(type="join", name="Ann")
    await ann.expect("lobby")
    assert not people(served.services, room), "Ann waits in the lobby"
    # the host comes back without knocking and lets her in
    welcome = await host.join("Host")
    assert welcome["role"] == "moderator"
    assert [k["display_name"] for k in welcome["state"]["lobby"]] == ["Ann"]
    lobby_id = welcome["state"]["lobby"][0]["id"]
    assert ok(await command(host, "admit", target=lobby_id))
    welcome = await ann.expect("welcome")
    assert welcome["participant_id"] == lobby_id


async def test_end_for_all_but_me_keeps_the_host_in_a_running_conference(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    host = await enter(served, room, browsers, "Host", cookie=await host_cookie(served.services))
    ann = await enter(served, room, browsers, "Ann", tone_hz=600)
    bob = await enter(served, room, browsers, "Bob", tone_hz=1000)
    await hears(host, 600)

    assert ok(await command(host, "end_for_all_but_me"))
    for page in (ann, bob):
        removed = await page.event("participant_left", participant_id=page.pid)
        assert removed["reason"] == "removed_by_host"
        await host.event("participant_left", participant_id=page.pid, reason="removed_by_host")
    await eventually(lambda: legs(served, room) == {host.pid}, 5)
    await settled(host)
    assert not got(host, "conference_ended")
    await stops_hearing(host, 600)
    assert not hearing(host, 1000)

    # The host is still in a running conference: newcomers join it and are heard.
    carol = await enter(served, room, browsers, "Carol", tone_hz=800)
    await seen(host, "participant_joined", id=carol.pid)
    assert carol.welcome is not None
    assert [p["display_name"] for p in carol.welcome["state"]["participants"]] == [
        "Host",
        "Carol",
    ]
    await hears(host, 800)


# ------------------------------------------------------------------ lobby
async def test_a_locked_room_lets_knockers_wait_until_admitted_or_denied(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    host = await enter(served, room, browsers, "Host", cookie=await host_cookie(served.services))
    ann = await enter(served, room, browsers, "Ann", tone_hz=600)
    assert ok(await command(host, "lock"))
    for page in (host, ann):
        await page.event("lock_changed", locked=True)

    carol = await opened(served, room, browsers)
    await carol.send(type="join", name="Carol")
    lobby = await carol.expect("lobby")
    knocked = await host.event("knocked", lobby_id=lobby["lobby_id"])
    assert knocked["display_name"] == "Carol" and knocked["channel"] == "browser"
    assert lobby["lobby_id"] not in legs(served, room), "no media while waiting"
    await settled(ann)
    assert not got(ann, "knocked"), "only moderators see who knocks"

    assert ok(await command(host, "admit", target=lobby["lobby_id"]))
    welcome = await carol.expect("welcome")
    assert welcome["participant_id"] == lobby["lobby_id"]
    assert welcome["role"] == "participant"
    await carol.publish()
    await hears(carol, 600)

    dave = await opened(served, room, browsers)
    await dave.send(type="join", name="Dave")
    dave_lobby = await dave.expect("lobby")
    await host.event("knocked", lobby_id=dave_lobby["lobby_id"])
    assert ok(await command(host, "deny", target=dave_lobby["lobby_id"]))
    await dave.expect("denied")
    reply = await command(dave, "raise_hand")
    assert reply["code"] == "conference.not_joined"
    assert [p["display_name"] for p in people(served.services, room)] == ["Host", "Ann", "Carol"]
    assert served.services.conferences.snapshot(room)["lobby"] == []


# ------------------------------------------------------------------ drops
async def test_a_dropped_page_comes_back_as_itself_within_the_grace_period(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    host = await enter(served, room, browsers, "Host", cookie=await host_cookie(served.services))
    ann = await enter(served, room, browsers, "Ann", tone_hz=600)
    bob = await enter(served, room, browsers, "Bob", tone_hz=1000)
    await hears(host, 600)
    assert ann.welcome is not None and host.welcome is not None
    await settled(bob)
    bob.messages.clear()  # from here on Bob, who stays, must see nobody come or go

    await ann.close()  # the tab closes (or the network goes): no leave
    await stops_hearing(bob, 600)
    again = await opened(served, room, browsers)
    welcome = await again.join("Ann", resume=ann.welcome["resume"])
    assert welcome["participant_id"] == ann.pid and welcome["role"] == "participant"
    await again.publish(tone_hz=600)
    await hears(bob, 600)
    await hears(again, 1000)

    # The host, too, and without the cookie: the resume token is who she is.
    await host.close()
    back = await opened(served, room, browsers)
    welcome = await back.join("Host", resume=host.welcome["resume"])
    assert welcome["participant_id"] == host.pid and welcome["role"] == "moderator"
    await back.publish()
    await hears(back, 600)
    assert ok(await command(back, "lock")), "still the moderator"
    await bob.event("lock_changed", locked=True)

    await settled(bob)
    assert not got(bob, "participant_left"), "nobody saw anyone leave"
    assert not got(bob, "participant_joined"), "nor come back"
    names = [p["display_name"] for p in people(served.services, room)]
    assert names == ["Host", "Ann", "Bob"]
    assert legs(served, room) == {host.pid, ann.pid, bob.pid}


async def test_after_the_grace_period_a_dropped_page_is_gone_and_rejoins_with_its_role(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    cookie = await host_cookie(served.services)
    host = await enter(served, room, browsers, "Host", cookie=cookie)
    ann = await enter(served, room, browsers, "Ann", tone_hz=600)
    bob = await enter(served, room, browsers, "Bob", tone_hz=1000)
    assert ann.welcome is not None and host.welcome is not None
    assert ok(await command(host, "lock"))

    await ann.close()
    gone = await host.event("participant_left", participant_id=ann.pid, within=5)
    assert gone["reason"] == "dropped"
    await bob.event("participant_left", participant_id=ann.pid, reason="dropped")
    assert ann.pid not in legs(served, room)
    again = await opened(served, room, browsers)
    welcome = await again.join("Ann", resume=ann.welcome["resume"])
    assert welcome["participant_id"] == ann.pid, "the same participant (issue 16)"
    assert welcome["role"] == "participant"
    # the same id as her first join: the rejoin is the event that says so
    joined = await seen(host, "participant_joined", id=again.pid, rejoined=True)
    assert joined["rejoined"] is True
    # she did not knock on the locked room; a stranger does
    stranger = await opened(served, room, browsers)
    await stranger.send(type="join", name="Eve")
    await stranger.expect("lobby")

    await host.close()
    await bob.event("participant_left", participant_id=host.pid, reason="dropped", within=5)
    back = Browser(served.ws_url(room), cookie=cookie)
    browsers.append(back)
    await back.connect()
    welcome = await back.join("Host", resume=host.welcome["resume"])
    assert welcome["participant_id"] == host.pid and welcome["role"] == "moderator"
    assert [k["display_name"] for k in welcome["state"]["lobby"]] == ["Eve"]
    await back.publish()
    await hears(back, 1000)


async def test_the_host_leaves_and_comes_back_while_the_others_stay(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    host = await enter(served, room, browsers, "Host", cookie=await host_cookie(served.services))
    ann = await enter(served, room, browsers, "Ann", tone_hz=600)
    bob = await enter(served, room, browsers, "Bob", tone_hz=1000)
    await hears(host, 600)
    first = host.pid

    await host.send(type="leave", ref="bye")
    await host.expect("left", ref="bye")
    for page in (ann, bob):
        left = await page.event("participant_left", participant_id=first)
        assert left["reason"] == "left"
    await settled(ann, bob)
    for page in (ann, bob):
        assert not got(page, "participant_left"), "only the host left"
        assert not got(page, "conference_ended")
    assert legs(served, room) == {ann.pid, bob.pid}
    assert served.services.conferences.snapshot(room)["running"] is True
    await hears(bob, 600)
    await hears(ann, 1000)

    welcome = await host.join("Host")
    assert welcome["role"] == "moderator"
    assert [p["display_name"] for p in welcome["state"]["participants"]] == [
        "Ann",
        "Bob",
        "Host",
    ]
    joined = await seen(ann, "participant_joined", id=host.pid)
    assert joined["rejoined"] is True
    await republish(host)
    await hears(host, 600)
    await hears(host, 1000)
    assert ok(await command(host, "mute", target=bob.pid))


async def test_a_guest_who_left_a_locked_room_comes_back_without_knocking(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    """Left or dropped, one rejoins at once (conference.py); the page keeps its token."""
    host = await enter(served, room, browsers, "Host", cookie=await host_cookie(served.services))
    ann = await enter(served, room, browsers, "Ann")
    assert ann.welcome is not None
    assert ok(await command(host, "lock"))
    await ann.send(type="leave")
    await ann.expect("left")
    await host.event("participant_left", participant_id=ann.pid, reason="left")

    welcome = await ann.join("Ann", resume=ann.welcome["resume"])
    assert welcome["role"] == "participant"
    assert welcome["participant_id"] == ann.pid, "the same participant (issue 16)"
    joined = await seen(host, "participant_joined", id=ann.pid, rejoined=True)
    assert joined["rejoined"] is True


# ------------------------------------------------------------------ chat
async def test_chat_works_without_a_conference_and_pages_back(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    ann = Browser(served.ws_url(room))
    bob = Browser(served.ws_url(room))
    browsers += [ann, bob]
    hello = await ann.connect()
    assert hello["chat"] == {"messages": [], "next_before": None}
    await bob.connect()

    await ann.send(type="chat", text="Shall we start at ten?", ref="c0")
    reply = await answer(ann, "c0")
    assert reply["code"] == "auth.name_required", "a guest who has not joined gives a name"
    await ann.send(type="chat", text="Shall we start at ten?", name="Ann", ref="c1")
    assert ok(await answer(ann, "c1"))
    for page in (ann, bob):
        posted = await page.event("chat_posted")
        assert posted["author_name"] == "Ann" and posted["text"] == "Shall we start at ten?"
    assert served.services.conferences.snapshot(room)["running"] is False

    for i in range(2, 12):
        await bob.send(type="chat", text=f"message {i}", name="Bob", ref=f"c{i}")
    await answer(bob, "c11")
    await bob.send(type="chat", text="flood", name="Bob", ref="flood")
    refused = await answer(bob, "flood")
    assert refused["code"] == "chat.rate_limited" and refused["retry_after"] >= 1
    for i in range(12, 61):  # the rest as if posted over time (the REST API)
        await served.services.rooms.post_chat(room, "Bob", f"message {i}")
    await eventually(lambda: len(got(ann, "chat_posted")) == 59, 5)

    fresh = Browser(served.ws_url(room))
    browsers.append(fresh)
    page = (await fresh.connect())["chat"]
    assert len(page["messages"]) == 50
    assert page["messages"][0]["text"] == "message 60", "newest first"
    assert page["next_before"] == page["messages"][-1]["id"]
    await fresh.send(type="chat_history", before=page["next_before"], ref="older")
    older = await fresh.expect("chat_page", ref="older")
    assert len(older["messages"]) == 10 and older["next_before"] is None
    assert older["messages"][-1]["text"] == "Shall we start at ten?"
    ids = [m["id"] for m in page["messages"] + older["messages"]]
    assert ids == sorted(set(ids), reverse=True), "no message twice, none missing order"


async def test_reset_asks_for_confirmation_then_empties_the_chat(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    ann = await opened(served, room, browsers)
    await ann.send(type="chat", text="see you", name="Ann", ref="c1")
    assert ok(await answer(ann, "c1"))
    host = Browser(served.ws_url(room), cookie=await host_cookie(served.services))
    browsers.append(host)
    await host.connect()
    await host.join("Host")

    reply = await command(host, "reset")
    assert reply["code"] == "command.confirmation_required"
    assert served.services.conferences.snapshot(room)["running"] is True

    assert ok(await command(host, "reset", confirm=True))
    ended = await host.event("conference_ended")
    assert ended["reason"] == "reset"
    for page in (host, ann):
        await page.event("room_content_reset")
    await ann.send(type="hello")
    hello = await ann.expect("room")
    assert hello["chat"] == {"messages": [], "next_before": None}
    assert hello["room"]["running"] is False


# ------------------------------------------------------------------ bad input
async def test_bad_messages_get_an_error_and_the_socket_keeps_working(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    b = await opened(served, room, browsers)

    async def still_works() -> None:
        ref = f"p{next(_refs)}"
        await b.send(type="ping", ref=ref)
        await b.expect("pong", ref=ref)

    big = json.dumps({"v": 1, "type": "chat", "text": "x" * (64 * 1024), "name": "A"})
    cases: list[tuple[str, str]] = [
        (big, "signaling.too_large"),
        ("{not json", "signaling.invalid_json"),
        ("[1, 2]", "signaling.invalid"),
        (json.dumps({"v": 2, "type": "ping", "ref": "r"}), "signaling.version"),
        (json.dumps({"type": "ping", "ref": "r"}), "signaling.version"),
        (json.dumps({"v": 1, "type": "dance", "ref": "r"}), "signaling.unknown_type"),
        (json.dumps({"v": 1, "type": "join", "name": 7, "ref": "r"}), "signaling.invalid"),
        (
            json.dumps({"v": 1, "type": "command", "command": "mute", "ref": "r"}),
            "conference.not_joined",
        ),
        (json.dumps({"v": 1, "type": "offer", "sdp": "v=0", "ref": "r"}), "conference.not_joined"),
        (json.dumps({"v": 1, "type": "leave", "ref": "r"}), "conference.not_joined"),
    ]
    for text, code in cases:
        await b.ws.send(text)
        error = await b.expect("error")
        assert error["code"] == code, (text[:60], error)
        assert isinstance(error["detail"], str) and error["detail"]
        if code != "signaling.too_large" and '"ref"' in text:
            assert error["ref"] == "r", "the answer names the message it answers"
        await still_works()
    assert served.services.conferences.snapshot(room)["running"] is False

    await b.join("Ann")
    joined_cases: list[tuple[dict[str, Any], str]] = [
        ({"type": "offer", "sdp": "v=0\r\nnonsense\r\n"}, "signaling.media"),
        ({"type": "command", "command": "self_destruct"}, "command.unknown"),
        ({"type": "command", "command": "kick", "target": "nobody"}, "conference.moderator_only"),
        ({"type": "subscribe_answer", "stream_id": "nope", "sdp": "v=0"}, "signaling.media"),
        ({"type": "join", "name": "Ann"}, "conference.already_joined"),
    ]
    for message, code in joined_cases:
        ref = f"j{next(_refs)}"
        await b.send(ref=ref, **message)
        error = await answer(b, ref)
        assert error["type"] == "error" and error["code"] == code, (message, error)
        await still_works()
    # after all that, the page still publishes and is in the conference
    await b.publish()
    assert legs(served, room) == {b.pid}
    assert [p["display_name"] for p in people(served.services, room)] == ["Ann"]


async def test_sockets_to_unknown_rooms_or_from_other_sites_are_closed_with_a_code(
    served: Served, room: Room
) -> None:
    base = served.base_url.replace("http", "ws", 1)

    async def close_code(url: str, **options: Any) -> int | None:
        async with websockets.connect(url, **options) as ws:
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd is not None else None
        return None

    assert await close_code(f"{base}/ws/v1/join/no-such-invite") == 4404
    assert await close_code(served.ws_url(room), origin=Origin("http://evil.example")) == 4403
    ours = served.base_url.replace("http://", "")
    async with websockets.connect(served.ws_url(room), origin=Origin(f"http://{ours}")) as ws:
        await ws.send(json.dumps({"v": 1, "type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"


# ------------------------------------------------------------------ phone + browser
async def test_a_phone_caller_and_a_browser_hear_each_other(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    phone = served.node.phone
    assert phone is not None
    host = await enter(
        served, room, browsers, "Host", cookie=await host_cookie(served.services), tone_hz=1000
    )
    caller = await dial_in(phone, room, room.pin, served.services)
    try:
        joined = await seen(host, "participant_joined", channel="phone")
        caller_id = joined["participant"]["id"]
        assert joined["participant"]["role"] == "participant"
        ann = await opened(served, room, browsers)
        welcome = await ann.join("Ann")
        channels = {p["display_name"]: p["channel"] for p in welcome["state"]["participants"]}
        assert channels["Host"] == "browser" and "phone" in channels.values()

        caller.start_tone(600)
        await hears(host, 600)
        await eventually(lambda: caller.hears(1000, 0.5), 15)

        # F-WB5: the moderator in the browser mutes and removes the caller.
        assert ok(await command(host, "mute", target=caller_id))
        await host.event("mute_changed", participant_id=caller_id)
        await stops_hearing(host, 600)
        assert ok(await command(host, "kick", target=caller_id))
        await host.event("participant_left", participant_id=caller_id, reason="kicked")
        assert caller.call is not None
        await asyncio.wait_for(caller.call.ended.wait(), 10)
        await eventually(lambda: len(legs(served, room)) == 2, 5)
    finally:
        await caller.hangup()
