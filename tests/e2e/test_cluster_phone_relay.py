"""A phone call that lands on a node that does not run its room (issue 16 item 5,
F-SC2): two real ``confero serve`` nodes, ``a`` and ``b``, on one PostgreSQL database of
the test's own and the real Redis.

What the callers notice: the first caller dials ``a`` and the room runs there; the
second dials ``b``, hears ``b``'s voice menu once (number, PIN, name), and is in the same
conference: the two hear each other, as on one node. The owner's participant list shows
both on ``a``; the second caller's hang-up takes it off there. An INVITE to ``a`` that
claims to be a relayed call with a forged or expired ``X-Confero-Admit`` gets 403.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from soak.server import Server

from confero.bus.redis_connection import connect
from confero.domain.roles import Role
from confero.media.rtp import RtpPacket
from confero.media.tone import detect_frequency, rms
from confero.phone import admit_token
from confero.sip import offer_answer
from confero.sip.transport import Peer
from confero.sip.ua import UserAgent
from tests.bus.redis_support import REDIS_URL, reachable
from tests.conftest import missing_peer
from tests.e2e import scenarios
from tests.e2e.pcap import Stream, decode_audio
from tests.e2e.sipp import RtpTap, Sipp, free_port, sipp_available
from tests.phone.softphone import FAST
from tests.store.databases import PG_URL, fresh_database

OWNER = "host@example.org"
SECRET = f"relay-test-{secrets.token_hex(8)}"
#: After the keys: the participant count, the move into the room (and, on b, the relay).
SETTLE = 5.0
NODE_ENV = {
    "CONFERO_LOG_LEVEL": "info",
    "CONFERO_SIP_MAX_CALLS_PER_SOURCE": "0",  # the relay and sipp share 127.0.0.1
    "CONFERO_SIP_INVITE_RATE": "0",
    "CONFERO_REDIS_URL": REDIS_URL,
    "CONFERO_CLUSTER_SECRET": SECRET,
}


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    if not PG_URL:
        missing_peer("PostgreSQL (set CONFERO_TEST_DATABASE_URL)")
    if not sipp_available():
        missing_peer("sipp")
    redis = connect(REDIS_URL)
    try:
        if not await reachable(redis):
            missing_peer(f"Redis at {REDIS_URL} (set CONFERO_TEST_REDIS_URL)")
    finally:
        await redis.aclose()
    async with fresh_database("confero_relay") as url:
        yield url


@dataclass
class Cluster:
    a: Server
    b: Server
    node_ids: tuple[str, str]


@pytest.fixture
async def cluster(database: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    """Nodes a and b (node ids of this test's own: other runs share the Redis)."""
    suffix = secrets.token_hex(3)
    servers: list[Server] = []
    for name in ("a", "b"):
        http_port = free_port()
        env = {
            **NODE_ENV,
            "CONFERO_DATABASE_URL": database,
            "CONFERO_NODE_ID": f"{name}-{suffix}",
            "CONFERO_NODE_URL": f"http://127.0.0.1:{http_port}",
        }
        servers.append(Server(tmp_path / name, env=env, http_port=http_port, sip_port=free_port()))
    a, b = servers
    try:
        await asyncio.to_thread(a.cli, "db", "upgrade")
        await asyncio.to_thread(a.start)  # creates the first admin alone
        await asyncio.to_thread(b.start)
        yield Cluster(a, b, (f"a-{suffix}", f"b-{suffix}"))
    finally:
        await asyncio.gather(*(asyncio.to_thread(s.stop) for s in servers))
        for s in servers:
            assert s.tracebacks() == 0, s.log()


def participants(node: Server, room_id: str) -> list[dict[str, object]]:
    with node.api(OWNER) as api:
        answer = api.get(f"/api/v1/rooms/{room_id}/conference")
        answer.raise_for_status()
        return list(answer.json().get("participants", []))


async def until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"not within {seconds} s: {what}")


def hears(audio: np.ndarray, frequency: float) -> bool:
    """Some second of ``audio`` (8 kHz) is a clear tone at ``frequency``."""
    for start in range(0, max(0, audio.size - 8000), 2000):
        window = audio[start : start + 8000]
        if rms(window) > 300 and abs(detect_frequency(window, 8000) - frequency) < 15:
            return True
    return False


def caller(node: Server, keys: str, tone: float, seconds: float, workdir: Path) -> Sipp:
    pcap = (
        Stream()
        .silence(0.5)
        .digits(keys, duration=0.1, gap=0.08)
        .silence(SETTLE)
        .tone(tone, seconds)
        .write(workdir.with_suffix(".pcap"))
    )
    return Sipp(
        scenarios.dial(pcap, hold_seconds=0.5),
        ("127.0.0.1", node.sip_port),
        service="5000",
        workdir=workdir,
    )


def heard(tap: RtpTap) -> np.ndarray:
    return decode_audio([RtpPacket.parse(p.payload) for p in tap.packets])


async def test_a_caller_on_the_other_node_joins_the_owners_room(
    cluster: Cluster, tmp_path: Path
) -> None:
    a, b = cluster.a, cluster.b
    await asyncio.to_thread(a.create_owner, OWNER)
    room = await asyncio.to_thread(a.create_room, OWNER, "Relay", 10)
    keys = f"1{room.number}#{room.pin}##"
    first = caller(a, keys, 1000, 40, tmp_path / "first")
    second = caller(b, keys, 600, 8, tmp_path / "second")
    async with RtpTap(first.media_port) as first_tap, first:
        await until(lambda: len(participants(a, room.id)) == 1, 30, "the room runs on a")
        async with RtpTap(second.media_port) as second_tap, second:
            await until(lambda: len(participants(a, room.id)) == 2, 40, "the second caller is on a")
            assert "passed on to node " + cluster.node_ids[0] in b.log_path.read_text()
            assert await second.wait(60) == 0, second.report()
        await until(lambda: len(participants(a, room.id)) == 1, 15, "the hang-up reached the owner")
        await first.kill()
    assert hears(heard(second_tap), 1000), "the caller on b hears the caller on a"
    assert hears(heard(first_tap), 600), "the caller on a hears the caller on b"
    # typed nothing on a: had a asked for a second menu, the caller would never be there
    assert "relayed call" in b.log_path.read_text(), "b relayed until the hang-up"


@pytest.mark.parametrize("kind", ["forged", "expired"])
async def test_a_bad_admit_token_gets_403(cluster: Cluster, kind: str) -> None:
    a = cluster.a
    await asyncio.to_thread(a.create_owner, OWNER)
    room = await asyncio.to_thread(a.create_room, OWNER, "Guarded", 10)
    made = time.time() - (admit_token.LIFETIME + 1 if kind == "expired" else 0)
    secret = SECRET.encode() if kind == "expired" else b"a guessed secret"
    token = admit_token.issue(
        secret,
        room_id=room.id,
        role=Role.MODERATOR,
        caller="666",
        node_id=cluster.node_ids[0],
        now=made,
    )
    ua = UserAgent("127.0.0.1", 0, timers=FAST)
    await ua.start(tcp=False)
    try:
        offer = offer_answer.offer(
            local_ip="127.0.0.1", local_port=free_port(), session_id=1, session_version=1
        )
        call = await ua.call(
            f"sip:{room.number}@127.0.0.1:{a.sip_port}",
            Peer("UDP", ("127.0.0.1", a.sip_port)),
            offer.to_text().encode(),
            extra_headers=((admit_token.HEADER, token),),
        )
    finally:
        await ua.stop()
    assert (call.state, call.end_reason) == ("ended", "failed:403")
    assert await asyncio.to_thread(participants, a, room.id) == []
    await asyncio.to_thread(a.health)  # the node is fine afterwards (raises unless 200)
