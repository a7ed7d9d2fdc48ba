"""Strangers camping in a locked room's lobby: the new invite link's remedy (it closes the
pages of guests who have not joined) meets guests who have knocked, who are waiting
participants, not strangers on a page. 300 knockers from six addresses fill the room's
socket places; the owner replaces the link; how many are gone, and may a guest of the
owner's then open the page through the new link?"""

from __future__ import annotations

import asyncio

from soak.attacks.web_client import (
    OWNER,
    Page,
    bearer,
    client,
    first_room,
    gather_limited,
    open_page,
    pages,
    ws_url,
)
from soak.findings import Finding, Severity
from soak.server import Server

KNOCKERS = 300


async def knock(url: str, source: str, n: int, opened: list[Page]) -> bool:
    kind, page = await open_page(url, source)
    opened.append(page)
    if kind != "room":
        return False
    await page.send(type="join", name=f"Knocker {n}")
    return await page.typed("lobby", 30) is not None


async def lobby_campers(server: Server) -> Finding:
    token = await bearer(server, OWNER)
    room = await first_room(server, token)
    url = ws_url(server, room["invite_url"])
    async with pages() as opened, client(server, token=token) as http:
        kind, host = await open_page(url, "127.0.0.1", token)
        opened.append(host)
        await host.send(type="join", name="Owner")
        await host.typed("welcome")
        await host.send(type="command", command="lock", ref="lock")
        locked = await host.typed("result", ref="lock")
        sources = [f"127.0.0.{2 + i % 6}" for i in range(KNOCKERS)]
        knocked = await gather_limited(
            [knock(url, a, n, opened) for n, a in enumerate(sources)], 50
        )
        waiting = sum(1 for k in knocked if k is True)
        before, late = await open_page(url, "127.0.0.20")
        opened.append(late)
        replaced = await http.post(f"/api/v1/rooms/{room['id']}/invite-link")
        await asyncio.sleep(5)
        knockers = [p for p in opened if p.source not in ("127.0.0.1", "127.0.0.20")]
        still = sum(1 for p in knockers if p.reader is not None and not p.reader.done())
        after = "not tried"
        if replaced.status_code == 200:
            new_url = ws_url(server, replaced.json()["invite_url"])
            after, fresh = await open_page(new_url, "127.0.0.21")
            opened.append(fresh)
        state = (await http.get(f"/api/v1/rooms/{room['id']}/conference")).json()
    lobby = len(state.get("lobby", []))
    # Members still get in (the cap is the guests'), and the room must be locked first;
    # but the knockers hold the guests' places and the lobby past the new link, until a
    # moderator denies them one by one (there is no "deny all"): the remedy fails.
    severity: Severity = "none"
    if still:
        severity = "low" if after == "room" and kind == "room" else "medium"
    return Finding(
        "strangers camping in a locked room's lobby",
        "(rerun's own: the new invite link's reach)",
        f"owner locked the room ({'ok' if locked and locked.get('ok') else locked}); "
        f"{KNOCKERS} strangers from 6 addresses knocked: {waiting} wait in the lobby; a guest "
        f"opening the page then: {'accepted' if before == 'room' else 'refused ' + before}; "
        f"the owner's new invite link ({replaced.status_code}): {still} of "
        f"{len(knockers)} knockers' sockets still open 5 s later, {lobby} still in the lobby; "
        f"a guest through the new link: {'accepted' if after == 'room' else 'refused ' + after}",
        severity,
    )
