"""Issue 14, leaks and chat floods, as an attacker or a user notices them on a served node
(real sockets, real HTTP): guests never see account ids, the lobby is the moderators'
over REST too, a removed member keeps neither the call nor the link, a deleted room keeps
no socket, guests' chat is marked, and chat limits hold per sender across sockets and
REST and per room."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from confero.app.chat_limits import ChatLimitPolicy, ChatLimits
from confero.app.services import Services
from confero.domain.errors import DomainError
from confero.domain.rooms import Room
from tests.phone.support import eventually
from tests.web.support import User, make_user
from tests.webrtc.support import Browser, Served


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.base_url) as client:
        yield client


async def cookie(services: Services, user: User) -> str:
    account = await services.accounts.by_email(user.email)
    assert account is not None
    return f"confero_session={await services.accounts.issue_token(account, 'session')}"


async def room_of(http: httpx.AsyncClient, owner: User) -> dict[str, Any]:
    made = await http.post("/api/v1/rooms", json={"name": "Leaks"}, headers=owner.headers)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def stored(served: Served, room_id: str) -> Room:
    room = await served.services.rooms.get_by_id(room_id)
    assert room is not None
    return room


async def closed_with(b: Browser, within: float = 5) -> int | None:
    """The close code the server sent this page's socket."""
    assert b._reader is not None
    await asyncio.wait_for(asyncio.shield(b._reader), within)
    return b.ws.close_code  # type: ignore[no-any-return]


def account_ids_in(message: dict[str, Any]) -> bool:
    return '"account_id"' in json.dumps(message)


async def test_a_guest_never_sees_account_ids_and_guest_chat_is_marked(
    served: Served, http: httpx.AsyncClient, browsers: list[Browser]
) -> None:
    owner = await make_user(served.services, http, "ann@example.org", "Ann Owner")
    room = await stored(served, (await room_of(http, owner))["id"])
    guest = Browser(served.ws_url(room))
    host = Browser(served.ws_url(room), cookie=await cookie(served.services, owner))
    browsers += [guest, host]
    await guest.connect()
    welcome = await guest.join("Gina")
    assert not account_ids_in(welcome)
    await host.connect()
    host_welcome = await host.join("Ann Owner")
    mine = [p for p in host_welcome["state"]["participants"] if p["id"] == host.pid]
    assert mine[0]["account_id"] == owner.id, "the room's own people still see them"

    def host_joined() -> list[dict[str, Any]]:
        return [
            m
            for m in guest.messages
            if m.get("event") == "participant_joined"
            and m["participant"]["display_name"] == "Ann Owner"
        ]

    await eventually(lambda: bool(host_joined()), 5)
    joined = host_joined()[0]
    assert not account_ids_in(joined), "a guest learns no account id of who joins"

    await host.send(type="chat", text="welcome", ref="h1")
    from_host = await guest.event("chat_posted", text="welcome")
    assert from_host["guest"] is False and not account_ids_in(from_host)
    # A guest on the prejoin page may call herself "Ann Owner": the room sees a guest.
    poser = Browser(served.ws_url(room))
    browsers.append(poser)
    await poser.connect()
    await poser.send(type="chat", text="it is me", name="Ann Owner", ref="g1")
    posing = await host.event("chat_posted", text="it is me")
    assert posing["author_name"] == "Ann Owner" and posing["guest"] is True
    page = (await http.get(f"/api/v1/rooms/{room.id}/chat", headers=owner.headers)).json()
    assert [(m["text"], m["guest"]) for m in page["messages"]] == [
        ("it is me", True),
        ("welcome", False),
    ]
    fresh = Browser(served.ws_url(room))
    browsers.append(fresh)
    history = (await fresh.connect())["chat"]["messages"]
    assert [(m["text"], m["guest"]) for m in history] == [("it is me", True), ("welcome", False)]


async def test_the_lobby_is_shown_over_rest_to_moderators_only(
    served: Served, http: httpx.AsyncClient, browsers: list[Browser]
) -> None:
    owner = await make_user(served.services, http, "ann@example.org", "Ann Owner")
    member = await make_user(served.services, http, "bob@example.org", "Bob Member")
    made = await room_of(http, owner)
    base = f"/api/v1/rooms/{made['id']}"
    added = await http.put(
        f"{base}/members/{member.id}", json={"role": "participant"}, headers=owner.headers
    )
    assert added.status_code == 200, added.text
    joined = await http.post(
        f"{base}/conference/commands", json={"command": "join"}, headers=owner.headers
    )
    pid = joined.json()["participant_id"]
    locked = await http.post(
        f"{base}/conference/commands",
        json={"command": "lock", "participant_id": pid},
        headers=owner.headers,
    )
    assert locked.status_code == 200, locked.text
    knocker = Browser(served.ws_url(await stored(served, made["id"])))
    browsers.append(knocker)
    await knocker.connect()
    await knocker.send(type="join", name="Carol Stranger")
    await knocker.expect("lobby")

    seen_by_owner = (await http.get(f"{base}/conference", headers=owner.headers)).json()
    assert [e["display_name"] for e in seen_by_owner["lobby"]] == ["Carol Stranger"]
    seen_by_member = (await http.get(f"{base}/conference", headers=member.headers)).json()
    assert seen_by_member["running"] is True and seen_by_member["lobby"] == []


async def test_a_removed_member_loses_the_call_the_sockets_and_the_link(
    served: Served, http: httpx.AsyncClient, browsers: list[Browser]
) -> None:
    owner = await make_user(served.services, http, "ann@example.org", "Ann Owner")
    member = await make_user(served.services, http, "bob@example.org", "Bob Member")
    made = await room_of(http, owner)
    base = f"/api/v1/rooms/{made['id']}"
    await http.put(f"{base}/members/{member.id}", json={"role": "moderator"}, headers=owner.headers)
    old = await stored(served, made["id"])
    bob = Browser(served.ws_url(old), cookie=await cookie(served.services, member))
    browsers.append(bob)
    await bob.connect()
    await bob.join("Bob Member")
    assert served.services.conferences.participant(old.id, bob.pid) is not None

    removed = await http.delete(f"{base}/members/{member.id}", headers=owner.headers)
    assert removed.status_code == 200, removed.text
    assert served.services.conferences.participant(old.id, bob.pid) is None, "out of the call"
    assert await closed_with(bob) == 4404, "his socket on the room is closed"
    now = await stored(served, made["id"])
    assert now.invite_token != old.invite_token, "the link he knew is replaced"
    again = Browser(served.ws_url(old))
    browsers.append(again)
    await again.connect(hello=False)
    assert await closed_with(again) == 4404, "the old link opens nothing"
    chat = await http.post(f"{base}/chat", json={"text": "still here?"}, headers=member.headers)
    assert chat.status_code == 404


async def test_deleting_a_room_closes_its_sockets(
    served: Served, http: httpx.AsyncClient, browsers: list[Browser]
) -> None:
    owner = await make_user(served.services, http, "ann@example.org", "Ann Owner")
    made = await room_of(http, owner)
    room = await stored(served, made["id"])
    pages = [Browser(served.ws_url(room)) for _ in range(2)]
    browsers += pages
    await pages[0].connect()
    await pages[1].connect()
    await pages[1].join("Gina")
    deleted = await http.delete(f"/api/v1/rooms/{room.id}", headers=owner.headers)
    assert deleted.status_code == 204
    for page in pages:
        assert await closed_with(page) == 4404
    assert room.id not in served.node.gateway.visitors


async def test_a_new_invite_link_closes_the_pages_of_guests_who_have_not_joined(
    served: Served, http: httpx.AsyncClient, browsers: list[Browser]
) -> None:
    """The owner's remedy against strangers camping on a leaked link (issue 14's rerun):
    a new link closes their pages; a guest already in the meeting stays."""
    owner = await make_user(served.services, http, "ann@example.org", "Ann Owner")
    made = await room_of(http, owner)
    room = await stored(served, made["id"])
    camping, joined = Browser(served.ws_url(room)), Browser(served.ws_url(room))
    mine = Browser(served.ws_url(room), cookie=await cookie(served.services, owner))
    browsers += [camping, joined, mine]
    for page in (camping, joined, mine):
        await page.connect()
    await joined.join("Gina")
    replaced = await http.post(f"/api/v1/rooms/{room.id}/invite-link", headers=owner.headers)
    assert replaced.status_code == 200, replaced.text
    assert await closed_with(camping) == 4404
    await asyncio.sleep(0.2)
    assert joined.ws.close_code is None and mine.ws.close_code is None, "those stay"
    await joined.send(type="chat", text="still here", ref="c")
    assert (await joined.expect("result", ref="c"))["ok"] is True


async def test_a_new_invite_link_also_clears_strangers_knocking_at_a_locked_room(
    served: Served, http: httpx.AsyncClient, browsers: list[Browser]
) -> None:
    """The rerun's lobby variant: 300 knockers kept their sockets and their knock
    through a new link; now their pages close and the lobby empties."""
    owner = await make_user(served.services, http, "ann@example.org", "Ann Owner")
    made = await room_of(http, owner)
    room = await stored(served, made["id"])
    host = Browser(served.ws_url(room), cookie=await cookie(served.services, owner))
    knocker = Browser(served.ws_url(room))
    browsers += [host, knocker]
    await host.connect()
    await host.join("Ann Owner")
    await host.send(type="command", command="lock", ref="lock")
    assert (await host.expect("result", ref="lock"))["ok"] is True
    await knocker.connect()
    await knocker.send(type="join", name="Stranger")
    await knocker.expect("lobby")
    await eventually(lambda: len(served.services.conferences.snapshot(room)["lobby"]) == 1, 5)
    replaced = await http.post(f"/api/v1/rooms/{room.id}/invite-link", headers=owner.headers)
    assert replaced.status_code == 200, replaced.text
    assert await closed_with(knocker) == 4404
    await eventually(lambda: served.services.conferences.snapshot(room)["lobby"] == [], 5)
    assert host.ws.close_code is None, "the owner stays"


# ------------------------------------------------------------------ chat floods
async def test_one_account_is_limited_across_sockets_and_rest(
    served: Served, http: httpx.AsyncClient, browsers: list[Browser]
) -> None:
    owner = await make_user(served.services, http, "ann@example.org", "Ann Owner")
    made = await room_of(http, owner)
    room = await stored(served, made["id"])
    url = f"/api/v1/rooms/{room.id}/chat"
    for i in range(5):
        posted = await http.post(url, json={"text": f"rest {i}"}, headers=owner.headers)
        assert posted.status_code == 201, posted.text
    pages = [
        Browser(served.ws_url(room), cookie=await cookie(served.services, owner)) for _ in range(2)
    ]
    browsers += pages
    for n, page in enumerate(pages):
        await page.connect()
        for i in range(3 if n == 0 else 2):
            await page.send(type="chat", text=f"socket {n} {i}", ref=f"s{n}{i}")
            assert (await page.expect("result", ref=f"s{n}{i}"))["ok"] is True
    await pages[1].send(type="chat", text="one more", ref="over")
    refused = await pages[1].expect("error", ref="over")
    assert refused["code"] == "chat.rate_limited" and refused["retry_after"] >= 1
    over = await http.post(url, json={"text": "and over REST"}, headers=owner.headers)
    assert over.status_code == 429 and int(over.headers["Retry-After"]) >= 1
    assert over.json()["code"] == "chat.rate_limited"
    assert len(await served.services.rooms.list_chat(room.id)) == 10


async def test_many_guest_sockets_cannot_flood_a_room(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    served.services.rooms.chat_limits.policy = ChatLimitPolicy(room_burst=12)
    pages = [Browser(served.ws_url(room)) for _ in range(5)]
    browsers += pages
    for n, page in enumerate(pages):
        await page.connect()
        await page.join(f"Guest {n}")
    refused = 0
    for round_ in range(4):  # 20 posts, 4 per joined guest: under each one's own limit
        for n, page in enumerate(pages):
            await page.send(type="chat", text=f"{n}-{round_}", ref=f"{n}-{round_}")
    for n, page in enumerate(pages):
        for round_ in range(4):
            ref = f"{n}-{round_}"

            def answered(ref: str = ref, page: Browser = page) -> bool:
                return any(m.get("ref") == ref for m in page.messages)

            await eventually(answered, 5)
            reply = next(m for m in page.messages if m.get("ref") == ref)
            refused += reply["type"] == "error" and reply["code"] == "chat.rate_limited"
    assert refused == 8
    assert len(await served.services.rooms.list_chat(room.id)) == 12


async def test_limits_count_per_sender_and_room_and_forget_old_posts() -> None:
    now = [0.0]
    limits = ChatLimits(
        ChatLimitPolicy(sender_burst=2, sender_window=10, room_burst=3, room_window=10),
        clock=lambda: now[0],
    )
    await limits.check("r", "account:a")
    await limits.check("r", "account:a")
    with pytest.raises(DomainError) as refused:
        await limits.check("r", "account:a")
    assert refused.value.context["retry_after"] == 11
    await limits.check("r", "account:b")
    with pytest.raises(DomainError):
        await limits.check("r", "account:c")  # the room is full
    await limits.check("other", "account:a")  # another room, another count
    now[0] = 10.5
    await limits.check("r", "account:a")


async def test_guests_filling_the_room_budget_do_not_silence_its_members() -> None:
    limits = ChatLimits(ChatLimitPolicy(sender_burst=2, room_burst=3))
    for guest in "abc":
        await limits.check("r", f"participant:{guest}")
    with pytest.raises(DomainError):
        await limits.check("r", "participant:d")  # the guests' budget is spent
    await limits.check("r", "account:owner", member=True)
    await limits.check("r", "account:owner", member=True)
    with pytest.raises(DomainError):
        await limits.check("r", "account:owner", member=True)  # its own burst still holds


# ------------------------------------------------------------------ socket caps
async def refused_socket(served: Served, room: Room, browsers: list[Browser]) -> dict[str, Any]:
    """A socket the server refuses: its one message, then the close code 4429."""
    b = Browser(served.ws_url(room))
    browsers.append(b)
    await b.connect(hello=False)
    error = await b.expect("error")
    assert await closed_with(b) == 4429
    return error


async def test_sockets_are_capped_per_address(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    gateway = served.node.gateway
    assert (gateway.max_per_address, gateway.max_per_room) == (50, 300), "the settings"
    gateway.max_per_address = 3
    pages = [Browser(served.ws_url(room)) for _ in range(3)]
    browsers += pages
    for page in pages:
        await page.connect()
    error = await refused_socket(served, room, browsers)
    assert error["code"] == "socket.too_many"
    assert error["text_key"] == "err_too_many_sockets"
    await pages[0].ws.close()
    await eventually(lambda: len(gateway.visitors[room.id]) == 2, 5)
    again = Browser(served.ws_url(room))
    browsers.append(again)
    assert (await again.connect())["type"] == "room", "a freed place is taken again"


async def test_sockets_are_capped_per_room(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    gateway = served.node.gateway
    gateway.max_per_room = 2
    pages = [Browser(served.ws_url(room)) for _ in range(2)]
    browsers += pages
    for page in pages:
        await page.connect()
    assert (await refused_socket(served, room, browsers))["code"] == "socket.too_many"
    owner = await served.services.accounts.by_email("host@example.org")
    assert owner is not None
    token = await served.services.accounts.issue_token(owner, "session")
    host = Browser(served.ws_url(room), cookie=f"confero_session={token}")
    browsers.append(host)
    assert (await host.connect())["type"] == "room", "strangers never shut the owner out"
    other = await served.services.rooms.create(owner, "Other")
    elsewhere = Browser(served.ws_url(other))
    browsers.append(elsewhere)
    assert (await elsewhere.connect())["type"] == "room", "another room is not affected"
