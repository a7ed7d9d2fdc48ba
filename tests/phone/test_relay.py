"""The RTP relay of a call passed on to another node (issue 16, phone/relay.py), on real
UDP sockets on loopback: the caller, the caller's leg socket on this node, the owner."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from confero.app.caller_names import MemoryCallerNames
from confero.app.placement import LocalPlacement, NodeInfo
from confero.app.services import Services
from confero.app.session import TokenRecord
from confero.domain import commands as c
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.media.phone_codecs import PHONE_CODECS
from confero.media.rtp import RtpPacket, RtpSender
from confero.media.tone import rms, sine
from confero.phone import admit_token
from confero.phone.relay import RtpRelay
from confero.phone.stack import PhoneStack
from confero.sip import offer_answer, sdp
from confero.sip.ua import SipCall, UserAgent
from tests.loops import BOTH_LOOPS
from tests.phone.softphone import FAST, HOST, Softphone
from tests.phone.support import eventually

Address = tuple[str, int]
#: An RTP header (version 2, PCMU) and a payload: the relay must not touch either.
RTP = bytes([0x80, 0x00, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4]) + b"\xff" * 160
#: An RTCP receiver report (packet type 201): never relayed.
RTCP = bytes([0x81, 201, 0, 7]) + b"\x00" * 28
SECRET = b"the cluster's secret"


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: asyncio.Queue[tuple[bytes, Address, float]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.got.put_nowait((data, (addr[0], addr[1]), time.perf_counter()))


@dataclass
class Endpoint:
    """A UDP socket of the test's own (a phone, or the owner node's leg)."""

    transport: asyncio.DatagramTransport
    inbox: _Inbox
    sent: list[float] = field(default_factory=list)

    @property
    def address(self) -> Address:
        host, port = self.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def send(self, data: bytes, to: Address) -> None:
        self.sent.append(time.perf_counter())
        self.transport.sendto(data, to)

    async def receive(self, seconds: float = 1.0) -> tuple[bytes, Address, float] | None:
        try:
            return await asyncio.wait_for(self.inbox.got.get(), seconds)
        except TimeoutError:
            return None


async def endpoint() -> Endpoint:
    """On the softphones' own loopback address: no other process's stray RTP reaches it."""
    inbox = _Inbox()
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: inbox, local_addr=(HOST, 0)
    )
    return Endpoint(transport, inbox)


@dataclass
class Scene:
    caller: Endpoint
    leg: Endpoint  # the caller's leg socket on the relaying node (was in its mixer)
    owner: Endpoint
    relay: RtpRelay
    heard: list[float]


@pytest.fixture
async def scene() -> AsyncIterator[Scene]:
    caller, leg, owner = await endpoint(), await endpoint(), await endpoint()
    heard: list[float] = []
    relay = RtpRelay(leg.transport, caller.address, on_caller=lambda: heard.append(1.0))
    await relay.open("127.0.0.1")
    relay.start(owner.address)
    yield Scene(caller, leg, owner, relay, heard)
    relay.close()
    for e in (caller, leg, owner):
        e.transport.close()


@BOTH_LOOPS
async def test_forwards_both_ways_untouched_from_the_ports_each_side_knows(
    scene: Scene,
) -> None:
    scene.caller.send(RTP, scene.leg.address)  # the caller still sends to its old port
    got = await scene.owner.receive()
    assert got is not None and got[0] == RTP, "the owner gets the caller's packet as sent"
    assert got[1] == ("127.0.0.1", scene.relay.port), "from the port our SDP named"
    scene.owner.send(RTP[::-1], ("127.0.0.1", scene.relay.port))
    back = await scene.caller.receive()
    assert back is not None and back[0] == RTP[::-1]
    assert back[1] == scene.leg.address, "the caller hears us from the port it knows"
    assert scene.heard, "the call's media clock heard the caller"
    assert scene.leg.inbox.got.empty(), "the leg's own protocol no longer sees the caller"


async def test_drops_foreign_sources_and_rtcp(scene: Scene) -> None:
    stranger = await endpoint()
    try:
        stranger.send(RTP, scene.leg.address)  # not the latched caller
        stranger.send(RTP, ("127.0.0.1", scene.relay.port))  # not the owner
        scene.caller.send(RTCP, scene.leg.address)
        scene.owner.send(RTCP, ("127.0.0.1", scene.relay.port))
        assert await scene.owner.receive(0.3) is None, "nothing reaches the owner"
        assert await scene.caller.receive(0.1) is None, "nothing reaches the caller"
        assert await stranger.receive(0.1) is None, "no open relay: nothing for the stranger"
        assert scene.relay.stats.dropped == 4
        assert (scene.relay.stats.to_owner, scene.relay.stats.to_caller) == (0, 0)
    finally:
        stranger.transport.close()


async def test_stops_on_close_and_gives_the_socket_back_to_its_leg(scene: Scene) -> None:
    port = scene.relay.port
    scene.relay.close()
    assert scene.relay.closed
    scene.caller.send(RTP, scene.leg.address)
    got = await scene.leg.receive()
    assert got is not None and got[0] == RTP, "the leg's own protocol hears the caller again"
    assert await scene.owner.receive(0.2) is None, "nothing relayed after close"
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind(("127.0.0.1", port))  # the relay's own socket is gone
    finally:
        probe.close()


async def test_added_latency_is_small(scene: Scene) -> None:
    """In at the leg socket, out of the relay socket: no decoding, no buffering. The
    relayed path (two hops) against one direct hop on the same loopback."""
    relayed = await _delays(scene, scene.leg.address)
    direct = await _delays(scene, scene.owner.address)
    print(
        "loopback caller->owner, median/p99 us: relayed "
        f"{relayed[0] * 1e6:.0f}/{relayed[1] * 1e6:.0f}, "
        f"direct {direct[0] * 1e6:.0f}/{direct[1] * 1e6:.0f}"
    )
    assert relayed[0] < 0.005, "a relayed packet is not held back"


async def _delays(scene: Scene, to: Address, count: int = 200) -> tuple[float, float]:
    """Median and 99th percentile of send-to-arrival at the owner."""
    delays = []
    for _ in range(count):
        scene.caller.send(RTP, to)
        got = await scene.owner.receive()
        assert got is not None
        delays.append(got[2] - scene.caller.sent[-1])
        await asyncio.sleep(0.001)
    delays.sort()
    return delays[len(delays) // 2], delays[int(len(delays) * 0.99)]


# ---------------------------------------------------------------- the bridge's side
class _OwnedElsewhere(LocalPlacement):
    """The ``Placement`` port as a cluster answers it when node ``b`` runs every room
    (until ``owner_node`` is None: b died, its leases lapsed, this node may claim)."""

    def __init__(self, owner: NodeInfo) -> None:
        super().__init__(NodeInfo("a", "", "127.0.0.1", 5060, "127.0.0.1"))
        self.owner_node: NodeInfo | None = owner

    async def claim(self, room_id: str) -> NodeInfo:
        return self.owner_node or self.this_node

    async def owner(self, room_id: str) -> NodeInfo | None:
        return self.owner_node


def owned_by(phone: PhoneStack, services: Services, owner_port: int) -> _OwnedElsewhere:
    """This node (``phone``) in a cluster whose node b, at ``owner_port``, runs every room."""
    phone.bridge.cluster_secret = SECRET
    placement = _OwnedElsewhere(NodeInfo("b", "", "127.0.0.1", owner_port, "127.0.0.1"))
    services.registry.placement = placement
    return placement


async def test_an_owner_that_refuses_the_call_gets_the_caller_a_prompt_and_a_bye(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    """The INVITE to the owner fails (503): the caller is told and hung up, not left in
    silence; the INVITE carried the admit token and our relay port."""
    owner = UserAgent("127.0.0.1", 0, timers=FAST)
    await owner.start(tcp=False)
    invites: list[SipCall] = []

    def refuse(call: SipCall) -> None:
        invites.append(call)
        call.reject(503, "Service Unavailable")

    owner.on_invite = refuse
    owned_by(phone, services, owner.port)
    caller = Softphone(phone.ua.port)
    try:
        call = await caller.dial("5000")
        await caller.press(f"1{room.conference_number}#{room.pin}##")
        await eventually(lambda: bool(invites), 15)
        invite = invites[0].invite
        claims = admit_token.read(
            b"the cluster's secret", invite.headers.get(admit_token.HEADER) or ""
        )
        assert (claims.room_id, claims.node_id, claims.caller) == (room.id, "b", caller.user)
        offered = sdp.parse(invite.body.decode()).media[0]
        assert offered.port not in (0, caller.port), "the relay's own port"
        assert "PCMU/8000" in invite.body.decode(), "the caller's codec, as negotiated"
        audio = await caller.listen(1.5)
        assert rms(audio) > 300, "the caller hears why"
        await eventually(lambda: call.state == "ended", 15)
        assert call.end_reason == "bye", "hung up by us, not stuck"
        await eventually(lambda: not phone.bridge.calls, 5)
    finally:
        await caller.hangup()
        await owner.stop()


async def _speak(media: Endpoint, to: Address, frequency: float) -> None:
    """The owner's RTP: a PCMU tone, one packet each 20 ms."""
    encoder = PHONE_CODECS["PCMU"].make_encoder()
    signal = sine(frequency, 1.0, 8000, amplitude=0.3)
    sender = RtpSender(0)
    for i in range(500):
        payload = encoder.encode(signal[(i % 50) * 160 : (i % 50 + 1) * 160])
        media.send(sender.next(payload, 160).to_bytes(), to)
        await asyncio.sleep(0.02)


async def answering_owner(
    media: Endpoint,
    answered: list[SipCall],
    digits: list[str] | None = None,
    first: Callable[[SipCall], None] | None = None,
) -> UserAgent:
    """Our UA as the owner node, started: it answers every INVITE in the caller's codec
    with ``media`` as its RTP address, keeps the call in ``answered`` and the SIP INFO
    digits it gets in ``digits``; ``first`` sees each INVITE before the answer."""
    owner = UserAgent("127.0.0.1", 0, timers=FAST)
    await owner.start(tcp=False)

    def pick_up(call: SipCall) -> None:
        if first is not None:
            first(call)
        answer, _ = offer_answer.answer(
            sdp.parse(call.remote_sdp.decode()),
            local_ip=media.address[0],
            local_port=media.address[1],
            session_id=1,
            session_version=1,
        )
        if digits is not None:
            call.on_digit = digits.append
        call.answer(answer.to_text().encode())
        answered.append(call)

    owner.on_invite = pick_up
    return owner


async def test_a_passed_on_call_is_relayed_both_ways_and_ends_with_the_owner(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    """Our UA as the owner node: it answers with a media socket of the test; the
    caller's tone reaches it untouched, its packets reach the caller, a SIP INFO digit
    is sent on as INFO, and the owner's BYE ends the caller's call."""
    media = await endpoint()
    answered: list[SipCall] = []
    digits: list[str] = []
    owner = await answering_owner(media, answered, digits)
    owned_by(phone, services, owner.port)
    caller = Softphone(phone.ua.port)
    try:
        call = await caller.dial("5000")
        await caller.press(f"1{room.conference_number}#{room.pin}##")
        await eventually(lambda: bool(answered) and answered[0].state == "confirmed", 15)
        caller.start_tone(1000)
        got = await media.receive(2.0)
        assert got is not None and RtpPacket.parse(got[0]).payload_type == 0
        relay_address = got[1]
        assert call.dialog is not None  # the caller's digit as SIP INFO, sent on as INFO
        info = call.dialog.request(
            "INFO", body=b"Signal=5\r\nDuration=160\r\n", content_type="application/dtmf-relay"
        )
        assert (await caller.ua.transactions.request(info, call.dialog.peer).final).status == 200
        await eventually(lambda: digits == ["5"], 5)
        await caller.stop_tone()
        speaking = asyncio.ensure_future(_speak(media, relay_address, 600))
        try:
            assert await caller.hears(600, 0.8), "the caller hears the owner"
        finally:
            speaking.cancel()
        assert phone.bridge.engine.leg_count() == 0, "the caller left our mixer"
        answered[0].hangup()  # the owner ends the call
        await eventually(lambda: call.state == "ended", 5)
        assert call.end_reason == "bye"
        await eventually(lambda: not phone.bridge.calls, 5)
    finally:
        await caller.hangup()
        await owner.stop()
        media.transport.close()


def _someone_in(services: Services, room: Room) -> bool:
    """The meeting formed here and its first comer is in it or its lobby: an actor
    runs (snapshot "running") a moment before its first Join is applied."""
    snapshot = services.conferences.snapshot(room)
    return bool(snapshot["participants"] or snapshot["lobby"])


async def test_a_caller_whose_owner_dies_joins_the_room_again_where_it_runs_now(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    """An owner that dies sends no BYE, only silence: once the cluster no longer names
    it (its lease lapsed), the relayed caller joins the room again, here, in this node's
    mix, instead of sitting in silence until it hangs up."""
    media = await endpoint()
    answered: list[SipCall] = []
    owner = await answering_owner(media, answered)
    placement = owned_by(phone, services, owner.port)
    caller = Softphone(phone.ua.port)
    try:
        await caller.dial("5000")
        await caller.press(f"1{room.conference_number}#{room.pin}##")
        await eventually(lambda: bool(answered) and answered[0].state == "confirmed", 15)
        caller.start_tone(1000)
        got = await media.receive(2.0)
        assert got is not None, "the caller's RTP reaches the owner"
        await caller.stop_tone()
        speaking = asyncio.ensure_future(_speak(media, got[1], 600))
        try:
            assert await caller.hears(600, 0.8), "relayed while the owner lives"
        finally:
            speaking.cancel()
        owner.transactions.close()  # killed: no BYE, no more RTP ...
        await owner.transport.stop()
        placement.owner_node = None  # ... and its lease lapses
        await eventually(lambda: _someone_in(services, room), 10)
        people = services.conferences.snapshot(room)["participants"]
        assert [p["channel"] for p in people] == ["phone"], "the caller is in, here"
        assert phone.bridge.engine.leg_count() == 1, "back in this node's mix"
        assert len(answered) == 1, "not passed on to the dead node again"
    finally:
        await caller.hangup()
        media.transport.close()


@pytest.mark.parametrize("let_in", [True, False])
async def test_a_caller_let_into_a_locked_room_does_not_knock_when_its_owner_dies(
    phone: PhoneStack, room: Room, services: Services, let_in: bool
) -> None:
    """Issue 16: the relayed caller's record, kept by the owner under the resume token of
    its admit token, says whether the owner had let it in. The owner dies; the locked
    room's meeting forms again here: let in, the caller is in at once; only knocking,
    it knocks again."""
    await services.conferences.command(room, c.Lock(by_role=Role.MODERATOR))
    media = await endpoint()
    answered: list[SipCall] = []
    records: list[asyncio.Task[None]] = []

    def keep_record(call: SipCall) -> None:
        claims = admit_token.read(SECRET, call.invite.headers.get(admit_token.HEADER) or "")
        assert claims.resume, "the call's resume token travels in the admit token"
        record = TokenRecord("pid-on-b", room.id, "phone:on-b", "Phone", Role.PARTICIPANT, let_in)
        records.append(
            asyncio.ensure_future(phone.bridge.sessions.tokens.put(claims.resume, record, 60))
        )

    owner = await answering_owner(media, answered, first=keep_record)
    placement = owned_by(phone, services, owner.port)
    caller = Softphone(phone.ua.port)
    try:
        await caller.dial("5000")
        await caller.press(f"1{room.conference_number}#{room.pin}##")
        await eventually(lambda: bool(answered) and answered[0].state == "confirmed", 15)
        await asyncio.gather(*records)
        owner.transactions.close()  # killed: no BYE, no more RTP ...
        await owner.transport.stop()
        placement.owner_node = None  # ... and its lease lapses
        await eventually(lambda: _someone_in(services, room), 10)
        snapshot = services.conferences.snapshot(room)
        assert snapshot["locked"], "the stored lock"
        inside, waiting = snapshot["participants"], snapshot["lobby"]
        assert [p["id"] for p in (inside if let_in else waiting)] == ["pid-on-b"]
        assert (inside if not let_in else waiting) == []
    finally:
        await caller.hangup()
        media.transport.close()


async def test_the_first_node_shares_the_callers_recorded_name_with_the_owner(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    """Issue 16: the caller says their name (a 700 Hz tone here) in this node's menu;
    before the INVITE reaches the owner, the recording is in the cluster's store under
    the resume token the admit token carries, for the owner's announcements."""
    names = MemoryCallerNames()
    phone.bridge.names = names
    media = await endpoint()
    answered: list[SipCall] = []
    resumes: list[str] = []

    def read_resume(call: SipCall) -> None:
        claims = admit_token.read(SECRET, call.invite.headers.get(admit_token.HEADER) or "")
        resumes.append(claims.resume)

    owner = await answering_owner(media, answered, first=read_resume)
    owned_by(phone, services, owner.port)
    caller = Softphone(phone.ua.port)
    try:
        await caller.dial("5000")
        await caller.press(f"1{room.conference_number}#{room.pin}#")
        caller.start_tone(700)  # through "say your name", the beep, and the 5 s it records
        await eventually(lambda: bool(answered) and answered[0].state == "confirmed", 20)
        await caller.stop_tone()
        (resume,) = resumes
        recording = await names.get(resume)
        assert recording is not None, "shared before the owner was called"
        assert rms(np.frombuffer(recording, dtype=np.int16)) > 300, "the caller's voice"
    finally:
        await caller.hangup()
        await owner.stop()
        media.transport.close()
