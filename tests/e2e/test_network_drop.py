"""A browser whose network drops for 10 s comes back as the same participant (issue 14,
F-EN7), in Debian's Chromium against the whole node.

The host's page is opened through a TCP proxy (tests/e2e/tcp_proxy.py) that carries its
HTTP and its WebSocket; another participant, Ann, talks to the server directly. WebRTC
media does not pass the proxy (it goes by UDP straight to the server), so the test drops
it in the server: every datagram of the host's server-side peer connections (ICE, DTLS,
SRTP, both ways) is lost for the same 10 s. What is *not* dropped: Ann's traffic and the
host's loopback to anything else (the page's own JavaScript keeps running, as on a
laptop whose Wi-Fi went away).

Two kinds of drop, because they take different paths through the code:

- ``black_hole``: a pulled cable. Nothing is forwarded and nothing is closed: neither
  the page nor the server sees a close. What actually happens: a 10 s hole is shorter
  than anything that would notice it (the page pings every 25 s and does not time out
  pongs; uvicorn pings every 20 s and waits 20 s for the pong; ICE consent fails after
  about 30 s on both sides), so the socket survives, the held bytes arrive afterwards,
  the peer connections come back by themselves and the participant never left. The test
  checks exactly that: no reconnect, no leave, and audio both ways again.
- ``cut``: the browser's machine notices (interface down, Wi-Fi roamed): its connections
  are reset and new ones are refused for 10 s, while the server's side of the old socket
  just hangs (reset once the network is back). The page retries with its backoff
  (1, 2, 4, 8 s...), gets back in after the 10 s, and rejoins with its ``resume`` token;
  the server has kept the participant for ``CONFERO_RESUME_GRACE`` (30 s by default; the
  shared ``served`` fixture shortens it to 1.5 s, so the test sets the default back).
  This is the case that needs resume: with a grace of 0 the page comes back as a new
  participant and the test fails (same id, no leave/join seen by Ann).

After either drop the test asserts what a user would notice: the page shows the meeting
(not the join screen, not "ended"), with the same participant id and the moderator role,
the server's conference lists the same two people (no duplicate), Ann's page never saw the
host leave or join, and each hears the other's tone again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Page

from confero.domain import events as ev
from confero.domain.rooms import Room
from tests.e2e.chromium import Launch
from tests.e2e.tcp_proxy import TcpProxy
from tests.e2e.test_browser_meeting import (
    count_participants,
    enter,
    host_page,
    invite,
    stats,
)
from tests.phone.support import eventually
from tests.webrtc.support import Served

#: How long the network is away.
DROP = 10.0
#: CONFERO_RESUME_GRACE's default (docs/SIGNALING.md).
GRACE = 30.0
HOST_HZ = 440.0
ANN_HZ = 880.0

#: On a page: remember the conference events it gets and each time its socket opens.
WATCH_JS = """
() => {
  window.__seen = [];
  window.__opens = 0;
  const s = window.confero.signaling;
  s.addEventListener('message', (e) => {
    const m = e.detail;
    if (m && m.type === 'event') window.__seen.push(m.event);
  });
  s.addEventListener('open', () => { window.__opens += 1; });
}
"""

#: What the page shows, its participant, and whether its socket and media are up.
PAGE_JS = """
() => {
  const c = window.confero;
  const shown = (id) => !document.getElementById(id).hidden;
  return {
    meeting: shown('meeting'), prejoin: shown('prejoin'), ended: shown('ended'),
    pid: c.state.participantId, role: c.state.role, connection: c.state.connection,
    media: c.publishPc ? c.publishPc.connectionState : 'none',
  };
}
"""


class _MutedTransport:
    """A datagram transport that sends nothing (the rest is the real one's)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def sendto(self, data: bytes, addr: Any = None) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@contextlib.contextmanager
def media_lost(served: Served, participant_id: str) -> Iterator[int]:
    """Every UDP datagram of the participant's server-side peer connections is lost
    both ways while inside (the aioice sockets of its publish and watch connections).
    Yields how many sockets that is."""
    gateway = served.node.gateway
    p = next(s.link for s in gateway.sessions._by_id.values() if s.id == participant_id)
    assert p is not None and p.media is not None
    pcs = [p.media.publish_pc, *(pc for pc, _ in p.media.watching.values())]
    protocols = []
    for pc in pcs:
        if pc is None:
            continue
        for ice in {t.sender.transport.transport for t in pc.getTransceivers()}:
            protocols.extend(ice._connection._protocols)
    assert protocols, "the participant has media to lose"
    real = {protocol: protocol.transport for protocol in protocols}
    for protocol in protocols:
        # Instance attributes: asyncio hands datagrams to protocol.datagram_received,
        # aioice sends through protocol.transport.
        setattr(protocol, "datagram_received", lambda data, addr: None)  # noqa: B010
        setattr(protocol, "transport", _MutedTransport(real[protocol]))  # noqa: B010
    try:
        yield len(protocols)
    finally:
        for protocol in protocols:
            del protocol.datagram_received
            protocol.transport = real[protocol]


#: tests/e2e/chromium.py's ear, but unsmoothed (its analyser's default smoothing carries
#: most of the previous reading into the next, so a tone seems to linger for seconds
#: after it stopped) and rebuilt when the element plays a new stream (a resumed page
#: plays the room from a new connection).
EAR_JS = """
async () => {
  const el = document.getElementById('room-audio');
  if (!el || !el.srcObject) return [0, 0];
  let ear = window.__drop_ear;
  if (ear && ear.stream !== el.srcObject) { ear.ctx.close(); ear = null; }
  if (!ear) {
    const ctx = new AudioContext();
    const an = ctx.createAnalyser();
    an.fftSize = 8192;
    an.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(el.srcObject).connect(an);
    ear = window.__drop_ear = {ctx, an, stream: el.srcObject};
  }
  await ear.ctx.resume();
  await new Promise(r => setTimeout(r, 300));
  const bins = new Float32Array(ear.an.frequencyBinCount);
  ear.an.getFloatFrequencyData(bins);
  let best = 1;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  return [best * ear.ctx.sampleRate / ear.an.fftSize, bins[best]];
}
"""


async def hears(page: Page, hz: float) -> bool:
    """The page plays the tone ``hz``."""
    freq, level = await page.evaluate(EAR_JS)
    return bool(abs(freq - hz) < 25 and level > -70)


async def audio_received(page: Page) -> int:
    """Audio packets the page's publish connection has received (the room's mix)."""
    return int((await stats(page))["audio"])


def conference_ids(served: Served, room: Room) -> list[str]:
    return [str(p["id"]) for p in served.services.conferences.snapshot(room)["participants"]]


@pytest.mark.parametrize("kind", ["black_hole", "cut"])
async def test_network_drop_keeps_the_participant(
    served: Served, room: Room, chromium: Launch, kind: str
) -> None:
    served.node.gateway.sessions.grace = GRACE
    url = served.base_url.rsplit(":", 1)
    proxy = TcpProxy(url[0].removeprefix("http://"), int(url[1]))
    await proxy.start()
    try:
        await _drop_and_come_back(served, room, chromium, proxy, kind)
    finally:
        await proxy.close()


async def _drop_and_come_back(
    served: Served, room: Room, chromium: Launch, proxy: TcpProxy, kind: str
) -> None:
    via_proxy = dataclasses.replace(served, base_url=proxy.url)
    host = await host_page(chromium, via_proxy, room, tone_hz=HOST_HZ)
    await enter(host)
    ann = await chromium(invite(served, room), tone_hz=ANN_HZ)
    await enter(ann, "Ann")
    await eventually(lambda: _count(ann, 2), 15)
    await eventually(lambda: hears(ann, HOST_HZ), 20)
    await eventually(lambda: hears(host, ANN_HZ), 20)

    before = await host.evaluate(PAGE_JS)
    ann_id = await ann.evaluate("() => window.confero.state.participantId")
    assert before["role"] == "moderator"
    assert sorted(conference_ids(served, room)) == sorted([before["pid"], ann_id])
    for page in (host, ann):
        await page.evaluate(WATCH_JS)
    comings_and_goings: list[ev.Event] = []

    def record(event: ev.Event) -> None:
        joined_or_left = isinstance(event, ev.ParticipantJoined | ev.ParticipantLeft)
        if joined_or_left and event.room_id == room.id:
            comings_and_goings.append(event)

    unsubscribe = served.node.gateway.bus.subscribe(record)
    accepted = proxy.accepted
    loop = asyncio.get_running_loop()
    try:
        with media_lost(served, before["pid"]):
            if kind == "black_hole":
                proxy.black_hole()
            else:
                proxy.cut()
            start = loop.time()
            await ann.fill("#chat-input", "said while the host was away")
            await ann.click("#chat-send")
            host_went_quiet = False
            received = None  # what the host's page got, once the last packets landed
            while loop.time() < start + DROP:
                if received is None and loop.time() > start + 1:
                    received = await audio_received(host)
                # The others keep seeing the host all along (it is in its grace, or
                # nobody has noticed a thing).
                assert before["pid"] in conference_ids(served, room)
                assert await count_participants(ann) == 2
                if not host_went_quiet and loop.time() > start + 2:
                    host_went_quiet = not await hears(ann, HOST_HZ)
                await asyncio.sleep(0.5)
            # Both ways: Ann stopped hearing the host, the host's page got nothing.
            assert host_went_quiet, "the host's media was lost too"
            assert kind == "cut" or await audio_received(host) == received
        await proxy.restore()

        async def back() -> bool:
            now = await host.evaluate(PAGE_JS)
            return bool(now["connection"] == "open" and now["meeting"] and now["pid"])

        await eventually(back, 25)
        said = "#chat-messages .chat-message:has-text('said while the host was away')"
        await host.wait_for_selector(said, timeout=10_000)
        await eventually(lambda: hears(ann, HOST_HZ), 20)
        await eventually(lambda: hears(host, ANN_HZ), 20)
    finally:
        unsubscribe()

    after = await host.evaluate(PAGE_JS)
    assert after["meeting"] and not after["prejoin"] and not after["ended"], after
    assert after["pid"] == before["pid"], "the same participant, not a new one"
    assert after["role"] == "moderator"
    assert await host.locator("#lock-toggle").is_visible(), "still the moderator"
    assert sorted(conference_ids(served, room)) == sorted([before["pid"], ann_id])
    assert await count_participants(host) == 2
    assert await count_participants(ann) == 2
    seen = await ann.evaluate("() => window.__seen")
    assert not {"participant_left", "participant_joined"} & set(seen), seen
    assert comings_and_goings == [], "nobody left or joined in the conference"
    opens = await host.evaluate("() => window.__opens")
    if kind == "black_hole":
        assert opens == 0, "the socket survived the hole (nobody noticed it)"
        assert proxy.accepted == accepted
    else:
        assert opens >= 1, "the page reconnected"
        assert proxy.accepted > accepted


async def _count(page: Page, n: int) -> bool:
    return await count_participants(page) == n
