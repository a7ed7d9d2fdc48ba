"""A room filled with strangers' sockets, then flooded (issue 14: 1,000 guest sockets, 50
flooding chat stored 497 messages in 29 s; REST chat unlimited; ``database is locked``).

Phases, one server: 1,000 sockets from one address (the per-address cap) and 300 more
from six others (the per-room cap); a stranger, then the room's owner, opening the page
while it is full; 50 of the strangers (on all seven addresses, so the room's budget
binds, not the address's) flooding chat while the owner posts over REST; then the
owner's remedy, a new invite link, which must close the strangers who have not joined,
keep the joined guests and the owner, and let a guest in through the new link.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from soak.attacks.web_client import (
    OWNER,
    Page,
    bearer,
    client,
    first_room,
    gather_limited,
    log_mentions,
    open_page,
    pages,
    ws_url,
)
from soak.attacks.web_probes import HealthProbe
from soak.findings import Finding, Severity
from soak.server import Server

ATTEMPTS = 1000
FLOOD_SECONDS, RATE, FLOODERS = 30.0, 4.0, 50
ROOM_BURST, ROOM_WINDOW = 60, 10.0  # the guests' room chat budget (app/chat_limits.py)


def counted(kinds: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind in kinds:
        out[kind] = out.get(kind, 0) + 1
    return out


def shown(tally: dict[str, int], sep: str = " ") -> str:
    return ", ".join(f"{v}{sep}{k}" for k, v in sorted(tally.items()))


async def open_many(url: str, sources: list[str], opened: list[Page]) -> list[tuple[str, Page]]:
    got = await gather_limited([open_page(url, a) for a in sources], 50)
    results = [r for r in got if isinstance(r, tuple)]
    opened.extend(p for _, p in results)
    return results


async def flood(page: Page, n: int, tally: dict[str, int]) -> None:
    end = time.monotonic() + FLOOD_SECONDS
    i = 0
    with contextlib.suppress(websockets.ConnectionClosed):
        while time.monotonic() < end:
            await page.send(type="chat", text=f"flood {n}-{i}", name=f"Flooder {n}", ref=f"f{i}")
            tally["sent"] += 1
            i += 1
            await asyncio.sleep(1 / RATE)


async def rest_chat(http: httpx.AsyncClient, room_id: str, tally: dict[str, int]) -> None:
    """The owner posting once a second: within its own 10 per 10 s."""
    end = time.monotonic() + FLOOD_SECONDS
    i = 0
    while time.monotonic() < end:
        try:
            got = await http.post(f"/api/v1/rooms/{room_id}/chat", json={"text": f"rest {i}"})
            key = str(got.status_code)
        except httpx.HTTPError as exc:
            key = type(exc).__name__
        tally[key] = tally.get(key, 0) + 1
        i += 1
        await asyncio.sleep(1.0)


async def all_chat(http: httpx.AsyncClient, room_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        params: dict[str, int] = {"limit": 200}
        if before is not None:
            params["before"] = before
        got = await http.get(f"/api/v1/rooms/{room_id}/chat", params=params)
        got.raise_for_status()
        body = got.json()
        found += body["messages"]
        before = body["next_before"]
        if before is None:
            return found


def spread(groups: dict[str, list[Page]], n: int) -> list[Page]:
    """``n`` pages taken in turn from every source address."""
    picked: list[Page] = []
    while len(picked) < n and any(groups.values()):
        for group in groups.values():
            if group and len(picked) < n:
                picked.append(group.pop())
    return picked


def is_open(p: Page) -> bool:
    return p.reader is not None and not p.reader.done()


@dataclass
class Fill:
    """What opening the sockets gave."""

    seconds: float = 0.0
    one_address: dict[str, int] = field(default_factory=dict)
    kept: list[Page] = field(default_factory=list)
    more_kept: int = 0
    more_refused: int = 0
    stranger: str = ""
    owner: str = ""


async def fill(url: str, token: str, opened: list[Page]) -> tuple[Fill, Page]:
    f = Fill()
    started = time.monotonic()
    one = await open_many(url, ["127.0.0.2"] * ATTEMPTS, opened)
    f.seconds = time.monotonic() - started
    f.one_address = counted(kind for kind, _ in one)
    # The room cap: 50 more from each of six other addresses (300 would fit by address).
    more = await open_many(url, [f"127.0.0.{n}" for n in range(3, 9) for _ in range(50)], opened)
    f.kept = [p for kind, p in one + more if kind == "room"]
    f.more_kept = sum(1 for kind, _ in more if kind == "room")
    f.more_refused = sum(1 for kind, _ in more if kind == "4429")
    # The room is full of strangers' idle sockets: a guest of the owner's is refused (the
    # guests' places are taken); the owner, a member, must get in and stays for the flood.
    f.stranger, late = await open_page(url, "127.0.0.9")
    opened.append(late)
    await late.close()
    f.owner, owner_page = await open_page(url, "127.0.0.1", token)
    opened.append(owner_page)
    return f, owner_page


@dataclass
class Remedy:
    """What the owner's new invite link did."""

    status: int = 0
    closed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    joined_kept: int = 0
    joined: int = 0
    owner_kept: bool = False
    new_guest: str = ""
    old_link: str = ""


async def remedy(
    server: Server, http: httpx.AsyncClient, room_id: str, strangers: list[Page], owner: Page
) -> Remedy:
    r = Remedy()
    campers = [p for p in strangers if is_open(p)]
    joiners, campers = campers[:5], campers[5:]
    for n, p in enumerate(joiners):
        await p.send(type="join", name=f"Joined {n}")
    welcomed = [p for p in joiners if await p.typed("welcome", 15) is not None]
    r.joined = len(welcomed)
    started = time.monotonic()
    replaced = await http.post(f"/api/v1/rooms/{room_id}/invite-link")
    r.status = replaced.status_code
    codes = await gather_limited([p.closed_code(15) for p in campers], len(campers) or 1)
    r.seconds = time.monotonic() - started
    r.closed = counted(str(c) for c in codes)
    await asyncio.sleep(0.5)
    r.joined_kept = sum(1 for p in welcomed if is_open(p))
    r.owner_kept = is_open(owner)
    if replaced.status_code == 200:
        new_url = ws_url(server, replaced.json()["invite_url"])
        r.new_guest, fresh = await open_page(new_url, "127.0.0.9")
        await fresh.close()
    old_kind, old = await open_page(strangers[0].url, "127.0.0.10")
    await old.close()
    r.old_link = "accepted" if old_kind == "room" else f"refused {old_kind}"
    return r


@dataclass
class Flood:
    """What the chat flood gave."""

    sent: int = 0
    seconds: float = 0.0
    limited: int = 0
    server_errors: int = 0
    stored: int = 0
    rest: dict[str, int] = field(default_factory=dict)
    rest_stored: int = 0
    still_open: int = 0
    owner_through: bool = False
    health: str = ""
    worst: float = 0.0
    failures: int = 0

    @property
    def window_cap(self) -> int:
        """The most the guests' room budget lets through in ``seconds``."""
        return ROOM_BURST * (int(self.seconds // ROOM_WINDOW) + 1)


async def chat_flood(
    server: Server, http: httpx.AsyncClient, room_id: str, strangers: list[Page], owner: Page
) -> Flood:
    groups: dict[str, list[Page]] = {}
    for p in strangers:
        groups.setdefault(p.source, []).append(p)
    # Spread over all seven addresses (the worst case: the per-address allowance does not
    # bind, the room's does).
    flooders = spread(groups, FLOODERS)
    tally = {"sent": 0}
    out = Flood()
    started = time.monotonic()
    with HealthProbe(server.base) as probe:
        await asyncio.gather(
            *(flood(p, n, tally) for n, p in enumerate(flooders)),
            rest_chat(http, room_id, out.rest),
        )
        await asyncio.sleep(2)
    out.seconds, out.sent = time.monotonic() - started, tally["sent"]
    out.health, out.worst, out.failures = probe.summary(), probe.worst, len(probe.failures)
    codes = [m.get("code") for p in flooders for m in p.messages]
    out.limited = codes.count("chat.rate_limited")
    out.server_errors = codes.count("server.error")
    stored = await all_chat(http, room_id)
    out.stored = sum(1 for m in stored if m["text"].startswith("flood "))
    out.rest_stored = sum(1 for m in stored if m["text"].startswith("rest "))
    out.still_open = sum(1 for p in strangers if is_open(p))
    out.owner_through = is_open(owner)
    return out


async def socket_flood(server: Server) -> Finding:
    token = await bearer(server, OWNER)
    room = await first_room(server, token)
    url = ws_url(server, room["invite_url"])
    async with pages() as opened, client(server, token=token) as http:
        with HealthProbe(server.base) as connect_probe:
            f, owner_page = await fill(url, token, opened)
        fl = await chat_flood(server, http, room["id"], f.kept, owner_page)
        r = await remedy(server, http, room["id"], f.kept, owner_page)
    locked = log_mentions(server, "database is locked")
    tracebacks = server.tracebacks()
    rest_posts = sum(fl.rest.values())
    rest_5xx = sum(v for k, v in fl.rest.items() if k.startswith("5"))
    total_open = len(f.kept)
    problems = [
        f.one_address.get("room", 0) != 50,
        total_open > 300 or f.more_refused < 50,
        f.owner != "room" or not fl.owner_through,  # strangers shut the room's people out
        fl.stored > fl.window_cap,
        fl.rest.get("201", 0) != rest_posts,  # the owner's chat starved by the guests'
        bool(locked or rest_5xx or fl.server_errors or tracebacks),
        fl.worst > 2 or fl.failures > 0 or bool(connect_probe.failures),
        r.status != 200 or set(r.closed) != {"4404"} or r.joined_kept != r.joined,
        not r.owner_kept or r.new_guest != "room" or r.old_link != "refused 4404",
    ]
    # The residual: until the owner replaces the link, strangers holding it keep the
    # guests' places (a guest is refused 4429) and the guests' chat budget; neither takes
    # the service down nor reaches the owner, members or joined guests.
    severity: Severity = "medium" if any(problems) else "low"
    now = (
        f"{ATTEMPTS} sockets from one address in {f.seconds:.1f} s: {shown(f.one_address)} "
        f'("room" = accepted, 4429 = refused socket.too_many); 300 more from six other '
        f"addresses: {f.more_kept} accepted, {f.more_refused} refused 4429 (room cap: "
        f"{total_open} open); with the room full a guest from a new address: "
        f"{'accepted' if f.stranger == 'room' else 'refused ' + f.stranger}, the room's owner: "
        f"{'accepted' if f.owner == 'room' else 'refused ' + f.owner}"
        f"{' and stayed through the flood' if fl.owner_through else ', lost during the flood'};"
        f" {connect_probe.summary()} while connecting. {FLOODERS} strangers on 7 addresses "
        f"flooding {FLOOD_SECONDS:.0f} s at {RATE:.0f}/s each: {fl.sent} sent, {fl.stored} "
        f"stored (guests' room budget {ROOM_BURST} per {ROOM_WINDOW:.0f} s: at most "
        f"{fl.window_cap} in {fl.seconds:.0f} s), {fl.limited} refused chat.rate_limited; the "
        f"owner posting over REST once a second meanwhile: {shown(fl.rest, ' x ')}, "
        f"{fl.rest_stored} stored; {locked} 'database is locked', {rest_5xx} REST 5xx, "
        f"{fl.server_errors} socket server.error, {tracebacks} tracebacks; {fl.health}; "
        f"{fl.still_open} stranger sockets still open after. The owner's new invite link "
        f"({r.status}): the {sum(r.closed.values())} strangers who had not joined closed "
        f"{shown(r.closed, ' x ')} within {r.seconds:.1f} s; {r.joined_kept} of {r.joined} "
        f"joined guests and the owner ({'kept' if r.owner_kept else 'lost'}) stay; a guest "
        f"through the new link: {'accepted' if r.new_guest == 'room' else r.new_guest}; the "
        f"old link: {r.old_link}"
    )
    return Finding(
        "1,000 guest sockets, 50 flooding chat",
        "chat limit per socket only: 497 messages stored in 29 s; REST chat unlimited; "
        "'database is locked' failed 42 posts",
        now,
        severity,
    )
