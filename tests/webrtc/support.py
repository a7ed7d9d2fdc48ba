"""Shared by the browser tests: a whole node (HTTP + WebSocket + media engine + phone
stack) served by uvicorn on a free port in the test's loop, and a scripted browser made
of aiortc (a real WebRTC peer: ICE, DTLS, SRTP, Opus, VP8) speaking our signaling."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import pytest
import uvicorn
import websockets
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack, VideoStreamTrack
from aiortc.rtp import RtpPacket, is_rtcp

from confero.app.services import Services
from confero.config import Settings
from confero.domain.rooms import Room
from confero.media import tone
from confero.media.opus import to_mono
from confero.server import Node
from confero.web.app import create_app
from tests.phone.softphone import FAST


@dataclass
class Served:
    node: Node
    base_url: str
    services: Services

    def ws_url(self, room: Room) -> str:
        return self.base_url.replace("http", "ws", 1) + f"/ws/v1/join/{room.invite_token}"


@pytest.fixture
async def served(services: Services, settings: Settings) -> AsyncIterator[Served]:
    async with serving(services, settings) as served:
        yield served


@contextlib.asynccontextmanager
async def serving(
    services: Services, settings: Settings, *, media_workers: int = 0
) -> AsyncIterator[Served]:
    """A node on ``services`` with its HTTP server on a free port (``media_workers``:
    the conferences mixed in that many processes, issue 15 P4)."""
    settings = settings.model_copy(
        update={
            "sip_port": 0,
            "access_number": "5000",
            "resume_grace": 1.5,
            "media_workers": media_workers,
        }
    )
    node = Node.build(services, settings)
    if node.phone is not None:
        node.phone.ua.transactions.timers = FAST
    await node.start()
    app = create_app(services, signaling=node.gateway)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event)
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(node, f"http://127.0.0.1:{port}", services)
    finally:
        server.should_exit = True
        await task
        await node.stop()
    assert node.engine.leg_count() == 0, "every browser and phone leg left the mixer"


class ToneTrack(AudioStreamTrack):
    """A microphone that plays one sine tone, 20 ms per frame, in real time."""

    def __init__(self, freq: float) -> None:
        super().__init__()
        self.freq = freq
        self._n = 0

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()  # paces us at real time, gives pts/time_base
        t = (np.arange(frame.samples) + self._n) / frame.sample_rate
        self._n += frame.samples
        samples = (6000 * np.sin(2 * np.pi * self.freq * t)).astype(np.int16)
        out = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        out.sample_rate = frame.sample_rate
        out.pts = frame.pts
        out.time_base = frame.time_base
        return out


class Heard:
    """What a scripted browser hears from the room, as 48 kHz mono."""

    def __init__(self) -> None:
        self.samples: list[np.ndarray] = []
        self.frames = 0

    def add(self, frame: av.AudioFrame) -> None:
        self.frames += 1
        self.samples.append(to_mono(frame))
        if len(self.samples) > 400:
            del self.samples[:100]

    def recent(self, seconds: float = 0.6) -> np.ndarray:
        if not self.samples:
            return np.zeros(0, dtype=np.int16)
        audio = np.concatenate(self.samples)
        return audio[-int(48_000 * seconds) :]

    def has_tone(self, freq: float) -> bool:
        audio = self.recent()
        return audio.size >= 9600 and tone.tone_snr_db(audio, 48_000, freq) > 10

    def silent(self) -> bool:
        audio = self.recent(0.3)
        return audio.size == 0 or tone.rms(audio) < 200


class Browser:
    """A participant the way a browser page is one: a socket, a publish connection, and
    one receive-only connection per watched stream."""

    def __init__(self, url: str, *, cookie: str | None = None) -> None:
        self.url = url
        self.cookie = cookie
        self.ws: Any = None
        self.messages: list[dict[str, Any]] = []
        self.pc: RTCPeerConnection | None = None
        self.watching: dict[str, RTCPeerConnection] = {}
        self.video_frames: dict[str, int] = {}
        self.keyframes: dict[str, int] = {}
        #: loop time of the ``subscribe`` message and of the first key frame, per stream
        self.subscribed_at: dict[str, float] = {}
        self.first_keyframe_at: dict[str, float] = {}
        self.heard = Heard()
        self.welcome: dict[str, Any] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._waiters: list[tuple[Any, asyncio.Future[dict[str, Any]]]] = []

    async def connect(self, *, hello: bool = True) -> dict[str, Any]:
        """Open the socket and (unless not ``hello``) say hello: the ``room`` answer."""
        headers = {"Cookie": self.cookie} if self.cookie else None
        self.ws = await websockets.connect(self.url, additional_headers=headers)
        self._reader = asyncio.create_task(self._read())
        if not hello:
            return {}
        await self.send(type="hello")
        return await self.expect("room")

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps({"v": 1, **message}))

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in self.ws:
                msg = json.loads(text)
                self.messages.append(msg)
                if msg["type"] == "subscribe":
                    self._spawn(self._subscribe(msg))
                elif msg["type"] == "unsubscribe":
                    pc = self.watching.pop(msg["stream_id"], None)
                    if pc is not None:
                        self._spawn(pc.close())
                for pattern, fut in list(self._waiters):
                    if not fut.done() and pattern(msg):
                        fut.set_result(msg)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def expect(self, type_: str, within: float = 10, **fields: Any) -> dict[str, Any]:
        def match(msg: dict[str, Any]) -> bool:
            return msg["type"] == type_ and all(msg.get(k) == v for k, v in fields.items())

        for msg in self.messages:
            if match(msg):
                self.messages.remove(msg)
                return msg
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((match, fut))
        try:
            msg = await asyncio.wait_for(fut, within)
        finally:
            self._waiters = [w for w in self._waiters if w[1] is not fut]
        with contextlib.suppress(ValueError):
            self.messages.remove(msg)
        return msg

    async def event(self, name: str, within: float = 10, **fields: Any) -> dict[str, Any]:
        return await self.expect("event", within, event=name, **fields)

    async def join(self, name: str = "Ann", **extra: Any) -> dict[str, Any]:
        await self.send(type="join", name=name, **extra)
        self.welcome = await self.expect("welcome")
        return self.welcome

    @property
    def pid(self) -> str:
        assert self.welcome is not None
        return str(self.welcome["participant_id"])

    async def publish(
        self, *, tone_hz: float | None = None, camera: bool = False, screen: bool = False
    ) -> None:
        # max-bundle as browsers do it: aiortc's "balanced" leaves a second video m-line
        # on a transport that never starts (see confero.webrtc.session)
        config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        pc = RTCPeerConnection(config)
        self.pc = pc
        mic: MediaStreamTrack = ToneTrack(tone_hz) if tone_hz else _Silence()
        pc.addTransceiver(mic, direction="sendrecv")
        pc.addTransceiver(VideoStreamTrack() if camera else "video", direction="sendonly")
        pc.addTransceiver(VideoStreamTrack() if screen else "video", direction="sendonly")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._spawn(self._listen(track))

        await pc.setLocalDescription(await pc.createOffer())
        await self.send(type="offer", sdp=pc.localDescription.sdp, ref="pub")
        answer = await self.expect("answer")
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        if camera or screen:
            await self.send(type="media", camera=camera, screen=screen)

    async def _listen(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.AudioFrame):
                    self.heard.add(frame)

    async def _subscribe(self, msg: dict[str, Any]) -> None:
        stream_id = msg["stream_id"]
        self.subscribed_at[stream_id] = asyncio.get_running_loop().time()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.watching[stream_id] = pc
        self.video_frames[stream_id] = 0
        self.keyframes[stream_id] = 0

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._spawn(self._count_video(stream_id, track))

        await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.send(type="subscribe_answer", stream_id=stream_id, sdp=pc.localDescription.sdp)

    async def _count_video(self, stream_id: str, track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                self.video_frames[stream_id] = self.video_frames.get(stream_id, 0) + 1
                if getattr(frame, "keyframe", False):
                    self.keyframes[stream_id] = self.keyframes.get(stream_id, 0) + 1
                    now = asyncio.get_running_loop().time()
                    self.first_keyframe_at.setdefault(stream_id, now)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await self._reader
        for pc in [self.pc, *self.watching.values()]:
            if pc is not None:
                await pc.close()
        for task in list(self._tasks):
            task.cancel()


class _Silence(AudioStreamTrack):
    pass


class SeenRtp:
    """Every RTP packet a browser's connection decrypts (its DTLS transport ``dtls``),
    parsed with the header extensions it negotiated."""

    def __init__(self, dtls: Any) -> None:
        self.packets: list[RtpPacket] = []
        self._extensions = dtls._rtp_header_extensions_map
        self._handle = dtls._handle_rtp_data
        dtls._handle_rtp_data = self._rtp

    async def _rtp(self, data: bytes, arrival_time_ms: int) -> None:
        if not is_rtcp(data):
            self.packets.append(RtpPacket.parse(data, self._extensions))
        await self._handle(data, arrival_time_ms)


async def ann_and_bob(
    served: Served, room: Room, browsers: list[Browser]
) -> tuple[Browser, Browser]:
    """Two scripted browsers in ``room``, joined (neither publishing yet)."""
    ann, bob = Browser(served.ws_url(room)), Browser(served.ws_url(room))
    browsers += [ann, bob]
    for b, name in ((ann, "Ann"), (bob, "Bob")):
        await b.connect()
        await b.join(name)
    return ann, bob


@pytest.fixture
async def browsers() -> AsyncIterator[list[Browser]]:
    made: list[Browser] = []
    yield made
    for b in made:
        await b.close()
