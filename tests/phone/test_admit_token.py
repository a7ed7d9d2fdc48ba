"""The admit token of a call passed between nodes (issue 16, phone/admit_token.py), and
what the owner's bridge does with an INVITE carrying one: a good token joins the caller
straight into the room with its role (no voice menu), a bad one gets 403."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

from confero.app.caller_names import MemoryCallerNames
from confero.app.services import Services
from confero.app.session import TokenRecord
from confero.domain import commands as c
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.media.rtp import RtpPacket
from confero.media.tone import rms, sine
from confero.phone import admit_token
from confero.phone.admit_token import AdmitRefused, AdmitVerifier, issue, read
from confero.phone.stack import PhoneStack
from confero.sip import offer_answer
from confero.sip.transport import Peer
from confero.sip.ua import SipCall, UserAgent
from tests.e2e.pcap import decode_audio
from tests.phone.softphone import FAST, HOST
from tests.phone.support import eventually, people

SECRET = b"a cluster secret of the test"
NOW = 1_800_000_000.0


def token(**overrides: object) -> str:
    fields: dict[str, object] = {
        "room_id": "room-1",
        "role": Role.MODERATOR,
        "caller": "+4930123",
        "node_id": "b",
        "now": NOW,
    }
    fields.update(overrides)
    return issue(SECRET, **fields)  # type: ignore[arg-type]


def test_a_token_carries_what_the_first_node_vouches_for() -> None:
    claims = read(SECRET, token(), now=NOW + 1)
    assert (claims.room_id, claims.role, claims.caller, claims.node_id) == (
        "room-1",
        Role.MODERATOR,
        "+4930123",
        "b",
    )
    assert claims.expires == NOW + admit_token.LIFETIME


def test_a_token_of_another_secret_is_refused() -> None:
    with pytest.raises(AdmitRefused) as refused:
        read(b"another cluster", token(), now=NOW)
    assert refused.value.reason == "bad admit signature"


@pytest.mark.parametrize(
    ("forged", "reason"),
    [
        ("x" + token(), "bad admit signature"),  # the payload changed
        ("e30." + token().split(".")[1], "bad admit signature"),  # {} under a real signature
        (token().split(".")[0], "malformed admit token"),  # no signature
        (token() + "!!", "malformed admit token"),
        ("", "malformed admit token"),
    ],
)
def test_a_forged_token_is_refused(forged: str, reason: str) -> None:
    with pytest.raises(AdmitRefused) as refused:
        read(SECRET, forged, now=NOW)
    assert refused.value.reason == reason


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(AdmitRefused, match="expired"):
        read(SECRET, token(), now=NOW + admit_token.LIFETIME)


def test_a_token_is_good_once_and_on_its_node_only() -> None:
    now = [NOW]
    b = AdmitVerifier(SECRET, "b", clock=lambda: now[0])
    given = token()
    assert b.verify(given).caller == "+4930123"
    with pytest.raises(AdmitRefused, match="already used"):
        b.verify(given)
    with pytest.raises(AdmitRefused, match="another node"):
        AdmitVerifier(SECRET, "c", clock=lambda: now[0]).verify(token())
    now[0] += admit_token.LIFETIME + 1  # the used id is forgotten with its expiry
    b.verify(token(now=now[0]))
    assert len(b._used) == 1


# ---------------------------------------------------------------- the owner's bridge
@pytest.fixture
async def owner(phone: PhoneStack) -> PhoneStack:
    phone.bridge.cluster_secret = SECRET
    phone.bridge.admit = AdmitVerifier(SECRET, "b")
    return phone


@pytest.fixture
async def first_node() -> AsyncIterator[UserAgent]:
    ua = UserAgent(HOST, 0, timers=FAST)  # the first node's relay, off 127.0.0.1's strays
    await ua.start(tcp=False)
    yield ua
    await ua.stop()


def relayed_token(room: Room, resume: str, role: Role = Role.PARTICIPANT) -> str:
    """The admit token the first node makes for the caller +4930123, for node b."""
    return issue(SECRET, room_id=room.id, role=role, caller="+4930123", node_id="b", resume=resume)


async def relayed_invite(ua: UserAgent, owner: PhoneStack, header: str | None) -> SipCall:
    offer = offer_answer.offer(
        local_ip="127.0.0.1", local_port=40_010, session_id=1, session_version=1
    )
    extra = ((admit_token.HEADER, header),) if header is not None else ()
    return await ua.call(
        f"sip:5000@127.0.0.1:{owner.ua.port}",
        Peer("UDP", ("127.0.0.1", owner.ua.port)),
        offer.to_text().encode(),
        from_user="4930123",
        extra_headers=extra,
    )


async def test_a_relayed_call_joins_with_its_role_and_no_voice_menu(
    owner: PhoneStack, first_node: UserAgent, room: Room, services: Services
) -> None:
    given = issue(SECRET, room_id=room.id, role=Role.MODERATOR, caller="+4930123", node_id="b")
    call = await relayed_invite(first_node, owner, given)
    assert call.state == "confirmed"
    # no PIN typed, no name recorded: in the room within a moment, as the token says
    await eventually(lambda: len(people(services, room)) == 1, 3)
    (person,) = people(services, room)
    assert person["role"] == "moderator"
    assert "+4930123" in str(person["display_name"])
    call.hangup()
    await eventually(lambda: len(people(services, room)) == 0, 5)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("forged", "bad admit signature"),
        ("expired", "expired admit token"),
        ("replayed", "admit token already used"),
        ("one process", "not a cluster node"),
    ],
)
async def test_a_bad_token_is_refused_with_403_before_any_menu(
    owner: PhoneStack,
    first_node: UserAgent,
    room: Room,
    services: Services,
    kind: str,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    given = issue(SECRET, room_id=room.id, role=Role.MODERATOR, caller="1", node_id="b")
    if kind == "forged":
        given = issue(b"guess", room_id=room.id, role=Role.MODERATOR, caller="1", node_id="b")
    elif kind == "expired":
        made = time.time() - admit_token.LIFETIME - 1
        given = issue(
            SECRET, room_id=room.id, role=Role.MODERATOR, caller="1", node_id="b", now=made
        )
    elif kind == "replayed":
        first = await relayed_invite(first_node, owner, given)
        first.hangup()
    else:
        owner.bridge.admit = None  # no cluster: nobody vouches for anyone
    await eventually(lambda: owner.bridge.tasks == 0, 5)
    caplog.clear()
    with caplog.at_level("INFO", logger="confero.phone.bridge"):
        call = await relayed_invite(first_node, owner, given)
    assert (call.state, call.end_reason) == ("ended", "failed:403")
    assert f"refused: {reason}" in caplog.text
    assert owner.bridge.tasks == 0, "no call task: the voice menu never started"
    assert people(services, room) == []


# ---------------------------------------------------------------- count and return
async def media_endpoint() -> tuple[asyncio.DatagramTransport, list[bytes]]:
    """The first node's relay socket, as the owner sees it: what the caller would hear."""
    got: list[bytes] = []

    class Inbox(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            got.append(data)

    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Inbox, local_addr=(HOST, 0)
    )
    return transport, got


async def relayed_call_hearing(ua: UserAgent, owner: PhoneStack, header: str, port: int) -> SipCall:
    offer = offer_answer.offer(
        local_ip=HOST, local_port=port, session_id=1, session_version=1, codecs=("PCMU",)
    )
    return await ua.call(
        f"sip:5000@127.0.0.1:{owner.ua.port}",
        Peer("UDP", ("127.0.0.1", owner.ua.port)),
        offer.to_text().encode(),
        from_user="4930123",
        extra_headers=((admit_token.HEADER, header),),
    )


def loudness(packets: list[bytes]) -> float:
    return rms(decode_audio([RtpPacket.parse(p) for p in packets if len(p) > 12]))


async def test_the_owner_tells_a_relayed_caller_the_count_once(
    owner: PhoneStack, first_node: UserAgent, room: Room, services: Services
) -> None:
    """Issue 16: the first node's menu cannot count a room it does not run; the owner
    says "there is one participant" before the caller is in (silence before the fix: the
    room has nobody speaking). A call that joins again after an owner died (its record
    is known here) hears no second count."""
    await services.conferences.join(
        room, display_name="Hanna", role=Role.MODERATOR, channel="api", identity="api:h"
    )
    transport, got = await media_endpoint()
    port = transport.get_extra_info("sockname")[1]
    resume = secrets.token_urlsafe(24)
    given = relayed_token(room, resume)
    try:
        call = await relayed_call_hearing(first_node, owner, given, port)
        assert call.state == "confirmed"
        await eventually(lambda: len(people(services, room)) == 2, 10)
        assert loudness(got) > 300, "the count was said before the caller went in"
        call.hangup()
        await eventually(lambda: len(people(services, room)) == 1, 5)

        got.clear()  # the same call again, as after its owner died: it was in
        again = relayed_token(room, resume)
        call = await relayed_call_hearing(first_node, owner, again, port)
        await eventually(lambda: len(people(services, room)) == 2, 3)
        await asyncio.sleep(0.5)
        assert loudness(got) < 100, "no second count"
        call.hangup()
    finally:
        transport.close()


@pytest.mark.parametrize("let_in", [True, False])
async def test_a_relayed_call_that_was_let_in_does_not_knock_again(
    owner: PhoneStack,
    first_node: UserAgent,
    room: Room,
    services: Services,
    let_in: bool,
) -> None:
    """Issue 16: the room's owner died, its meeting formed again here with the stored
    lock; the relayed call comes back with its resume token. Its record (kept by the dead
    owner in the cluster's store) says it had been let in: in at once; it had only
    knocked: it knocks again. A token nobody recorded knocks."""
    host, _ = await services.conferences.join(
        room, display_name="Hanna", role=Role.MODERATOR, channel="api", identity="api:h"
    )
    await services.conferences.command(room, c.Lock(by=host))
    resume = secrets.token_urlsafe(24)
    record = TokenRecord(
        "pid-on-b", room.id, "phone:call-on-b", "Phone +4930123", Role.PARTICIPANT, let_in
    )
    await owner.bridge.sessions.tokens.put(resume, record, 60)
    given = relayed_token(room, resume)
    call = await relayed_invite(first_node, owner, given)
    stranger = await relayed_invite(
        first_node,
        owner,
        issue(
            SECRET,
            room_id=room.id,
            role=Role.PARTICIPANT,
            caller="666",
            node_id="b",
            resume=secrets.token_urlsafe(24),
        ),
    )
    try:
        lobby = lambda: services.conferences.snapshot(room)["lobby"]  # noqa: E731
        await eventually(lambda: len(lobby()) == (1 if let_in else 2), 10)
        inside = [p["id"] for p in people(services, room)]
        assert ("pid-on-b" in inside) is let_in, "in again only if it had been let in"
        assert "pid-on-b" in inside or "pid-on-b" in [k["id"] for k in lobby()]
    finally:
        call.hangup()
        stranger.hangup()


async def test_a_relayed_call_admitted_from_the_lobby_is_recorded_as_let_in(
    owner: PhoneStack, first_node: UserAgent, room: Room, services: Services
) -> None:
    """The owner keeps the call's record under the token's ``resume``: knocking, then
    admitted, as the conference says (what the next owner reads)."""
    host, _ = await services.conferences.join(
        room, display_name="Hanna", role=Role.MODERATOR, channel="api", identity="api:h"
    )
    await services.conferences.command(room, c.Lock(by=host))
    resume = secrets.token_urlsafe(24)
    given = relayed_token(room, resume)
    call = await relayed_invite(first_node, owner, given)
    try:
        tokens = owner.bridge.sessions.tokens
        lobby = lambda: services.conferences.snapshot(room)["lobby"]  # noqa: E731
        await eventually(lambda: len(lobby()) == 1, 10)
        knocking = await tokens.get(resume)
        assert knocking is not None and not knocking.admitted
        await services.conferences.command(room, c.Admit(by=host, target=str(lobby()[0]["id"])))

        async def let_in() -> bool:
            found = await tokens.get(resume)
            return found is not None and found.admitted

        await eventually(let_in, 5)
    finally:
        call.hangup()


async def test_the_owner_announces_a_relayed_caller_by_the_name_said_on_the_first_node(
    owner: PhoneStack, first_node: UserAgent, room: Room, services: Services
) -> None:
    """Issue 16: the caller said their name in the first node's menu; that node put the
    recording in the cluster's store under the call's resume token. The owner's
    announcements and ``*3`` list play it (they said "a participant" before)."""
    names = MemoryCallerNames()
    owner.bridge.names = names
    recording = (sine(700, 1.0) // 2).astype(np.int16).tobytes()
    resume = secrets.token_urlsafe(24)
    await names.put(resume, recording)
    given = relayed_token(room, resume)
    call = await relayed_invite(first_node, owner, given)
    try:
        await eventually(lambda: len(people(services, room)) == 1, 5)
        (person,) = people(services, room)
        name = owner.bridge.name_of(str(person["id"]))
        assert name is not None, "the owner has the caller's own recording"
        assert name.tobytes() == recording
    finally:
        call.hangup()
