"""What forwarding one video stream to one subscriber costs, and what transcoding would.

The stream: 6 s of 640x360 VP8 at 30 fps made by aiortc's own VP8 encoder (libvpx,
realtime, CBR at its default 500 kbit/s, as a browser camera would send) from a
synthetic camera picture (a textured scene that pans, a moving shape, sensor noise),
a key frame every 3 s.

Forwarding, per forwarded frame (one frame to one subscriber), in four layers:

* ``sfu``: ``Publication.forward`` into the subscriptions' queues (key-frame gating
  included) and ``ForwardTrack.recv`` turning each frame into an ``av.Packet``, with
  one asyncio task per subscriber awaiting ``recv`` as aiortc's sender does, woken once
  per frame;
* ``+ packetize``: aiortc's ``Vp8Encoder.pack`` and the RTP header with its extensions,
  serialized, as ``RTCRtpSender._run_rtp`` does per packet;
* ``+ SRTP``: ``pylibsrtp`` protect per packet, as ``RTCDtlsTransport._send_rtp``;
* ``+ UDP``: one ``send`` per packet on a loopback socket.

Also measured: receiving the published stream once (SRTP unprotect, RTP parse,
depayload, jitter buffer, our pass-through decoder), a cost per publisher, not per
subscriber; and decoding + re-encoding one frame with libvpx (aiortc's ``Vp8Decoder``
and ``Vp8Encoder``), what an MCU would spend per frame instead of forwarding it.

Usage: python -m bench.sfu_forward [SUBSCRIBERS[,SUBSCRIBERS...]]   e.g. 1,10
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np
from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import VIDEO_TIME_BASE, MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from bench.aiortc_path import SRTP_PROFILE, RtpIn, RtpOut, UdpSink, extensions_map, srtp_pair
from confero.media.sfu import EncodedFrame, Publication, vp8_keyframe
from confero.webrtc.video import ForwardTrack, PassThroughDecoder

WIDTH, HEIGHT, FPS = 640, 360, 30
SECONDS = 6
KEYFRAME_EVERY = 3 * FPS
VP8_CODEC = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
#: Forwarded frames per measurement: the stream, repeated; the best of ``RUNS`` counts.
REPEATS = 10
RUNS = 3


def camera(frames: int, seed: int = 1) -> list[av.VideoFrame]:
    """A synthetic camera: a smooth textured scene that pans slowly, a bright shape
    moving across it and a little sensor noise, so the encoder has real work."""
    rng = np.random.default_rng(seed)
    big_h, big_w = HEIGHT + 120, WIDTH + 160
    coarse = rng.integers(40, 210, size=(big_h // 8 + 2, big_w // 8 + 2)).astype(np.float32)
    scene = np.kron(coarse, np.ones((8, 8), np.float32))[:big_h, :big_w]
    for _ in range(3):  # soften the blocks into a texture
        scene = (scene + np.roll(scene, 1, 0) + np.roll(scene, 1, 1) + np.roll(scene, -1, 0)) / 4
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    out = []
    for n in range(frames):
        t = n / FPS
        dx = int(80 + 60 * np.sin(t * 0.7))
        dy = int(60 + 40 * np.sin(t * 0.5))
        y = scene[dy : dy + HEIGHT, dx : dx + WIDTH].copy()
        cx, cy = WIDTH / 2 + 180 * np.sin(t * 1.3), HEIGHT / 2 + 60 * np.cos(t * 1.1)
        y[((xx - cx) / 70) ** 2 + ((yy - cy) / 90) ** 2 < 1] = 200
        y += rng.normal(0, 2.0, size=y.shape)
        u = np.full((HEIGHT // 2, WIDTH // 2), 118, np.uint8)
        v = np.full((HEIGHT // 2, WIDTH // 2), 140, np.uint8)
        plane = np.clip(y, 0, 255).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(
            np.concatenate([plane, u.reshape(-1, WIDTH), v.reshape(-1, WIDTH)]), format="yuv420p"
        )
        frame.pts = n * (90_000 // FPS)
        frame.time_base = VIDEO_TIME_BASE
        out.append(frame)
    return out


def _payload_data(payloads: list[bytes]) -> bytes:
    return b"".join(vp8_depayload(p) for p in payloads)


@dataclass
class Stream:
    frames: list[EncodedFrame]

    @property
    def kbit_s(self) -> float:
        return sum(len(f.data) for f in self.frames) * 8 / (len(self.frames) / FPS) / 1000

    def sizes(self, keyframe: bool) -> list[int]:
        return [len(f.data) for f in self.frames if f.keyframe == keyframe]


def make_stream(pictures: list[av.VideoFrame]) -> Stream:
    """Encode like a browser camera: aiortc's ``Vp8Encoder``, a key frame every 3 s."""
    encoder = Vp8Encoder()
    frames = []
    for n, picture in enumerate(pictures):
        payloads, timestamp = encoder.encode(picture, force_keyframe=n % KEYFRAME_EVERY == 0)
        data = _payload_data(payloads)
        frames.append(EncodedFrame(data, timestamp, vp8_keyframe(data)))
    assert frames[0].keyframe and frames[KEYFRAME_EVERY].keyframe
    return Stream(frames)


def transcode_us(stream: Stream) -> tuple[float, float]:
    """CPU microseconds per frame to decode the stream and to encode it again."""
    decoder = Vp8Decoder()
    decoded = []
    start = time.process_time()
    for frame in stream.frames:
        decoded += decoder.decode(JitterFrame(frame.data, frame.timestamp))
    decode = time.process_time() - start
    encoder = Vp8Encoder()
    start = time.process_time()
    for n, picture in enumerate(decoded):
        encoder.encode(picture, force_keyframe=n % KEYFRAME_EVERY == 0)
    encode = time.process_time() - start
    return decode / len(stream.frames) * 1e6, encode / len(decoded) * 1e6


def ingest_us(stream: Stream, repeats: int = REPEATS) -> float:
    """CPU microseconds per frame to receive the published stream (once per publisher)."""
    tx, rx = srtp_pair()
    ext = extensions_map("video")
    packer = Vp8Encoder()
    packets = []
    seq = 0
    for r in range(repeats):
        for frame in stream.frames:
            payloads = packer._packetize(frame.data, packer.picture_id)
            packer.picture_id = (packer.picture_id + 1) % (1 << 15)
            for i, payload in enumerate(payloads):
                rtp = RtpPacket(
                    payload_type=97,
                    sequence_number=seq & 0xFFFF,
                    timestamp=(frame.timestamp + r * SECONDS * 90_000) & 0xFFFFFFFF,
                )
                rtp.ssrc = 4321
                rtp.payload = payload
                rtp.marker = 1 if i == len(payloads) - 1 else 0
                rtp.extensions.mid = "1"
                rtp.extensions.abs_send_time = seq & 0xFFFFFF
                packets.append(tx.protect(rtp.serialize(ext)))
                seq += 1
    receiver = RtpIn(VP8_CODEC, "video", PassThroughDecoder(), rx)
    out = 0
    start = time.process_time()
    for data in packets:
        out += len(receiver.receive(data))
    cpu = time.process_time() - start
    assert out >= repeats * len(stream.frames) - 1, out
    return cpu / (repeats * len(stream.frames)) * 1e6


def _timeline(stream: Stream, repeats: int) -> list[EncodedFrame]:
    span = SECONDS * 90_000
    return [
        EncodedFrame(f.data, f.timestamp + r * span, f.keyframe)
        for r in range(repeats)
        for f in stream.frames
    ]


async def forward_us(
    frames: list[EncodedFrame], subscribers: int, make_out: Callable[[], RtpOut | None]
) -> float:
    """CPU microseconds per forwarded frame (one frame to one subscriber)."""
    publication = Publication("camera", "publisher", "camera")
    consumed = 0
    target = 0
    done = asyncio.Event()

    async def sender(track: ForwardTrack, out: RtpOut | None) -> None:
        nonlocal consumed
        with contextlib.suppress(MediaStreamError):
            while True:
                packet = await track.recv()
                if out is not None:
                    out.send(packet)
                consumed += 1
                if consumed == target:
                    done.set()

    tasks = [
        asyncio.create_task(sender(ForwardTrack(publication.subscribe(f"s{i}")), make_out()))
        for i in range(subscribers)
    ]
    await asyncio.sleep(0)
    start = time.process_time()
    for frame in frames:  # as the publisher's pump task does, one frame at a time
        target += subscribers
        done.clear()
        publication.forward(frame)
        await done.wait()
    cpu = time.process_time() - start
    publication.close()
    await asyncio.gather(*tasks)
    assert consumed == len(frames) * subscribers
    return cpu / (len(frames) * subscribers) * 1e6


def _per_core(us_per_frame: float) -> float:
    return 1e6 / (us_per_frame * FPS)


async def main(subscriber_counts: list[int]) -> None:
    print(f"VP8 {WIDTH}x{HEIGHT} {FPS} fps, {SECONDS} s, key frame every 3 s", flush=True)
    stream = make_stream(camera(SECONDS * FPS))
    delta, key = stream.sizes(False), stream.sizes(True)
    packets = sum(len(Vp8Encoder._packetize(f.data, 0)) for f in stream.frames)
    print(
        f"stream: {stream.kbit_s:.0f} kbit/s, delta frames {np.mean(delta) / 1024:.1f} KiB"
        f" (max {max(delta) / 1024:.1f}), key frames {np.mean(key) / 1024:.1f} KiB,"
        f" {packets / len(stream.frames):.2f} RTP packets per frame",
        flush=True,
    )
    frames = _timeline(stream, REPEATS)
    udp = UdpSink()
    layers: list[tuple[str, Callable[[], RtpOut | None]]] = [
        ("sfu", lambda: None),
        ("+ packetize", lambda: RtpOut(Vp8Encoder(), "video", 97)),
        ("+ SRTP", lambda: RtpOut(Vp8Encoder(), "video", 97, srtp=srtp_pair()[0])),
        ("+ UDP", lambda: RtpOut(Vp8Encoder(), "video", 97, srtp=srtp_pair()[0], udp=udp)),
    ]
    full: dict[int, float] = {}
    for name, make_out in layers:
        cells = []
        for n in subscriber_counts:
            us = min([await forward_us(frames, n, make_out) for _ in range(RUNS)])
            full[n] = us
            cells.append(f"{n:3d} subs: {us:6.1f} us/frame ({_per_core(us):6.0f} streams/core)")
        print(f"forward {name:12s} " + "   ".join(cells), flush=True)
    udp.close()
    print(f"(SRTP profile {SRTP_PROFILE})")
    ingest = min(ingest_us(stream) for _ in range(RUNS))
    print(f"receive the published stream: {ingest:.1f} us/frame (once per publisher)")
    runs = [transcode_us(stream) for _ in range(RUNS)]
    decode, encode = min(r[0] for r in runs), min(r[1] for r in runs)
    print(
        f"transcode: decode {decode:.0f} us + encode {encode:.0f} us = {decode + encode:.0f}"
        f" us/frame ({_per_core(decode + encode):.1f} streams/core)"
    )
    for n, us in full.items():
        print(
            f"with {n} subscriber(s): decode + encode = {(decode + encode) / us:.0f}x,"
            f" encode alone = {encode / us:.0f}x a fully forwarded frame"
        )


if __name__ == "__main__":
    import uvloop

    counts = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "1,10").split(",")]
    uvloop.run(main(counts))
