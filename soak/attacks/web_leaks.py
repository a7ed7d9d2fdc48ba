"""Issue 14's leaks, one server: guests seeing members' ``account_id``; a guest chatting
under a member's name; participant-role members seeing the lobby over REST; a removed
member keeping the call and the chat through the old link (whose replacement must now
also close the pages of guests who had not joined, and keep the joined ones); sockets
left open on a deleted room."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from soak.attacks.web_client import OWNER, Page, bearer, client, first_room, pages, ws_url
from soak.findings import Finding
from soak.server import PASSWORD, Server


def carries_account_id(messages: list[dict[str, Any]]) -> int:
    return sum(1 for m in messages if '"account_id"' in json.dumps(m))


async def leaks(server: Server) -> list[Finding]:
    owner_token = await bearer(server, OWNER)
    room = await first_room(server, owner_token)
    base = f"/api/v1/rooms/{room['id']}"
    url = ws_url(server, room["invite_url"])
    async with client(server, token=owner_token) as owner:
        me = (await owner.get("/api/v1/me")).json()
        for email, name in (("bob@soak.example", "Bob Member"), ("cat@soak.example", "Cat Mod")):
            made = await owner.post(
                "/api/v1/accounts",
                json={"email": email, "password": PASSWORD, "display_name": name},
            )
            made.raise_for_status()
        bob_token = await bearer(server, "bob@soak.example")
        cat_token = await bearer(server, "cat@soak.example")
        async with client(server, token=bob_token) as http:
            bob_id = (await http.get("/api/v1/me")).json()["id"]
        async with client(server, token=cat_token) as http:
            cat_id = (await http.get("/api/v1/me")).json()["id"]
        for member_id, role in ((bob_id, "participant"), (cat_id, "moderator")):
            (await owner.put(f"{base}/members/{member_id}", json={"role": role})).raise_for_status()
        out: list[Finding] = []
        async with pages() as opened:
            guest = Page(url, "127.0.0.2")
            host = Page(url, token=owner_token)
            cat = Page(url, token=cat_token)
            poser = Page(url, "127.0.0.3")
            knocker = Page(url, "127.0.0.4")
            opened += [guest, host, cat, poser, knocker]
            for p in (guest, host, cat, poser):
                await p.open()
                await p.send(type="hello")
                await p.typed("room")
            await guest.send(type="join", name="Gina Guest")
            guest_welcome = await guest.typed("welcome")
            await host.send(type="join", name=me["display_name"])
            host_welcome = await host.typed("welcome")
            await cat.send(type="join", name="Cat Mod")
            cat_welcome = await cat.typed("welcome")
            await host.send(type="chat", text="hello from the owner", ref="c1")
            await guest.typed("event", event="chat_posted", text="hello from the owner")
            # (e) a guest posing as the owner in the chat
            await poser.send(type="chat", text="it is me, the owner", name=me["display_name"])
            posing = await host.typed("event", event="chat_posted", text="it is me, the owner")
            history = (await owner.get(f"{base}/chat")).json()["messages"]
            await asyncio.sleep(0.5)
            # (a) account ids reaching the guest
            guest_leaks = carries_account_id(guest.messages) + carries_account_id(
                [guest_welcome or {}]
            )
            host_sees = carries_account_id([host_welcome or {}]) > 0
            out.append(
                Finding(
                    "leaks: guests see members' account_id",
                    "guests see members' account_id",
                    f"a joined guest got {len(guest.messages) + 1} messages (welcome, "
                    f"participant_joined of the owner and a moderator member, chat_posted): "
                    f"{guest_leaks} carry an account_id; the owner's own welcome "
                    + ("does" if host_sees else "does not")
                    + " (members still see them)",
                    "none" if guest_leaks == 0 and guest_welcome else "high",
                )
            )
            marked = {m["text"]: m["guest"] for m in history}
            pose_ok = (
                posing is not None
                and posing.get("guest") is True
                and marked.get("it is me, the owner") is True
                and marked.get("hello from the owner") is False
            )
            out.append(
                Finding(
                    "leaks: guest chatting under a member's name",
                    "a guest can chat with a member's display name and look identical",
                    f"a guest posted as '{me['display_name']}': chat_posted guest="
                    f"{posing.get('guest') if posing else 'not received'}, REST history "
                    f"guest={marked.get('it is me, the owner')} (the owner's own message: "
                    f"guest={marked.get('hello from the owner')}); the name itself is not "
                    f"reserved, the page marks guests",
                    "low" if pose_ok else "medium",
                )
            )
            # (b) the lobby over REST: lock, a stranger knocks
            host_pid = (host_welcome or {}).get("participant_id")
            await host.send(type="command", command="lock", ref="lock")
            await host.typed("result", ref="lock")
            await knocker.open()
            await knocker.send(type="hello")
            await knocker.typed("room")
            await knocker.send(type="join", name="Kim Knocker")
            knocked = await knocker.typed("lobby")
            async with client(server, token=bob_token) as bob:
                bob_view = await bob.get(f"{base}/conference")
            owner_view = await owner.get(f"{base}/conference")
            bob_lobby = bob_view.json().get("lobby") if bob_view.status_code == 200 else None
            owner_lobby = owner_view.json().get("lobby", [])
            out.append(
                Finding(
                    "leaks: lobby over REST",
                    "participant-role members see the lobby over REST",
                    f"a knocker {'waits in the lobby' if knocked else 'did not reach the lobby'}; "
                    f"GET .../conference: owner sees {len(owner_lobby)} in the lobby, the "
                    f"participant member ({bob_view.status_code}) sees "
                    f"{len(bob_lobby) if bob_lobby is not None else 'no lobby field'}",
                    "none" if knocked and owner_lobby and not bob_lobby else "medium",
                )
            )
            # (c) a removed member
            cat_pid = (cat_welcome or {}).get("participant_id")
            removed = await owner.delete(f"{base}/members/{cat_id}")
            cat_code = await cat.closed_code(10)
            state = (await owner.get(f"{base}/conference")).json()
            still_in = any(p["id"] == cat_pid for p in state.get("participants", []))
            old_link = Page(url, "127.0.0.5")
            opened.append(old_link)
            await old_link.open()
            old_code = await old_link.closed_code(10)
            async with client(server, token=cat_token) as cat_http:
                cat_chat = await cat_http.post(f"{base}/chat", json={"text": "still here?"})
                page_status = (await cat_http.get(urlsplit(room["invite_url"]).path)).status_code
            new_link = (await owner.get(base)).json()["invite_url"]
            # The old link's other pages: guests who had not joined (one had chatted
            # before joining, one knocked at the locked room) close with it; a joined guest
            # stays in the meeting (a moderator removes those).
            poser_code = await poser.closed_code(10)
            knocker_code = await knocker.closed_code(10)
            await asyncio.sleep(0.3)
            guest_kept = guest.reader is not None and not guest.reader.done()
            host_kept = any(p["id"] == host_pid for p in state.get("participants", []))
            removed_ok = (
                removed.status_code == 200
                and cat_code == 4404
                and not still_in
                and old_code == 4404
                and cat_chat.status_code in (403, 404)
                and new_link != room["invite_url"]
                and poser_code == 4404
                and guest_kept
            )
            out.append(
                Finding(
                    "leaks: removed member",
                    "a removed member keeps the running call and the chat via the old link",
                    f"removing a joined moderator member ({removed.status_code}): their socket "
                    f"closed {cat_code}, still a participant: {still_in}; the old link's "
                    f"socket closed {old_code}, its page {page_status}; their REST chat "
                    f"{cat_chat.status_code}; invite link replaced: "
                    f"{new_link != room['invite_url']}; the owner "
                    f"{'kept' if host_kept else 'lost'} the call; the old link's pages of "
                    f"guests who had not joined closed {poser_code} (one that had chatted) "
                    f"and {knocker_code} (one in the lobby), the joined guest's "
                    f"{'stays' if guest_kept else 'was lost'}",
                    "none" if removed_ok else "high",
                )
            )
        out.append(await room_deletion(server, owner))
    return out


async def room_deletion(server: Server, owner: httpx.AsyncClient) -> Finding:
    """(d) deleting a room with a prejoin socket and a joined one open."""
    made = await owner.post("/api/v1/rooms", json={"name": "Doomed"})
    made.raise_for_status()
    doomed = made.json()
    async with pages() as opened:
        waiting = Page(ws_url(server, doomed["invite_url"]), "127.0.0.6")
        joined = Page(ws_url(server, doomed["invite_url"]), "127.0.0.7")
        opened += [waiting, joined]
        for p in (waiting, joined):
            await p.open()
            await p.send(type="hello")
            await p.typed("room")
        await joined.send(type="join", name="Jo Guest")
        await joined.typed("welcome")
        deleted = await owner.delete(f"/api/v1/rooms/{doomed['id']}")
        t0 = time.monotonic()
        codes = [await waiting.closed_code(10), await joined.closed_code(10)]
        took = time.monotonic() - t0
    return Finding(
        "leaks: socket after room deletion",
        "a socket stays open after its room is deleted",
        f"room deleted ({deleted.status_code}) with a prejoin socket and a joined one "
        f"open: closed with {codes[0]} and {codes[1]} within {took:.2f} s",
        "none" if codes == [4404, 4404] else "medium",
    )
