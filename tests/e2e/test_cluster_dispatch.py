"""One SIP address for a cluster (issue 16, F-SC2): three real ``confero serve`` nodes on
one PostgreSQL database behind Kamailio running ``deploy/kamailio.cfg`` as shipped (its
address, timers and node list given as ``-A`` defines, tests/e2e/kamailio.py SipFront).

What a caller and an operator notice: calls to the one address are answered by the
nodes in turn, each caller hearing the voice menu; a node killed with ``kill -9`` is
taken out by the front's OPTIONS probes within :data:`DETECTION` seconds, the calls
placed meanwhile fail over to a live node and none is lost; a node started again gets
calls again as soon as it answers a probe. And the front is no open relay: other
domains, names instead of numbers and other requests than calls are refused.

The nodes run without Redis: dispatching needs none (tests/e2e/test_cluster.py runs
the same three nodes with Redis, a browser and a phone meeting across them).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from soak.server import Server

from confero.media.rtp import RtpPacket
from confero.media.tone import rms
from tests.e2e import scenarios
from tests.e2e.cluster import running_nodes, sip_address
from tests.e2e.kamailio import SipFront, kamailio_available
from tests.e2e.pcap import decode_audio
from tests.e2e.sipp import RtpTap, Sipp, free_port, sipp_available
from tests.store.databases import fresh_database

PROBE_INTERVAL = 1  # s between OPTIONS to each node
PROBE_THRESHOLD = 2  # failed probes before a node is out
NODE_TIMEOUT = 2.0  # s a node has to answer before the call goes to the next one
#: A dead node is out within this many seconds (interval * threshold + timeout + slack).
DETECTION = PROBE_INTERVAL * PROBE_THRESHOLD + NODE_TIMEOUT + 2.0

pytestmark = pytest.mark.skipif(
    not (kamailio_available() and sipp_available()), reason="needs kamailio and sipp"
)


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    async with fresh_database("confero_dispatch") as url:
        yield url


@pytest.fixture
async def nodes(database: str, tmp_path: Path) -> AsyncIterator[list[Server]]:
    """Three nodes on the one database, without Redis (tests/e2e/cluster.py)."""
    async with running_nodes(tmp_path, database, {}) as servers:
        yield servers


@pytest.fixture
async def front(nodes: list[Server]) -> AsyncIterator[SipFront]:
    sip = SipFront(
        [sip_address(n) for n in nodes],
        probe_interval=PROBE_INTERVAL,
        probe_threshold=PROBE_THRESHOLD,
        node_timeout=NODE_TIMEOUT,
    )
    async with sip:
        for node in nodes:  # every node answered a probe: all of them in the set
            assert "DOWN" not in sip.node_events(sip_address(node))
        yield sip


@dataclass(frozen=True)
class Answered:
    """One call through the front: the SIP port of the node whose 200 answered it (None:
    not answered), and the loudness of what the caller heard."""

    node_port: int | None
    loudness: float


async def call(
    front: SipFront, workdir: Path, transport: Literal["udp", "tcp"] = "udp"
) -> Answered:
    """A call to the access number through the front: answered, 2 s of the voice menu
    heard, hung up."""
    sipp = Sipp(
        scenarios.dial(None, hold_seconds=2.0, answer_timeout=NODE_TIMEOUT * 4),
        front.address,
        transport=transport,
        service="5000",
        workdir=workdir,
    )
    async with RtpTap(sipp.media_port) as tap, sipp:
        code = await sipp.wait(60)
    heard = decode_audio([RtpPacket.parse(p.payload) for p in tap.packets])
    if code != 0:
        return Answered(None, 0.0)
    return Answered(answering_port(sipp.messages), rms(heard) if len(heard) else 0.0)


def answering_port(messages: str) -> int | None:
    """The port in the Contact of the 200 to the INVITE (a node's own SIP address)."""
    for chunk in re.split(r"\n-{5,}.*\n", messages):
        if "SIP/2.0 200" in chunk and re.search(r"CSeq: *1 INVITE", chunk):
            found = re.search(r"^Contact: *<sip:[^>]*:(\d+)[;>]", chunk, re.MULTILINE)
            if found:
                return int(found.group(1))
    return None


async def calls_in_turn(front: SipFront, workdir: Path, count: int) -> list[Answered]:
    return [await call(front, workdir / f"call{i}") for i in range(count)]


def assert_all_heard_the_menu(answers: list[Answered], ports: set[int]) -> None:
    for answer in answers:
        assert answer.node_port in ports, f"a call not answered by a live node: {answers}"
        assert answer.loudness > 300, f"a caller heard no voice menu: {answers}"


async def test_calls_spread_over_nodes_and_skip_a_dead_one(
    front: SipFront, nodes: list[Server], tmp_path: Path
) -> None:
    ports = {n.sip_port for n in nodes}
    # (a) six new calls to the one address: two on each node, round robin
    spread = await calls_in_turn(front, tmp_path / "spread", 6)
    assert_all_heard_the_menu(spread, ports)
    assert sorted(Counter(a.node_port for a in spread).values()) == [2, 2, 2], spread
    for node in nodes:  # each node's own log agrees
        assert node.log_path.read_text().count("incoming call from") == 2
    # the same address over TCP (the front reaches the node over UDP)
    assert_all_heard_the_menu([await call(front, tmp_path / "tcp", "tcp")], ports)

    # (b) kill -9 one node: the probes take it out within DETECTION seconds, and from
    # then on every call goes to a live node
    dead = nodes[1]
    await asyncio.to_thread(dead.kill)
    taken_out = await front.wait_event(sip_address(dead), "DOWN", after=0, within=DETECTION)
    live = ports - {dead.sip_port}
    after = await calls_in_turn(front, tmp_path / "after", 4)
    assert_all_heard_the_menu(after, live)
    assert {a.node_port for a in after} == live

    # (c) the node started again answers a probe, is back in, and gets its calls
    await asyncio.to_thread(dead.start)
    await front.wait_event(sip_address(dead), "UP", after=1, within=PROBE_INTERVAL * 3 + 2)
    back = await calls_in_turn(front, tmp_path / "back", 6)
    assert_all_heard_the_menu(back, ports)
    assert Counter(a.node_port for a in back)[dead.sip_port] == 2, back

    # (d) calls placed the moment a node dies, before any probe noticed: the one sent to
    # the dead node goes to the next node after NODE_TIMEOUT; none is lost
    gone = nodes[2]
    await asyncio.to_thread(gone.kill)
    window = await asyncio.gather(*(call(front, tmp_path / f"window{i}") for i in range(3)))
    assert_all_heard_the_menu(window, ports - {gone.sip_port})
    assert "goes to the next node" in front.log
    # the call that found it dead took it out at once, without waiting for the probes
    await front.wait_event(sip_address(gone), "DOWN", after=0, within=1)
    print(f"dead node taken out by probing after {taken_out:.1f} s")


def _request(method: str, uri: str) -> str:
    return "\n".join(
        [
            f"{method} {uri} SIP/2.0",
            "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
            "From: <sip:sipp@[local_ip]:[local_port]>;tag=[pid]relay",
            f"To: <{uri}>",
            "Call-ID: [call_id]",
            f"CSeq: 1 {method}",
            "Contact: <sip:sipp@[local_ip]:[local_port]>",
            "Max-Forwards: 70",
            "Content-Length: 0",
        ]
    )


@pytest.mark.parametrize(
    ("method", "uri", "status"),
    [
        ("INVITE", "sip:5000@elsewhere.example.org", 403),  # not our domain: no open relay
        ("INVITE", "sip:alice@sip.confero.test", 404),  # only numbers are dialled here
        ("MESSAGE", "sip:5000@sip.confero.test", 405),  # only calls start here
        ("OPTIONS", "sip:sip.confero.test", 200),  # the front's own health check
    ],
)
async def test_the_front_refuses_what_is_not_a_call_to_us(
    method: str, uri: str, status: int, tmp_path: Path
) -> None:
    unused = ("127.0.0.1", free_port())  # no node needed: refused before dispatching
    async with SipFront([unused], domain="sip.confero.test") as sip:
        xml = scenarios.raw(_request(method, uri), expect_status=status)
        async with Sipp(xml, sip.address, workdir=tmp_path / "sipp") as sipp:
            assert await sipp.wait(30) == 0, sipp.report()
