"""The people socket ``/ws/v1/people`` (docs/SIGNALING.md, People) over real WebSockets
against a served node (uvicorn, the browser gateway, the phone stack): who may open it,
bad messages, presence that follows pings and sign-out, and a call from ring to hang-up
with scripted meeting pages (F-WB3, F-WB4)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Origin

from confero.app.services import Services
from confero.config import Settings
from confero.domain.accounts import Account
from confero.domain.rooms import Room
from confero.web import people_socket
from confero.web.people_socket import MAX_MESSAGE, NOT_SIGNED_IN, PING_TIMEOUT
from confero.web.ws import FOREIGN_ORIGIN
from tests.webrtc import support
from tests.webrtc.support import Browser, Served

#: The node on uvicorn and the scripted meeting pages of the browser tests.
served = support.served
browsers = support.browsers

PASSWORD = "correct horse battery staple"
PING, TIMEOUT, RING = 0.3, 1.5, 3.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        http_port=8080,
        presence_ping=PING,
        presence_timeout=TIMEOUT,
        ring_timeout=RING,
    )


def ws_base(served: Served) -> str:
    return served.base_url.replace("http", "ws", 1)


async def session_cookie(services: Services, account: Account) -> str:
    token = await services.accounts.issue_token(account, "session")
    return f"confero_session={token}"


@dataclass
class PeoplePage:
    """A page's people socket, as people.js holds one: it pings unless told not to."""

    ws: Any
    messages: list[dict[str, Any]] = field(default_factory=list)
    closed_with: int | None = None
    pinging: bool = True
    _waiters: list[tuple[Any, asyncio.Future[dict[str, Any]]]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def open(cls, served: Served, cookie: str | None, **options: Any) -> PeoplePage:
        headers = {"Cookie": cookie} if cookie else None
        ws = await websockets.connect(
            f"{ws_base(served)}/ws/v1/people", additional_headers=headers, **options
        )
        page = cls(ws)
        page._tasks = [asyncio.create_task(page._read()), asyncio.create_task(page._ping())]
        return page

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                msg = json.loads(text)
                assert msg["v"] == 1
                self.messages.append(msg)
                for match, fut in list(self._waiters):
                    if not fut.done() and match(msg):
                        fut.set_result(msg)
        except websockets.ConnectionClosed:
            pass
        self.closed_with = self.ws.close_code

    async def _ping(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(PING)
                if self.pinging:
                    await self.send(type="ping")

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps({"v": 1, **message}))

    async def expect(self, type_: str, within: float = 5, **fields: Any) -> dict[str, Any]:
        def match(msg: dict[str, Any]) -> bool:
            return msg["type"] == type_ and all(msg.get(k) == v for k, v in fields.items())

        for msg in self.messages:
            if match(msg):
                self.messages.remove(msg)
                return msg
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((match, fut))
        try:
            msg = await asyncio.wait_for(fut, within)
        finally:
            self._waiters = [w for w in self._waiters if w[1] is not fut]
        self.messages.remove(msg)
        return msg

    async def closed(self, within: float = 5) -> int | None:
        await asyncio.wait_for(asyncio.shield(self._tasks[0]), within)
        return self.closed_with

    async def close(self) -> None:
        await self.ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@pytest.fixture
async def pages() -> Any:
    made: list[PeoplePage] = []
    yield made
    for page in made:
        await page.close()


@dataclass
class People:
    ann: Account
    bob: Account
    cid: Account


@pytest.fixture
async def people(services: Services) -> People:
    """Ann and Bob added each other; Cid is nobody's contact."""
    ann, bob, cid = [
        await services.accounts.create(f"{n}@example.org", PASSWORD, n.title())
        for n in ("ann", "bob", "cid")
    ]
    await services.contacts.add(ann, bob.id)
    await services.contacts.add(bob, ann.id)
    return People(ann, bob, cid)


async def open_as(
    served: Served, pages: list[PeoplePage], account: Account, cookie: str | None = None
) -> PeoplePage:
    page = await PeoplePage.open(served, cookie or await session_cookie(served.services, account))
    pages.append(page)
    await page.expect("welcome")
    return page


# ------------------------------------------------------------------ refusals
async def test_guests_and_other_sites_are_refused_with_a_code(
    served: Served, people: People, pages: list[PeoplePage]
) -> None:
    guest = await PeoplePage.open(served, None)
    pages.append(guest)
    assert await guest.closed() == NOT_SIGNED_IN
    stale = await PeoplePage.open(served, "confero_session=not-a-session")
    pages.append(stale)
    assert await stale.closed() == NOT_SIGNED_IN
    cookie = await session_cookie(served.services, people.ann)
    foreign = await PeoplePage.open(served, cookie, origin=Origin("http://evil.example"))
    pages.append(foreign)
    assert await foreign.closed() == FOREIGN_ORIGIN
    ours = served.base_url.replace("http://", "")
    own = await PeoplePage.open(served, cookie, origin=Origin(f"http://{ours}"))
    pages.append(own)
    welcome = await own.expect("welcome")
    assert welcome["account_id"] == people.ann.id and welcome["ping"] == PING


async def test_one_account_holds_a_bounded_number_of_people_sockets(
    served: Served, people: People, pages: list[PeoplePage], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: sockets are cheap to open; one account gets ``MAX_PAGES`` of them."""
    monkeypatch.setattr(people_socket, "MAX_PAGES", 3)
    cookie = await session_cookie(served.services, people.ann)
    tabs = [await PeoplePage.open(served, cookie) for _ in range(3)]
    pages.extend(tabs)
    for tab in tabs:
        await tab.expect("welcome")
    over = await PeoplePage.open(served, cookie)
    pages.append(over)
    assert (await over.expect("error"))["code"] == "socket.too_many"
    assert await over.closed() == people_socket.TOO_MANY
    other = await PeoplePage.open(served, await session_cookie(served.services, people.bob))
    pages.append(other)
    await other.expect("welcome")  # another account is not affected
    await tabs[0].close()
    for _ in range(50):  # the server sees the closed tab a moment later
        again = await PeoplePage.open(served, cookie)
        pages.append(again)
        async with asyncio.timeout(5):
            while not again.messages:  # noqa: ASYNC110 (either welcome or error)
                await asyncio.sleep(0.02)
        if again.messages[0]["type"] == "welcome":
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("a closed tab's place is never given back")


async def test_bad_messages_get_an_error_and_change_nothing(
    served: Served, people: People, pages: list[PeoplePage]
) -> None:
    ann = await open_as(served, pages, people.ann)
    cases: list[tuple[str, str]] = [
        ("not json", "signaling.invalid_json"),
        ("[1, 2]", "signaling.invalid"),
        (json.dumps({"v": 2, "type": "ping", "ref": "r1"}), "signaling.version"),
        (json.dumps({"v": 1, "type": "dance", "ref": "r2"}), "signaling.unknown_type"),
        (json.dumps({"v": 1, "type": "call", "ref": "r3"}), "signaling.invalid"),
        (json.dumps({"v": 1, "type": "call", "account_id": 5, "ref": "r4"}), "signaling.invalid"),
        (
            json.dumps({"v": 1, "type": "ping", "extra": True, "ref": "r5"}),
            "signaling.invalid",
        ),
        (json.dumps({"v": 1, "type": "call", "account_id": "x" * 65}), "signaling.invalid"),
        (json.dumps({"v": 1, "type": "ping", "pad": "x" * MAX_MESSAGE}), "signaling.too_large"),
        (json.dumps({"v": 1, "type": "call", "account_id": people.cid.id}), "call.not_a_contact"),
        (json.dumps({"v": 1, "type": "call", "account_id": people.bob.id}), "call.unavailable"),
        (json.dumps({"v": 1, "type": "call_accept", "call_id": "nope"}), "call.not_found"),
        (json.dumps({"v": 1, "type": "gather", "room_id": "nope"}), "room.not_found"),
    ]
    for text, code in cases:
        await ann.ws.send(text)
        error = await ann.expect("error")
        assert error["code"] == code, (text, error)
        assert error["detail"] and error["text_key"]
    await ann.send(type="ping", ref="alive")
    assert (await ann.expect("pong", ref="alive"))["ref"] == "alive"
    refs = {"r1", "r2", "r3", "r4", "r5"}
    assert not refs & {m.get("ref") for m in ann.messages}


# ------------------------------------------------------------------ presence
async def test_presence_follows_pages_pings_and_sign_out(
    served: Served, people: People, pages: list[PeoplePage]
) -> None:
    ann = await open_as(served, pages, people.ann)
    ann_welcome_contacts = await served.services.people.presence_of([people.bob.id])
    assert ann_welcome_contacts == {people.bob.id: "offline"}
    bob = await open_as(served, pages, people.bob)
    await ann.expect("presence", account_id=people.bob.id, presence="online")

    # a page that stops pinging (a dropped network) is gone within the timeout
    bob.pinging = False
    loop = asyncio.get_running_loop()
    start = loop.time()
    await ann.expect("presence", within=TIMEOUT * 3, account_id=people.bob.id, presence="offline")
    assert loop.time() - start < TIMEOUT * 2  # the timeout, a sweep, a loaded machine
    assert await bob.closed() == PING_TIMEOUT

    # signing out closes that session's pages at once
    async with httpx.AsyncClient(base_url=served.base_url) as http:
        signed_in = await http.post(
            "/api/v1/session", json={"email": "bob@example.org", "password": PASSWORD}
        )
        assert signed_in.status_code == 200
        cookie = f"confero_session={signed_in.cookies['confero_session']}"
        bob2 = await open_as(served, pages, people.bob, cookie)
        welcome_presence = await ann.expect("presence", account_id=people.bob.id)
        assert welcome_presence["presence"] == "online"
        signed_out = await http.delete("/api/v1/session", headers={"Cookie": cookie})
        assert signed_out.status_code == 204
    assert await bob2.closed() == NOT_SIGNED_IN
    await ann.expect("presence", account_id=people.bob.id, presence="offline")


async def test_a_closed_tab_is_offline_and_several_tabs_are_one(
    served: Served, people: People, pages: list[PeoplePage]
) -> None:
    ann = await open_as(served, pages, people.ann)
    tab1 = await open_as(served, pages, people.bob)
    await ann.expect("presence", account_id=people.bob.id, presence="online")
    tab2 = await open_as(served, pages, people.bob)
    await tab1.close()
    await tab2.send(type="ping", ref="p")
    await tab2.expect("pong", ref="p")
    assert await served.services.people.presence_of([people.bob.id]) == {people.bob.id: "online"}
    await tab2.close()
    await ann.expect("presence", account_id=people.bob.id, presence="offline")
    assert not ann.messages or all(m["type"] != "presence" for m in ann.messages)


# ---------------------------------------------------------------------- calls
async def test_call_accept_meet_hang_up(
    served: Served,
    people: People,
    pages: list[PeoplePage],
    browsers: list[Browser],
) -> None:
    services = served.services
    ann_cookie = await session_cookie(services, people.ann)
    bob_cookie = await session_cookie(services, people.bob)
    ann = await open_as(served, pages, people.ann, ann_cookie)
    bob1 = await open_as(served, pages, people.bob, bob_cookie)
    bob2 = await open_as(served, pages, people.bob, bob_cookie)

    await ann.send(type="call", account_id=people.bob.id, ref="c1")
    mine = await ann.expect("call_state", ref="c1")
    call = mine["call"]
    assert call["state"] == "ringing" and call["waiting"] is False
    assert call["callee"] == {"account_id": people.bob.id, "display_name": "Bob"}
    for page in (bob1, bob2):
        assert (await page.expect("ringing"))["call"]["id"] == call["id"]

    await bob1.send(type="call_accept", call_id=call["id"], ref="a1")
    accepted = (await bob1.expect("call_state", ref="a1"))["call"]
    assert accepted["state"] == "accepted" and accepted["join_url"].endswith(f"?call={call['id']}")
    for page in (ann, bob2):  # the other tab stops ringing
        assert (await page.expect("call_state"))["call"]["state"] == "accepted"
    await bob2.send(type="call_decline", call_id=call["id"], ref="late")
    assert (await bob2.expect("error", ref="late"))["code"] == "call.over"

    token = accepted["join_url"].split("/join/", 1)[1].split("?", 1)[0]
    room = await services.rooms.by_invite_token(token)
    assert room is not None and room.is_call
    url = f"{ws_base(served)}/ws/v1/join/{token}"

    # a third account (or a guest) who got hold of the link cannot join
    cid = Browser(url, cookie=await session_cookie(services, people.cid))
    guest = Browser(url)
    browsers.extend([cid, guest])
    for stranger, name in ((cid, None), (guest, "Eve")):
        await stranger.connect(hello=False)  # not even the room's name (its hello fails)
        await stranger.send(type="join", name=name, ref="j")
        assert (await stranger.expect("error", ref="j"))["code"] == "call.not_yours"

    a, b = Browser(url, cookie=ann_cookie), Browser(url, cookie=bob_cookie)
    browsers.extend([a, b])
    for meeting_page in (a, b):
        await meeting_page.connect()
        await meeting_page.join()
    await a.send(type="leave")
    ended = await b.expect("event", event="conference_ended")
    assert ended["reason"] == "call_ended"
    for page in (ann, bob1, bob2):
        state = await page.expect("call_state", within=5)
        assert state["call"]["state"] == "ended"


async def test_call_to_a_busy_account_and_no_answer(
    served: Served, people: People, pages: list[PeoplePage]
) -> None:
    ann = await open_as(served, pages, people.ann)
    bob = await open_as(served, pages, people.bob)
    room = await served.services.rooms.create(people.bob, "Bob's room")
    await served.services.conferences.join(
        room,
        display_name="Bob",
        role=room.role_for_account(people.bob.id),  # type: ignore[arg-type]
        channel="api",
        identity=f"account:{people.bob.id}",
        account_id=people.bob.id,
    )
    await ann.expect("presence", account_id=people.bob.id, presence="busy")
    await ann.send(type="call", account_id=people.bob.id, ref="c")
    call = (await ann.expect("call_state", ref="c"))["call"]
    assert call["waiting"] is True
    assert (await bob.expect("ringing"))["call"]["waiting"] is True
    loop = asyncio.get_running_loop()
    start = loop.time()
    rang_out = await ann.expect("call_state", within=RING * 3)
    assert rang_out["call"]["state"] == "busy"
    assert loop.time() - start >= RING - 0.5
    missed = await bob.expect("missed")
    assert [m["kind"] for m in missed["missed"]] == ["call"]
    await bob.send(type="missed_dismiss", id="all", ref="d")
    assert (await bob.expect("missed"))["missed"] == []
    await served.services.conferences.end_if_running(room)


async def test_gather_over_the_socket(
    served: Served, people: People, pages: list[PeoplePage]
) -> None:
    services = served.services
    room: Room = await services.rooms.create(people.ann, "Weekly sync")
    await services.rooms.set_member(people.ann, room.id, people.bob.email, "participant")
    ann = await open_as(served, pages, people.ann)
    bob = await open_as(served, pages, people.bob)
    cid = await open_as(served, pages, people.cid)
    await ann.send(type="gather", room_id=room.id, ref="g")
    assert await ann.expect("gathered", ref="g") == {
        "v": 1,
        "type": "gathered",
        "ref": "g",
        "online": 1,
        "offline": 0,
    }
    popup = await bob.expect("gathering")
    assert popup["caller_name"] == "Ann" and popup["room_name"] == "Weekly sync"
    assert popup["join_url"] == f"/join/{room.invite_token}?autojoin=1"
    await bob.send(type="gather", room_id=room.id, ref="no")
    assert (await bob.expect("error", ref="no"))["code"] == "auth.forbidden"
    await cid.send(type="ping", ref="p")
    await cid.expect("pong", ref="p")
    assert not [m for m in cid.messages if m["type"] == "gathering"]
