"""The load client of ``bench.browser_legs``: K scripted browsers in one process, each a
real aiortc ``RTCPeerConnection`` joined through the real WebSocket signaling
(``/ws/v1/join/<invite token>``: hello, join, offer/answer, as tests/webrtc/support.py's
``Browser`` and the room page do), publishing audio: one in ``talk_every`` peers of a
room sends a 440 Hz tone, the rest send silence.

Lean on purpose, so the client is not what runs out of CPU first:

* Opus is encoded once, not per peer: a second of tone (50 packets, looped) and one
  silence packet, made with the project's ``OpusEncoder`` (mono, 32 kbit/s, voip, as a
  browser sends). One shared 20 ms clock hands the same ``av.Packet`` to every peer's
  sender, which only packetizes, SRTP-protects and sends it (aiortc's path for
  pre-encoded media). If the server's answer negotiates Opus DTX (``usedtx=1``), the
  silent peers send one packet in 400 ms, as a browser in DTX does.
* What peers receive is counted, not processed, except by one sampling listener per
  room: the others count the SRTP packets their DTLS transport receives and drop them
  (no unprotect, parse, jitter buffer or decode, all client work that tells nothing
  about the server). The sampling listener unprotects and decodes for real and checks,
  every half second, that its room's talker's tone is what it hears.
* The camera and screen m-lines (the server requires them, the page sends them
  ``sendonly`` without a track) get a track that never yields, so their senders sleep
  instead of polling every 20 ms.

Video (``bench.video_legs``, issue 15 P3): with ``--cameras K`` the first K peers of
each room get a camera that sends pre-encoded VP8 (640x360, 30 fps, about 500 kbit/s,
encoded once by aiortc's ``Vp8Encoder`` for every camera; a key frame when the server
asks for one with a PLI, as a browser's encoder does) once the orchestrator says
``cameras``, each at its own phase of the 30 fps clock, as independent cameras are.
Every ``subscribe`` the server sends gets a receive-only connection, as the room page
makes one; its packets are unprotected only until the first key frame
arrives (the time from the ``subscribe`` message to it is reported), then counted and
dropped. ``late`` adds one more peer to the first room, a late subscriber.

Protocol with the orchestrator: JSON lines on stdout (``ready`` once every peer is
connected or failed, ``mark`` in answer to each ``mark`` line on stdin), ``quit`` or the
end of stdin closes everything and exits.

Usage: python -m bench.browser_load ROOMS_JSON --peers K [--room-size 10] [--talk-every 10]
ROOMS_JSON holds a list of WebSocket URLs, one per room; peer i joins room i // room_size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import os
import re
import resource
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import av
import numpy as np
import websockets
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import VIDEO_TIME_BASE, MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

from confero.media.opus import FRAME, OpusEncoder, to_mono
from confero.media.tone import has_tone, sine

TICK = 0.020
TIME_BASE = fractions.Fraction(1, 48_000)
TONE_HZ = 440.0
#: A browser in Opus DTX sends one packet in 400 ms while silent.
DTX_EVERY = 20


def _emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


# -- one encode for every peer -----------------------------------------------------------


class Clock:
    """One clock for every sender (20 ms for audio, a 30 fps one for cameras): one
    timer, the waiting tracks woken together."""

    def __init__(self, period: float = TICK) -> None:
        self.period = period
        self.index = 0
        self.late = 0  #: ticks that fired more than 5 ms late (the client's loop lags)
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        while True:
            due = start + (self.index + 1) * self.period
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:  # the process stalled for a second: do not burst to catch up
                start = loop.time() - (self.index + 1) * self.period
            if loop.time() - due > 0.005:
                self.late += 1
            self.index += 1
            for n in [n for n in self._waiting if n <= self.index]:
                fut = self._waiting.pop(n)
                if not fut.done():
                    fut.set_result(None)

    async def until(self, n: int) -> int:
        """Wait for tick ``n`` (at once if it is past): the current tick."""
        if self.index < n:
            fut = self._waiting.get(n)
            if fut is None:
                fut = self._waiting[n] = asyncio.get_running_loop().create_future()
            await asyncio.shield(fut)
        return self.index

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


class Source:
    """Pre-encoded Opus, one ``av.Packet`` per tick shared by every peer."""

    def __init__(self, payloads: list[bytes]) -> None:
        self.payloads = payloads
        self._index = -1
        self._packet: Any = None

    def packet(self, index: int) -> Any:  # av.Packet
        if index != self._index or self._packet is None:
            packet = av.Packet(self.payloads[index % len(self.payloads)])
            packet.pts = index * FRAME
            packet.time_base = TIME_BASE
            self._index, self._packet = index, packet
        return self._packet


def encoded_sources() -> tuple[Source, Source]:
    """(tone, silence): one second of 440 Hz at -14 dBFS looped, and digital silence."""
    tone = sine(TONE_HZ, 2.0, 48_000, amplitude=0.2)
    enc = OpusEncoder()
    payloads = [enc.encode(tone[i : i + FRAME]) for i in range(0, tone.size, FRAME)]
    payloads = [p for p in payloads if p][-50:]  # the second second: past the start-up
    quiet = OpusEncoder()
    silence = [quiet.encode(np.zeros(FRAME, dtype=np.int16)) for _ in range(10)][-1]
    return Source(payloads), Source([silence])


class Microphone(MediaStreamTrack):
    """A microphone that yields pre-encoded packets on the shared clock; ``every`` > 1
    sends one packet in ``every`` ticks (DTX)."""

    kind = "audio"

    def __init__(self, clock: Clock, source: Source, every: int = 1) -> None:
        super().__init__()
        self.clock = clock
        self.source = source
        self.every = every
        self.sent = 0
        self.skipped = 0  #: ticks this sender was too slow for (the client lags)
        self._last = 0

    async def recv(self) -> Any:  # av.Packet, pre-encoded
        if self.readyState != "live":
            raise MediaStreamError
        want = self._last + self.every
        if self.every > 1:
            want -= want % self.every
        now = await self.clock.until(want)
        if self._last and now > want:
            self.skipped += (now - want) // self.every
        self._last = now
        self.sent += 1
        return self.source.packet(now)


class NoCamera(MediaStreamTrack):
    """A camera that is off: the sender waits on it without polling."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._stopped = asyncio.Event()

    async def recv(self) -> Any:
        await self._stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._stopped.set()


# -- a camera, encoded once for every publisher ---------------------------------------------

FPS = 30


class VideoSource:
    """Pre-encoded VP8: one key frame and three seconds of delta frames of the synthetic
    camera of ``bench.sfu_forward`` (aiortc's ``Vp8Encoder``, as a browser's camera)."""

    def __init__(self, seconds: float = 3.0) -> None:
        from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload

        from bench.sfu_forward import camera

        encoder = Vp8Encoder()
        self.frames: list[bytes] = []
        for n, picture in enumerate(camera(round(seconds * FPS))):
            payloads, _ = encoder.encode(picture, force_keyframe=n == 0)
            self.frames.append(b"".join(vp8_depayload(p) for p in payloads))
        assert not self.frames[0][0] & 1, "the first frame is a key frame"
        self._cache: tuple[int, bool, Any] = (-1, False, None)

    def packet(self, index: int, keyframe: bool) -> Any:  # av.Packet
        if self._cache[:2] != (index, keyframe):
            deltas = len(self.frames) - 1
            data = self.frames[0] if keyframe else self.frames[1 + index % deltas]
            packet = av.Packet(data)
            packet.pts = index * (90_000 // FPS)
            packet.time_base = VIDEO_TIME_BASE
            self._cache = (index, keyframe, packet)
        return self._cache[2]


class Camera(MediaStreamTrack):
    """A camera that sends nothing until ``start``, then the shared pre-encoded stream on
    the shared 30 fps clock, beginning with a key frame and sending one whenever the
    server asks with a PLI (aiortc's sender sets a flag it only hands to encoders of raw
    frames: this track reads it)."""

    kind = "video"

    def __init__(self, clock: Clock, source: VideoSource, phase: float = 0.0) -> None:
        super().__init__()
        self.clock = clock
        self.source = source
        #: seconds after the shared clock's tick: real cameras are not in step
        self.phase = phase
        self.sender: Any = None
        self.sent = 0
        self.keyframes = 0
        self._started = asyncio.Event()
        self._last = 0

    def start(self) -> None:
        self._started.set()

    async def recv(self) -> Any:  # av.Packet, pre-encoded
        await self._started.wait()
        if self.readyState != "live":
            raise MediaStreamError
        now = await self.clock.until(self._last + 1)
        if self.phase:
            await asyncio.sleep(self.phase)
        self._last = now
        keyframe = self.sent == 0
        flag = "_RTCRtpSender__force_keyframe"
        if self.sender is not None and getattr(self.sender, flag, False):
            setattr(self.sender, flag, False)
            keyframe = True
        self.sent += 1
        self.keyframes += keyframe
        return self.source.packet(now, keyframe)


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether an RTP payload (RFC 7741) starts a VP8 key frame."""
    if len(payload) < 2:
        return False
    first, pos = payload[0], 1
    if not first & 0x10 or first & 0x07:  # not the start of partition 0
        return False
    if first & 0x80:  # extended control bits
        ext, pos = payload[1], 2
        if ext & 0x80 and len(payload) > pos:  # picture id, 7 or 15 bits
            pos += 2 if payload[pos] & 0x80 else 1
        pos += bool(ext & 0x40) + bool(ext & 0x30)
    return len(payload) > pos and not payload[pos] & 0x01


class Watched:
    """One receive-only connection for one remote camera: the time from the server's
    ``subscribe`` to the first key frame, then a packet count. Until that key frame its
    packets are unprotected and parsed; after it they are counted unread, like
    ``PacketCounter`` (client work that tells nothing about the server)."""

    def __init__(self, stream_id: str, pc: RTCPeerConnection) -> None:
        self.stream_id = stream_id
        self.pc = pc
        self.asked = time.monotonic()
        self.first_keyframe_ms: float | None = None
        self.packets = 0

    def hook(self) -> None:
        dtls = self.pc.getTransceivers()[0].receiver.transport
        dtls._handle_rtp_data = self._rtp  # type: ignore[method-assign]

    async def _rtp(self, data: bytes, arrival_time_ms: int) -> None:
        self.packets += 1
        if self.first_keyframe_ms is not None:
            return
        with contextlib.suppress(ValueError):
            if vp8_keyframe_start(RtpPacket.parse(data).payload):
                self.first_keyframe_ms = (time.monotonic() - self.asked) * 1000
                dtls = self.pc.getTransceivers()[0].receiver.transport
                if dtls._rx_srtp is not None:  # from now on: count, do not unprotect
                    dtls._rx_srtp = PacketCounter(dtls._rx_srtp)  # type: ignore[assignment]


# -- receiving without decoding ------------------------------------------------------------


class PacketCounter:
    """Stands in for a non-sampling peer's SRTP receive session: counts the media packets
    that arrive and drops them unread (no SRTP unprotect, RTP parse, jitter buffer or
    decode: work of the client, not of the server under test). RTCP still goes to the
    real session, so the peer's RTCP stays as aiortc's."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.packets = 0

    def unprotect(self, data: bytes) -> bytes:
        self.packets += 1
        return data

    def unprotect_rtcp(self, data: bytes) -> bytes:
        return bytes(self.real.unprotect_rtcp(data))


async def _drop_rtp(data: bytes, arrival_time_ms: int) -> None:
    return None


class Listener:
    """The sampling listener's ear: it decodes what it receives and, every half second,
    checks whether the talker's tone is the dominant frequency of the last 0.2 s."""

    def __init__(self) -> None:
        self.frames = 0
        self.checks = 0
        self.heard = 0
        self.samples: deque[np.ndarray] = deque(maxlen=10)

    async def listen(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.AudioFrame):
                    self.frames += 1
                    self.samples.append(to_mono(frame))

    async def check(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if self.frames:
                self.checks += 1
                self.heard += self.hears_tone()

    def hears_tone(self) -> bool:
        if not self.samples:
            return False
        audio = np.concatenate(list(self.samples))
        return audio.size >= 4800 and has_tone(audio, 48_000, TONE_HZ)


# -- one scripted browser -------------------------------------------------------------------


class Peer:
    def __init__(
        self,
        index: int,
        url: str,
        mic: Microphone,
        talker: bool,
        sampling: bool,
        camera: Camera | None = None,
    ) -> None:
        self.index = index
        self.camera = camera
        self.watched: dict[str, Watched] = {}
        self.url = url
        self.mic = mic
        self.talker = talker
        self.sampling = sampling
        self.ws: Any = None
        self.pc: RTCPeerConnection | None = None
        self.counter: PacketCounter | None = None
        self.listener = Listener() if sampling else None
        self.answer_sdp = ""
        self.error = ""
        self._tasks: list[asyncio.Task[Any]] = []
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}

    @property
    def frames(self) -> int:
        if self.listener is not None:
            return self.listener.frames
        return self.counter.packets if self.counter is not None else 0

    @property
    def connected(self) -> bool:
        return self.pc is not None and self.pc.connectionState == "connected"

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in self.ws:
                msg = json.loads(text)
                kind = msg.get("type")
                if kind == "subscribe":
                    self._tasks.append(asyncio.create_task(self._subscribe(msg)))
                    continue
                if kind == "unsubscribe":
                    gone = self.watched.pop(msg.get("stream_id", ""), None)
                    if gone is not None:
                        self._tasks.append(asyncio.create_task(gone.pc.close()))
                    continue
                fut = self._waiters.pop(kind, None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
                elif msg.get("type") == "error":
                    self.error = f"{msg.get('code')}: {msg.get('detail')}"

    async def _ask(self, reply: str, **message: Any) -> dict[str, Any]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[reply] = fut
        await self.ws.send(json.dumps({"v": 1, **message}))
        return await asyncio.wait_for(fut, 30)

    async def join(self, dtx_offer: bool) -> None:
        self.ws = await websockets.connect(self.url, max_size=None)
        self._tasks.append(asyncio.create_task(self._read()))
        await self._ask("room", type="hello")
        await self._ask("welcome", type="join", name=f"Load {self.index}")
        # max-bundle, as browsers do it (see tests/webrtc/support.py)
        config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        pc = self.pc = RTCPeerConnection(config)
        connected = asyncio.get_running_loop().create_future()

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("connected", "failed") and not connected.done():
                connected.set_result(pc.connectionState)

        pc.addTransceiver(self.mic, direction="sendrecv")
        camera = pc.addTransceiver(self.camera or NoCamera(), direction="sendonly")
        if self.camera is not None:
            self.camera.sender = camera.sender
        pc.addTransceiver(NoCamera(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        if dtx_offer:  # what a page asking for DTX would offer (the server decides)
            sdp = re.sub(r"(a=rtpmap:(\d+) opus/48000/2\r\n)", r"\1a=fmtp:\2 usedtx=1\r\n", sdp)
        answer = await self._ask("answer", type="offer", sdp=sdp, ref="pub")
        self.answer_sdp = answer["sdp"]
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        receiver = pc.getTransceivers()[0].receiver
        if self.listener is not None:
            self._tasks.append(asyncio.create_task(self.listener.listen(receiver.track)))
            self._tasks.append(asyncio.create_task(self.listener.check()))
        state = await asyncio.wait_for(connected, 30)
        if state != "connected":
            raise RuntimeError(f"peer connection {state}")
        if self.listener is None:
            # aiortc 1.16: the bundle's one DTLS transport unprotects and routes every
            # packet (``_recv_next``); its receive SRTP session is set once DTLS connects.
            dtls = receiver.transport
            for _ in range(200):
                if dtls._rx_srtp is not None:
                    break
                await asyncio.sleep(0.05)
            self.counter = PacketCounter(dtls._rx_srtp)
            dtls._rx_srtp = self.counter  # type: ignore[assignment]
            dtls._handle_rtp_data = _drop_rtp  # type: ignore[method-assign]

    async def _subscribe(self, msg: dict[str, Any]) -> None:
        """A receive-only connection for a remote camera, as the room page makes one."""
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        watched = self.watched[msg["stream_id"]] = Watched(msg["stream_id"], pc)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "offer"))
            watched.hook()
            await pc.setLocalDescription(await pc.createAnswer())
            await self.ws.send(
                json.dumps(
                    {
                        "v": 1,
                        "type": "subscribe_answer",
                        "stream_id": msg["stream_id"],
                        "sdp": pc.localDescription.sdp,
                    }
                )
            )
        except Exception as exc:
            self.error = self.error or f"subscribe: {exc!r}"

    async def cameras_on(self) -> None:
        """Turn the camera on, as the page's camera button does."""
        if self.camera is not None:
            self.camera.start()
            await self.ws.send(json.dumps({"v": 1, "type": "media", "camera": True}))

    async def close(self) -> None:
        for watched in list(self.watched.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(watched.pc.close(), 5)
        with contextlib.suppress(Exception):
            if self.ws is not None:
                await asyncio.wait_for(self.ws.close(), 5)
        with contextlib.suppress(Exception):
            if self.pc is not None:
                await asyncio.wait_for(self.pc.close(), 5)
        for task in self._tasks:
            task.cancel()


def dtx_negotiated(answer_sdp: str) -> bool:
    """Whether the answer's Opus fmtp says ``usedtx=1`` (the receiver asks for DTX)."""
    pts = re.findall(r"a=rtpmap:(\d+) opus/48000", answer_sdp, flags=re.IGNORECASE)
    for pt in pts:
        for line in re.findall(rf"a=fmtp:{pt} (.*)", answer_sdp):
            if re.search(r"usedtx=1", line):
                return True
    return False


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def main(args: argparse.Namespace, urls: list[str]) -> None:
    clock = Clock()
    clock.start()
    tone, silence = encoded_sources()
    video_clock = Clock(1 / FPS)
    video = VideoSource() if args.cameras else None
    if video is not None:
        video_clock.start()
    peers: list[Peer] = []
    for i in range(args.peers):
        seat = i % args.room_size
        url = urls[i // args.room_size]
        talker = seat % args.talk_every == 0
        sampling = seat == 1  # one listener per room decodes and checks the tone
        mic = Microphone(clock, tone if talker else silence)
        camera = None
        if video is not None and seat < args.cameras:  # spread over the frame interval
            phase = (i * 0.618034) % 1.0 / FPS
            camera = Camera(video_clock, video, phase)
        peers.append(Peer(args.first + i, url, mic, talker, sampling, camera))

    # The first peer tells whether the server negotiates DTX; the silent ones then use it.
    first = peers[0]
    dtx = False
    try:
        await first.join(args.offer_dtx)
        dtx = dtx_negotiated(first.answer_sdp)
    except Exception as exc:
        first.error = first.error or repr(exc)
    if dtx:
        for p in peers:
            if p.mic.source is silence:
                p.mic.every = DTX_EVERY
    gate = asyncio.Semaphore(args.concurrency)

    async def join(p: Peer) -> None:
        async with gate:
            try:
                await p.join(args.offer_dtx)
            except Exception as exc:
                p.error = p.error or repr(exc)

    started = time.monotonic()
    await asyncio.gather(*(join(p) for p in peers[1:]))
    fmtp = re.findall(r"a=fmtp:\d+ .*", first.answer_sdp)
    opus_pt = re.findall(r"a=rtpmap:(\d+) opus/48000/2", first.answer_sdp)
    _emit(
        "ready",
        connected=sum(p.connected for p in peers),
        failed=[f"{p.index}: {p.error}" for p in peers if not p.connected][:5],
        failures=sum(not p.connected for p in peers),
        seconds=round(time.monotonic() - started, 1),
        dtx=dtx,
        opus_fmtp=[f for f in fmtp if opus_pt and f.startswith(f"a=fmtp:{opus_pt[0]} ")],
        answer_audio=first.answer_sdp.split("m=video")[0][-1500:],
    )

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line == "cameras":
            await asyncio.gather(*(p.cameras_on() for p in peers if p.connected))
            _emit("cameras", publishing=sum(p.camera is not None and p.connected for p in peers))
        elif line == "late":
            late = Peer(args.first + len(peers), urls[0], Microphone(clock, silence), False, False)
            late.mic.every = DTX_EVERY if dtx else 1
            try:
                await late.join(args.offer_dtx)
            except Exception as exc:
                late.error = late.error or repr(exc)
            peers.append(late)
            _emit("late", connected=late.connected, error=late.error)
        elif line == "mark":
            watched = [w for p in peers for w in p.watched.values()]
            _emit(
                "mark",
                at=time.monotonic(),
                cpu=_cpu(),
                ticks=clock.index,
                late=clock.late,
                connected=sum(p.connected for p in peers),
                frames=[p.frames for p in peers],
                sent=sum(p.mic.sent for p in peers),
                skipped=sum(p.mic.skipped for p in peers),
                talkers=sum(p.talker for p in peers),
                sampling=[
                    [p.listener.heard, p.listener.checks] for p in peers if p.listener is not None
                ],
                video_sent=sum(p.camera.sent for p in peers if p.camera is not None),
                video_keyframes=sum(p.camera.keyframes for p in peers if p.camera is not None),
                video_clock_late=video_clock.late,
                watched={
                    f"{p.index}/{w.stream_id}": w.packets for p in peers for w in p.watched.values()
                },
                watched_connected=sum(w.pc.connectionState == "connected" for w in watched),
                first_keyframe_ms=[w.first_keyframe_ms for w in watched],
                late_first_keyframe_ms=[
                    w.first_keyframe_ms for p in peers[args.peers :] for w in p.watched.values()
                ],
            )
        elif line in ("quit", ""):
            break
    clock.stop()
    video_clock.stop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(p.close() for p in peers)), 20)
    _emit("closed")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rooms", help="JSON file: a list of WebSocket URLs, one per room")
    parser.add_argument("--peers", type=int, required=True)
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--talk-every", type=int, default=10)
    parser.add_argument("--first", type=int, default=0, help="the first peer's number")
    parser.add_argument("--concurrency", type=int, default=8, help="joins at a time")
    parser.add_argument(
        "--cameras", type=int, default=0, help="peers per room with a camera (sent on 'cameras')"
    )
    parser.add_argument(
        "--offer-dtx", action="store_true", help="offer usedtx=1 as a DTX-asking page would"
    )
    args = parser.parse_args()
    urls: list[str] = json.loads(Path(args.rooms).read_text())
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(args, urls))
    else:
        uvloop.run(main(args, urls))
    # aiortc's decoder threads are not daemons: leave without waiting for a straggler
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    cli()
