"""Browsers on a node that does not run the room (issue 16 item 4, F-SC2): web/forward.py.

Two real ``confero serve`` nodes, a and b, on one PostgreSQL database (a fresh one,
dropped afterwards) and one Redis, as an operator runs them. The room runs on a (its
moderator joined there first). What a user notices: a guest whose page reached b is in
the same meeting as a's; a moderator's REST command sent to b mutes a participant on a;
a chat line posted on b arrives once on a's pages and is stored once; a file a guest
shares through b reaches a's pages and comes back whole; an owner that dies leaves b's
pages retrying and b's API answering "busy", never stuck; and the owner caps sockets by
the browser's own address, whether the browser came through b (signed by b) or forged
the forwarding header itself (ignored).

The per-address socket cap is 1 on both nodes so that "which address did the owner
count" is visible: every page here has its own loopback source address (127.0.0.x).

Redis isolation: the nodes use the default key prefix, so this test takes a Redis
database number of its own choosing (1-15) and deletes the keys naming its nodes
afterwards; leases and counters expire by themselves within seconds.

The one-process case (a join that finds the room claimed elsewhere is closed ``MOVED``)
is tested in-process at the end, with a placement that loses the race on purpose.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
import websockets
from soak.attacks.web_client import Page, bearer
from soak.server import PASSWORD as SOAK_PASSWORD
from soak.server import Server

from confero.app.placement import LocalPlacement, NodeInfo
from confero.bus.redis_connection import connect
from confero.config import Settings
from confero.domain.rooms import Room
from confero.server import Node, build
from confero.web.app import create_app
from confero.web.node_auth import FORWARDED_FOR, NODE_AUTH
from confero.web.ws import MOVED, TOO_MANY, UNAVAILABLE
from tests.bus.redis_support import REDIS_URL, reachable
from tests.clock import FakeClock
from tests.conftest import missing_peer
from tests.store.databases import fresh_database

OWNER = "owner@forward.example"
SECRET = "forward-test-secret"
PASSWORD = "a-long-enough-password"


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    async with fresh_database("confero_fwd") as url:
        yield url


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def redis_url(tag: str) -> AsyncIterator[str]:
    """The test Redis on a database number of its own choosing; this test's keys (those
    naming its nodes or its room) deleted afterwards."""
    parts = urlsplit(REDIS_URL)
    url = urlunsplit(parts._replace(path=f"/{secrets.randbelow(15) + 1}"))
    client = connect(url)
    try:
        if not await reachable(client):
            missing_peer(f"Redis at {REDIS_URL} (set CONFERO_TEST_REDIS_URL)")
        yield url
        found = [k async for k in client.scan_iter(match=f"*{tag}*")]
        if found:
            await client.delete(*found)
    finally:
        await client.aclose()


async def prepared(database: str, data_dir: Path, name: str) -> Room:
    """The schema, the owner and a room, made in this process: three runs of the CLI
    (tests/test_cli.py tests it) took 7 s here and over 20 s in CI, for each test."""
    services = await build(
        Settings(data_dir=data_dir, database_url=database), placement=LocalPlacement()
    )
    try:
        owner = await services.accounts.create(OWNER, SOAK_PASSWORD, is_admin=True)
        return await services.rooms.create(owner, name, capacity=10)
    finally:
        await services.close()


@dataclass
class Cluster:
    a: Server
    b: Server
    room: Room
    invite: str
    token: str

    def ws(self, node: Server) -> str:
        return f"ws://127.0.0.1:{node.http_port}/ws/v1/join/{self.invite}"

    def api(self, node: Server) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=node.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=20
        )


@pytest.fixture
async def cluster(
    database: str, redis_url: str, tag: str, tmp_path: Path
) -> AsyncIterator[Cluster]:
    nodes = [
        Server(
            tmp_path / name,
            env={
                "CONFERO_DATABASE_URL": database,
                "CONFERO_REDIS_URL": redis_url,
                "CONFERO_CLUSTER_SECRET": SECRET,
                "CONFERO_NODE_ID": f"{name}-{tag}",
                "CONFERO_WS_MAX_PER_ADDRESS": "1",
            },
        )
        for name in ("a", "b")
    ]
    for node in nodes:
        node.env["CONFERO_NODE_URL"] = node.base
    a, b = nodes
    try:
        room = await prepared(database, tmp_path / "setup", f"Forward {tag}")
        await asyncio.to_thread(a.start)  # alone: the first start creates the admin
        await asyncio.to_thread(b.start)
        token = await bearer(a, OWNER)
        async with httpx.AsyncClient(base_url=a.base, timeout=20) as http:
            answer = await http.get(
                f"/api/v1/rooms/{room.id}", headers={"Authorization": f"Bearer {token}"}
            )
        answer.raise_for_status()
        invite = urlsplit(answer.json()["invite_url"]).path.rsplit("/", 1)[-1]
        yield Cluster(a, b, room, invite, token)
    finally:
        await asyncio.gather(*(asyncio.to_thread(n.stop) for n in nodes))
        for node in nodes:
            assert node.tracebacks() == 0, node.log()


@pytest.fixture
async def pages() -> AsyncIterator[list[Page]]:
    opened: list[Page] = []
    try:
        yield opened
    finally:
        await asyncio.gather(*(p.close() for p in opened))


async def joined(
    pages: list[Page], url: str, source: str, name: str, token: str | None = None
) -> tuple[Page, dict[str, Any]]:
    """A page from ``source`` that joined as ``name``; its ``welcome``."""
    page = Page(url, source=source, token=token)
    pages.append(page)
    await page.open()
    await page.send(type="join", name=name, ref="join")
    welcome = await page.typed("welcome")
    assert welcome is not None, page.messages
    return page, welcome


async def names_on(c: Cluster, node: Server) -> set[str]:
    async with c.api(node) as http:
        answer = await http.get(f"/api/v1/rooms/{c.room.id}/conference")
    answer.raise_for_status()
    return {str(p["display_name"]) for p in answer.json()["participants"]}


async def test_a_page_on_the_other_node_meets_commands_chats_and_shares_on_the_owner(
    cluster: Cluster, pages: list[Page]
) -> None:
    c = cluster
    await joined(pages, c.ws(c.a), "127.0.0.2", "Mod", token=c.token)
    ann, welcome = await joined(pages, c.ws(c.a), "127.0.0.3", "Ann")
    ann_id = str(welcome["participant_id"])
    bob, bob_welcome = await joined(pages, c.ws(c.b), "127.0.0.4", "Bob")

    # One meeting: the owner lists Bob (who came through b), and b answers with a's list.
    assert await names_on(c, c.a) == {"Mod", "Ann", "Bob"}
    assert await names_on(c, c.b) == {"Mod", "Ann", "Bob"}
    assert await ann.typed("event", event="participant_joined") is not None

    # A moderator's command sent to b takes effect on a: Ann's page hears it, and so
    # does Bob's page, whose socket b pumps to a.
    async with c.api(c.b) as http:
        answer = await http.post(
            f"/api/v1/rooms/{c.room.id}/conference/commands",
            json={"command": "mute", "target": ann_id},
        )
    assert answer.status_code == 200, answer.text
    for page in (ann, bob):
        muted = await page.typed("event", event="mute_changed", participant_id=ann_id)
        assert muted is not None and muted["muted"] is True, page.messages

    # A chat line a page on b posts (its cookie and origin, as the CSRF guard of both
    # nodes reads them): stored once, heard once on a.
    line = f"hello from b {uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=c.b.base, timeout=20) as http:
        posted = await http.post(
            f"/api/v1/rooms/{c.room.id}/chat",
            json={"text": line},
            headers={"Cookie": f"confero_session={c.token}", "Origin": c.b.base},
        )
    assert posted.status_code == 201, posted.text
    assert await ann.expect(lambda m: line in json.dumps(m)) is not None
    await asyncio.sleep(1.0)  # a second copy would have come by now
    assert await ann.expect(lambda m: line in json.dumps(m), within=0.1) is None
    async with c.api(c.a) as http:
        stored = (await http.get(f"/api/v1/rooms/{c.room.id}/chat")).json()["messages"]
    assert [m["text"] for m in stored].count(line) == 1

    # Bob shares a file through b, proving himself with his resume token, which only the
    # owner knows: a's pages hear of it, and b hands it back byte for byte.
    proof = {"X-Confero-Participant": str(bob_welcome["resume"])}
    content = os.urandom(200_000)  # more than one chunk each way
    async with httpx.AsyncClient(base_url=c.b.base, timeout=20) as http:
        shared = await http.post(
            f"/api/v1/rooms/{c.room.id}/files",
            params={"name": "notes.txt"},
            content=content,
            headers={**proof, "Content-Type": "text/plain"},
        )
        assert shared.status_code == 201, shared.text
        assert await ann.typed("event", event="file_shared") is not None
        got = await http.get(
            f"/api/v1/rooms/{c.room.id}/files/{shared.json()['id']}", headers=proof
        )
    assert got.status_code == 200, got.text
    assert got.content == content
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.headers["content-security-policy"].startswith("sandbox")


async def test_the_owner_caps_sockets_by_the_browsers_address_never_a_forged_one(
    cluster: Cluster, pages: list[Page]
) -> None:
    c = cluster
    await joined(pages, c.ws(c.a), "127.0.0.2", "Mod", token=c.token)  # the room runs on a

    # Through b, two browsers on two addresses: both in, though b connects to a from one
    # address (with a cap of 1 per address, a would refuse the second if it counted b's).
    await joined(pages, c.ws(c.b), "127.0.0.5", "Cy")
    await joined(pages, c.ws(c.b), "127.0.0.6", "Di")
    # A second page of the same browser through b is over its address's cap on a.
    again = Page(c.ws(c.b), source="127.0.0.6")
    pages.append(again)
    await again.open()
    assert await again.closed_code() == TOO_MANY

    # Straight to a, a page forging the forwarding header for a fresh address: ignored,
    # the page counts as its real address, which is taken (127.0.0.2, the moderator's).
    forged = await websockets.connect(
        c.ws(c.a),
        local_addr=("127.0.0.2", 0),
        additional_headers={
            FORWARDED_FOR: "203.0.113.9",
            NODE_AUTH: f"{int(time.time())}.{'0' * 64}",
        },
    )
    try:
        assert await close_code(forged) == TOO_MANY
    finally:
        await forged.close()


async def close_code(ws: websockets.ClientConnection) -> int | None:
    """The code the server closed ``ws`` with, reading (and dropping) what came first."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


async def test_an_owner_that_died_is_answered_busy_and_its_pages_retry(
    cluster: Cluster, pages: list[Page]
) -> None:
    c = cluster
    await joined(pages, c.ws(c.a), "127.0.0.2", "Mod", token=c.token)
    bob, _ = await joined(pages, c.ws(c.b), "127.0.0.4", "Bob")
    await asyncio.to_thread(c.a.kill)  # kill -9: its lease lives on for a few seconds
    # Bob's page is told to try again (not a final close): b forwards it afresh.
    assert await bob.closed_code() == UNAVAILABLE
    async with c.api(c.b) as http:
        answer = await http.get(f"/api/v1/rooms/{c.room.id}/conference")
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "conference.busy"
    assert "127.0.0.1" not in answer.text  # no node's address reaches a client


# ------------------------------------------------------------------ one process
class ClaimedMeanwhile(LocalPlacement):
    """Nobody runs the room when the socket looks; another node claims it just before
    the join does (the race the page's ``MOVED`` reconnect covers)."""

    OTHER = NodeInfo("other", "http://127.0.0.1:9", "127.0.0.1", 5060, "127.0.0.1")

    async def owner(self, room_id: str) -> NodeInfo | None:
        return None

    async def claim(self, room_id: str) -> NodeInfo:
        return self.OTHER


async def test_a_join_that_finds_the_room_claimed_elsewhere_closes_moved_or_is_busy(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = Settings(data_dir=tmp_path / "var", http_port=8080, sip_port=0)
    services = await build(settings, clock=clock, placement=ClaimedMeanwhile())
    node = Node.build(services, settings)
    await node.start()
    app = create_app(services, signaling=node.gateway)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event)
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        owner = await services.accounts.create(OWNER, PASSWORD, "Owner")
        room = await services.rooms.create(owner, "Race")
        url = f"ws://127.0.0.1:{port}/ws/v1/join/{room.invite_token}"
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"v": 1, "type": "join", "name": "Eve", "ref": "j"}))
            seen: list[dict[str, Any]] = []
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    seen.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        # The page reconnects at once, and never sees the error naming the other node.
        assert closed.value.rcvd is not None and closed.value.rcvd.code == MOVED
        assert not [m for m in seen if m.get("type") == "error"], seen
        assert services.registry.live_rooms() == []
        # Over REST the same race is a plain "busy, try again": no node's address leaks.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            signed = await http.post("/api/v1/tokens", json={"email": OWNER, "password": PASSWORD})
            answer = await http.post(
                f"/api/v1/rooms/{room.id}/conference/commands",
                json={"command": "join"},
                headers={"Authorization": f"Bearer {signed.json()['token']}"},
            )
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "conference.busy"
        assert ClaimedMeanwhile.OTHER.internal_url not in answer.text
    finally:
        server.should_exit = True
        await task
        await node.stop()
        await services.close()
