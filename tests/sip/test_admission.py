"""SIP admission control (issue 14, Deliver 1): the policy's counters, then a real user
agent over UDP flooded from one address while OPTIONS and another address still get
through."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from confero.config import Settings
from confero.media.engine import MediaEngine
from confero.phone.stack import admission, machine_max_calls
from confero.sip.admission import AdmissionLimits, SipAdmission
from confero.sip.message import Response, parse
from confero.sip.transaction import Timers
from confero.sip.ua import SipCall, UserAgent

FAST = Timers(t1=0.05, t2=0.4, t4=0.2)
SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 0\r\n"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- the policy
def test_a_burst_over_the_rate_gets_503_then_a_ban_with_403_that_ends() -> None:
    clock = Clock()
    policy = SipAdmission(
        AdmissionLimits(invite_rate=2, invite_burst=3, ban_after=4, ban_seconds=30), clock
    )
    assert [policy.check("10.0.0.1") for _ in range(3)] == [None, None, None]
    refused = policy.check("10.0.0.1")
    assert refused is not None and (refused.status, refused.retry_after) == (503, 1)
    assert policy.check("10.0.0.2") is None, "another source has its own bucket"
    for _ in range(2):
        assert policy.check("10.0.0.1") is not None
    banned = policy.check("10.0.0.1")
    assert banned is not None and (banned.status, banned.retry_after) == (403, 30)
    clock.now += 10
    still = policy.check("10.0.0.1")
    assert still is not None and (still.status, still.retry_after) == (403, 20)
    clock.now += 21
    assert policy.check("10.0.0.1") is None, "the ban is over and the bucket full again"


def test_concurrent_calls_in_total_and_per_source_are_capped_and_released() -> None:
    policy = SipAdmission(AdmissionLimits(max_calls=3, max_calls_per_source=2), Clock())
    for _ in range(2):
        assert policy.check("10.0.0.1") is None
        policy.started("10.0.0.1")
        policy.confirmed("10.0.0.1")
    busy = policy.check("10.0.0.1")
    assert busy is not None and busy.status == 503 and busy.retry_after > 0
    assert policy.check("10.0.0.2") is None
    policy.started("10.0.0.2")
    policy.confirmed("10.0.0.2")
    full = policy.check("10.0.0.3")
    assert full is not None and full.status == 503, "3 calls in total"
    policy.ended("10.0.0.1")
    assert policy.check("10.0.0.1") is None
    assert policy.calls == 2 and policy.calls_from("10.0.0.1") == 1


def test_calls_not_yet_acked_hold_few_places_per_source_and_half_in_total() -> None:
    """Issue 14's rerun: two addresses that never ACK filled every place for 32 s at a
    time. Unconfirmed calls now hold at most a few places per source, and when they
    hold half of all, the user agent drops the oldest (below)."""
    policy = SipAdmission(
        AdmissionLimits(max_calls=8, max_calls_per_source=8, max_pending_per_source=2), Clock()
    )
    for _ in range(2):
        assert policy.check("10.0.0.1") is None
        policy.started("10.0.0.1")
    pending = policy.check("10.0.0.1")
    assert pending is not None and pending.status == 503 and "not answered" in pending.reason
    for _ in range(2):
        assert policy.check("10.0.0.2") is None
        policy.started("10.0.0.2")
    assert policy.pending_full(), "4 of 8 places pending: the oldest must go first"
    assert policy.check("10.0.0.3") is None, "a new caller is not refused for it"
    policy.confirmed("10.0.0.1")  # its ACK came
    assert not policy.pending_full()
    policy.ended("10.0.0.2", confirmed=False)  # timer H: never ACKed
    assert (policy.pending, policy.calls) == (2, 3)


def test_a_flood_that_gets_some_through_still_ends_in_a_ban() -> None:
    """At five times the rate one INVITE in five is admitted; that must not reset the
    count of refusals (the rerun found the ban never came)."""
    clock = Clock()
    policy = SipAdmission(
        AdmissionLimits(invite_rate=20, invite_burst=4, ban_after=10, ban_seconds=60), clock
    )
    answers = []
    for _ in range(100):
        answers.append(policy.check("10.0.0.1"))
        clock.now += 0.01  # 100 a second
    assert any(a is None for a in answers[5:]), "the rate still lets some through"
    banned = [a for a in answers if a is not None and a.status == 403]
    assert banned, "and the source is banned"


def test_an_overloaded_node_sheds_new_calls_and_keeps_its_own() -> None:
    busy = [False]
    policy = SipAdmission(AdmissionLimits(max_calls=10), Clock(), overloaded=lambda: busy[0])
    assert policy.check("10.0.0.1") is None
    policy.started("10.0.0.1")
    busy[0] = True
    shed = policy.check("10.0.0.2")
    assert shed is not None and shed.status == 503 and "overloaded" in shed.reason
    assert shed.retry_after > 0 and policy.calls == 1, "the call already in is untouched"
    busy[0] = False
    assert policy.check("10.0.0.2") is None


def test_the_phone_stack_sheds_on_the_media_ticks_lag() -> None:
    engine = MediaEngine()
    policy = admission(Settings(sip_overload_lag_ms=10), engine)
    assert policy.overloaded is not None and not policy.overloaded()
    engine.stats.lag = 0.015
    assert policy.overloaded()
    assert admission(Settings(sip_overload_lag_ms=0), engine).overloaded is None


def test_the_table_of_sources_is_bounded() -> None:
    clock = Clock()
    policy = SipAdmission(AdmissionLimits(invite_rate=1, invite_burst=1, max_sources=2), clock)
    assert policy.check("a") is None and policy.check("b") is None
    refused = policy.check("c")
    assert refused is not None and refused.status == 503, "a flood of addresses is overload"
    clock.now += 2  # a and b are idle again: dropped for c
    assert policy.check("c") is None


def test_settings_build_the_policy_sized_to_the_machine() -> None:
    limits = admission(Settings()).limits
    assert limits.max_calls == machine_max_calls() >= 200
    assert (limits.max_calls_per_source, limits.invite_rate, limits.invite_burst) == (100, 20, 40)
    assert machine_max_calls(64) == 2000 and machine_max_calls(3) == 300
    off = admission(Settings(sip_invite_rate=0, sip_invite_ban=0)).limits
    assert off.invite_rate == 0 and off.ban_after == 0


# ---------------------------------------------------------------- a real UA over UDP
class Raw:
    """A UDP socket on ``host`` that speaks SIP by hand."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        #: when each Call-ID's first final response came (the loop's clock)
        self.arrived: dict[str, float] = {}

    def send(self, text: str, port: int) -> None:
        self.sock.sendto(text.replace("\n", "\r\n").encode(), ("127.0.0.1", port))

    def request(
        self, method: str, call_id: str, port: int, body: bytes = b"", *, relayed: str = ""
    ) -> None:
        """``relayed``: the caller's Via below ours, as a proxy forwards a request."""
        kind = "Content-Type: application/sdp\n" if body else ""
        below = f"Via: {relayed}\n" if relayed else ""
        self.send(
            f"{method} sip:100@127.0.0.1 SIP/2.0\n"
            f"Via: SIP/2.0/UDP {self.host}:{self.port};branch=z9hG4bK-{call_id};rport\n"
            + below
            + f"From: <sip:alice@{self.host}>;tag=a-{call_id}\nTo: <sip:100@127.0.0.1>\n"
            f"Call-ID: {call_id}\nCSeq: 1 {method}\nMax-Forwards: 70\n"
            f"Contact: <sip:alice@{self.host}:{self.port}>\n{kind}"
            f"Content-Length: {len(body)}\n\n" + body.decode(),
            port,
        )

    async def finals(self, seconds: float) -> dict[str, Response]:
        """The first final response per Call-ID within ``seconds``."""
        out: dict[str, Response] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(loop.sock_recv(self.sock, 65535), left)
            except TimeoutError:
                break
            msg = parse(data)
            if isinstance(msg, Response) and msg.status >= 200:
                out.setdefault(msg.call_id, msg)
                self.arrived.setdefault(msg.call_id, loop.time())
        return out

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[UserAgent, list[SipCall]]]:
    ua = UserAgent("127.0.0.1", 0, timers=FAST)
    ua.admission = SipAdmission(
        AdmissionLimits(
            max_calls=50, max_calls_per_source=50, invite_rate=5, invite_burst=5, ban_after=100
        )
    )
    taken: list[SipCall] = []

    def take(call: SipCall) -> None:  # rings and stays ringing: a call that costs us
        taken.append(call)
        call.ring()

    ua.on_invite = take
    await ua.start(tcp=False)
    yield ua, taken
    await ua.stop()
    assert ua.admission.calls == 0, "every admitted call was released"


async def test_an_invite_flood_from_one_source_gets_503_while_options_and_others_get_in(
    server: tuple[UserAgent, list[SipCall]],
) -> None:
    ua, taken = server
    flood, other = Raw(), Raw("127.0.0.2")
    try:
        for n in range(40):
            flood.request("INVITE", f"flood-{n}", ua.port, SDP)
        loop = asyncio.get_running_loop()
        started = loop.time()
        flood.request("OPTIONS", "ping", ua.port)
        other.request("INVITE", "other", ua.port, SDP)
        answers = await flood.finals(1.0)
        assert answers["ping"].status == 200, "OPTIONS answered during the flood"
        # within a fraction of a second, not the 30 s of the attack run (the soak measures
        # the 100 ms bound on a quiet machine; here two shards share two cores)
        assert flood.arrived["ping"] - started < 0.5
        refused = [r for key, r in answers.items() if key.startswith("flood-")]
        assert len(refused) == 35, "5 admitted (ringing, no final yet), 35 refused"
        assert {r.status for r in refused} == {503}
        assert all(int(r.headers.get("Retry-After") or 0) >= 1 for r in refused)
        assert all(r.to.tag for r in refused)
        assert len([c for c in taken if c.peer.address[0] == "127.0.0.1"]) == 5
        await asyncio.sleep(0.3)  # stateless: a refused INVITE's 503 is never repeated
        assert not await flood.finals(0.3)
        assert any(c.call_id == "other" for c in taken), "another source still gets a call"
        assert loop.time() - started < 2
        assert ua.admission is not None and ua.admission.calls == 6
        # the 6 calls' INVITEs and the OPTIONS: none kept for a refused INVITE
        assert ua.transactions.pending == 7
    finally:
        flood.close()
        other.close()


async def test_a_source_that_keeps_flooding_is_banned_with_403(
    server: tuple[UserAgent, list[SipCall]],
) -> None:
    ua, taken = server
    assert ua.admission is not None
    ua.admission.limits = AdmissionLimits(
        invite_rate=1, invite_burst=1, ban_after=3, ban_seconds=60
    )
    flood = Raw()
    try:
        for n in range(6):
            flood.request("INVITE", f"f{n}", ua.port, SDP)
        answers = await flood.finals(1.0)
        statuses = [answers[f"f{n}"].status for n in range(1, 6)]
        assert statuses == [503, 503, 403, 403, 403]
        assert answers["f5"].headers.get("Retry-After") in ("59", "60")
        assert len(taken) == 1
    finally:
        flood.close()


async def test_ended_calls_free_their_place(server: tuple[UserAgent, list[SipCall]]) -> None:
    ua, taken = server
    assert ua.admission is not None
    ua.admission.limits = AdmissionLimits(max_calls_per_source=1)
    raw = Raw()
    try:
        raw.request("INVITE", "one", ua.port, SDP)
        raw.request("INVITE", "two", ua.port, SDP)
        answers = await raw.finals(0.5)
        assert answers["two"].status == 503 and "one" not in answers
        taken[0].reject(486, "Busy Here")
        raw.request("INVITE", "three", ua.port, SDP)
        answers = await raw.finals(0.5)
        assert answers["one"].status == 486 and "three" not in answers
        assert [c.call_id for c in taken] == ["one", "three"]
    finally:
        raw.close()


async def test_when_unacked_calls_hold_half_the_places_the_oldest_makes_room(
    server: tuple[UserAgent, list[SipCall]],
) -> None:
    """Forged sources that never ACK (12 of them filled every place in the rerun): a
    new caller gets in, and the oldest call still waiting for its ACK is dropped
    without a BYE to its address."""
    ua, _ = server
    ua.admission = SipAdmission(AdmissionLimits(max_calls=4, max_pending_per_source=1))
    calls: list[SipCall] = []
    ua.on_invite = lambda call: (calls.append(call), call.answer(SDP))  # type: ignore[func-returns-value]
    silent = [Raw(f"127.0.0.{n}") for n in (2, 3)]
    caller = Raw("127.0.0.4")
    try:
        for n, raw in enumerate(silent):
            raw.request("INVITE", f"silent-{n}", ua.port, SDP)
            assert (await raw.finals(0.3))[f"silent-{n}"].status == 200
        assert ua.admission.pending_full()
        caller.request("INVITE", "real", ua.port, SDP)
        ok = (await caller.finals(0.3))["real"]
        assert ok.status == 200, "not refused"
        assert calls[0].end_reason == "no_ack", "the oldest waiting call was dropped"
        assert calls[1].state == "answered" and calls[2].state == "answered"
        while True:  # what was sent before the drop
            try:
                silent[0].sock.recv(65535)
            except BlockingIOError:
                break
        late = await silent[0].finals(0.6)
        assert "silent-0" not in late, "no BYE, and its 200 is not repeated any more"
        assert "silent-1" in await silent[1].finals(0.6), "(the other's 200 still repeats)"
    finally:
        for raw in (*silent, caller):
            raw.close()


def test_each_refusal_says_its_kind_for_the_metrics() -> None:
    """Issue 18: refused calls are counted by reason: rate, ban, call limit, overload."""
    clock = Clock()
    policy = SipAdmission(
        AdmissionLimits(invite_rate=1, invite_burst=1, ban_after=2, ban_seconds=30, max_calls=1),
        clock,
    )
    assert policy.check("10.0.0.1") is None
    policy.started("10.0.0.1")
    rate = policy.check("10.0.0.1")
    ban = policy.check("10.0.0.1")
    assert rate is not None and ban is not None
    assert (rate.kind, ban.kind) == ("rate_limited", "rate_limited")
    full = policy.check("10.0.0.2")
    assert full is not None and full.kind == "full"
    policy.overloaded = lambda: True
    shed = policy.check("10.0.0.3")
    assert shed is not None and shed.kind == "overloaded"


async def test_behind_a_trusted_proxy_each_caller_is_its_own_source(
    server: tuple[UserAgent, list[SipCall]],
) -> None:
    """Issue 16: behind the cluster's Kamailio every INVITE comes from one address; the
    caller is the hop the proxy's Via below names (``received=``), and only a proxy we
    trust is believed: the same Vias from anyone else count against their sender."""
    ua, taken = server
    assert ua.admission is not None
    ua.admission.limits = AdmissionLimits(max_calls_per_source=1)
    ua.trusted_proxy = lambda host: host == "127.0.0.5"
    proxy, stranger = Raw("127.0.0.5"), Raw("127.0.0.6")
    try:
        for n, caller in enumerate(("203.0.113.7", "203.0.113.8")):
            via = f"SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-c{n};received={caller};rport=5062"
            proxy.request("INVITE", f"via-{n}", ua.port, SDP, relayed=via)
        forged = "SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bK-f;received=198.51.100.9"
        for n in range(2):
            stranger.request("INVITE", f"forged-{n}", ua.port, SDP, relayed=forged)
        await proxy.finals(0.5)
        refused = await stranger.finals(0.5)
        assert sorted(c.source for c in taken) == ["127.0.0.6", "203.0.113.7", "203.0.113.8"]
        assert ua.admission.calls_from("203.0.113.7") == 1
        assert ua.admission.calls_from("127.0.0.5") == 0, "the proxy is nobody's source"
        assert refused["forged-1"].status == 503, "a stranger's Vias move nothing"
    finally:
        proxy.close()
        stranger.close()
