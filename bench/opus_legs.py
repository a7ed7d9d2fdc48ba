"""How many Opus browser legs one core mixes in real time.

Part 1, the engine in real time: the real media engine (``MediaEngine.run`` on uvloop)
with ``BrowserAudioLeg`` legs in conferences of 10. Every 20 ms a feeder task pushes
one decoded 20 ms microphone frame into every leg, as aiortc's receiver would (a 440 Hz
tone for one leg in ten, digital silence for the rest: browsers send all the time and
the leg's gate keeps the quiet ones out of the mix), and one task per leg drains its
``track`` as aiortc's sender would. The tick then does what it does in production:
pull and gate every leg, mix-minus, one Opus encode of the shared mix per room and one
per speaking leg (its own mix-minus), and hand the packets to the tracks. Reported per
leg count: ticks that started more than 5 ms late, process CPU, the engine's own time
per tick (mix + encode), memory.

Part 2, what aiortc adds per leg and is not in part 1 (``bench.aiortc_path``): inbound
(SRTP unprotect, RTP parse, jitter buffer, aiortc's Opus decoder, fold to mono) and
outbound (packetize, RTP header, SRTP protect, UDP send) for one packet each way per
leg per 20 ms, measured one after the other without an event loop, one in ten legs
speaking as in part 1.

Usage: python -m bench.opus_legs [COUNTS [SECONDS]]   e.g. 10,50,100,200,300,400,600 4
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import sys
import time
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from aiortc.codecs.opus import OpusDecoder as AiortcOpusDecoder
from aiortc.codecs.opus import OpusEncoder as AiortcOpusEncoder
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from bench.aiortc_path import SRTP_PROFILE, RtpIn, RtpOut, UdpSink, extensions_map, srtp_pair
from confero.media.engine import TICK, MediaEngine
from confero.media.opus import FRAME, TIME_BASE, OpusEncoder, to_mono
from confero.media.tone import sine
from confero.webrtc.audio import BrowserAudioLeg

PER_ROOM = 10
SPEAKER_EVERY = 10
OPUS_CODEC = RTCRtpCodecParameters(
    mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96
)


def _tone_frames() -> list[np.ndarray]:
    """One second of 440 Hz (-14 dBFS) as 50 frames that join without clicks."""
    tone = sine(440, 1.0, 48_000, amplitude=0.2)
    return [tone[i : i + FRAME] for i in range(0, tone.size, FRAME)]


@dataclass
class Result:
    legs: int
    seconds: float
    late_share: float
    max_late_ms: float
    cpu_share: float
    tick_ms: float
    rss_mb: float
    drained_share: float


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def run(legs: int, seconds: float, warmup: float = 1.0) -> Result:
    engine = MediaEngine()
    browsers = [BrowserAudioLeg(f"leg{i}") for i in range(legs)]
    for i, leg in enumerate(browsers):
        engine.add_leg(f"room{i // PER_ROOM}", leg)
    tone = _tone_frames()
    quiet = np.zeros(FRAME, dtype=np.int16)
    drained = 0

    async def drain(leg: BrowserAudioLeg) -> None:  # aiortc's sender reading the track
        nonlocal drained
        with contextlib.suppress(MediaStreamError):
            while True:
                await leg.track.recv()
                drained += 1

    async def feed() -> None:  # aiortc's receivers delivering decoded microphone audio
        loop = asyncio.get_running_loop()
        due = loop.time()
        k = 0
        while True:
            frame = tone[k % len(tone)]
            for i, leg in enumerate(browsers):
                leg.push(frame if i % SPEAKER_EVERY == 0 else quiet)
            k += 1
            due += TICK
            delay = due - loop.time()
            if delay < -0.2:
                due = loop.time()
            await asyncio.sleep(max(delay, 0.0))

    drainers = [asyncio.create_task(drain(leg)) for leg in browsers]
    feeder = asyncio.create_task(feed())
    await asyncio.sleep(0.05)  # the legs' prefetch
    engine.start()
    await asyncio.sleep(warmup)
    ticks0, late0, busy0 = engine.stats.ticks, engine.stats.late, engine.stats.busy
    engine.stats.max_late = 0.0
    drained0 = drained
    cpu0, wall0 = _cpu(), time.monotonic()
    await asyncio.sleep(seconds)
    wall = time.monotonic() - wall0
    cpu = _cpu() - cpu0
    ticks = engine.stats.ticks - ticks0
    result = Result(
        legs=legs,
        seconds=round(wall, 1),
        late_share=(engine.stats.late - late0) / max(ticks, 1),
        max_late_ms=engine.stats.max_late * 1000,
        cpu_share=cpu / wall,
        tick_ms=(engine.stats.busy - busy0) / max(ticks, 1) * 1000,
        rss_mb=_rss_mb(),
        drained_share=(drained - drained0) / max(ticks * legs, 1),
    )
    await engine.stop()
    feeder.cancel()
    for leg in browsers:
        leg.close()
    await asyncio.gather(feeder, *drainers, return_exceptions=True)
    return result


@dataclass
class AiortcCost:
    """Microseconds per leg per 20 ms."""

    transport_in_us: float  #: SRTP unprotect, RTP parse, statistics, jitter buffer
    decode_us: float  #: aiortc's Opus decoder (stereo out, as aiortc configures it)
    mono_us: float  #: ``to_mono``, as ``BrowserAudioLeg`` folds each decoded frame
    transport_out_us: float  #: pack, RTP header and extensions, SRTP protect, UDP send

    @property
    def total_us(self) -> float:
        return self.transport_in_us + self.decode_us + self.mono_us + self.transport_out_us


def aiortc_per_leg(ticks: int = 500, legs: int = PER_ROOM) -> AiortcCost:
    """aiortc's work per leg per 20 ms: one packet in and one out, one leg in ten
    speaking."""
    # What browsers send: mono Opus at 32 kbit/s (voip), a tone from one, silence from
    # the others; each leg gets its own SRTP session and its own sequence numbers.
    tone = _tone_frames()
    streams: dict[bool, list[bytes]] = {}
    for speaking in (True, False):
        enc = OpusEncoder()
        payloads: list[bytes] = []
        k = 0
        while len(payloads) < ticks:
            payload = enc.encode(tone[k % len(tone)] if speaking else np.zeros(FRAME, np.int16))
            k += 1
            if payload:
                payloads.append(payload)
        streams[speaking] = payloads
    audio_ext = extensions_map("audio")
    inbound: list[tuple[RtpIn, list[bytes]]] = []
    for i in range(legs):
        tx, rx = srtp_pair()
        packets = []
        for seq, payload in enumerate(streams[i % SPEAKER_EVERY == 0]):
            rtp = RtpPacket(payload_type=96, sequence_number=seq, timestamp=seq * FRAME)
            rtp.ssrc = 1000 + i
            rtp.payload = payload
            rtp.extensions.mid = "0"
            rtp.extensions.audio_level = (False, 30)
            packets.append(tx.protect(rtp.serialize(audio_ext)))
        inbound.append((RtpIn(OPUS_CODEC, "audio", None, rx), packets))

    # Outbound: what every leg's track yields (our encoded mix), through aiortc's sender.
    udp = UdpSink()
    senders = [
        RtpOut(AiortcOpusEncoder(), "audio", 96, srtp=srtp_pair()[0], udp=udp) for _ in range(legs)
    ]
    out_packets = []
    for n, payload in enumerate(streams[False]):
        packet = av.Packet(payload)
        packet.pts = n * FRAME
        packet.time_base = TIME_BASE
        out_packets.append(packet)

    start = time.process_time()
    encoded: list[list[Any]] = [[] for _ in range(legs)]
    for t in range(ticks):
        for i, (receiver, packets) in enumerate(inbound):
            encoded[i] += receiver.receive(packets[t])
    transport_in = time.process_time() - start
    decoders = [AiortcOpusDecoder() for _ in range(legs)]
    start = time.process_time()
    decoded: list[list[Any]] = [[] for _ in range(legs)]
    for t in range(min(len(e) for e in encoded)):
        for i in range(legs):
            decoded[i] += decoders[i].decode(encoded[i][t])
    decode = time.process_time() - start
    start = time.process_time()
    for frames in decoded:
        for frame in frames:
            to_mono(frame)
    mono = time.process_time() - start
    start = time.process_time()
    for t in range(ticks):
        for sender in senders:
            sender.send(out_packets[t])
    transport_out = time.process_time() - start
    udp.close()
    n_in = min(len(e) for e in encoded) * legs
    n_dec = sum(len(d) for d in decoded)
    return AiortcCost(
        transport_in_us=transport_in / (ticks * legs) * 1e6,
        decode_us=decode / n_in * 1e6,
        mono_us=mono / n_dec * 1e6,
        transport_out_us=transport_out / (ticks * legs) * 1e6,
    )


async def main(counts: list[int], seconds: float) -> None:
    base_rss = _rss_mb()
    results = []
    print(f"Opus browser legs, conferences of {PER_ROOM}, {seconds:g} s per step")
    for legs in counts:
        r = await run(legs, seconds)
        results.append(r)
        print(
            f"{r.legs:5d} legs: late ticks {r.late_share:6.2%}  max late {r.max_late_ms:6.1f} ms"
            f"  cpu {r.cpu_share:6.1%}  mix+encode {r.tick_ms:6.2f} ms/tick"
            f"  rss {r.rss_mb:6.1f} MB  drained {r.drained_share:6.1%}",
            flush=True,
        )
    ok = [r for r in results if r.late_share < 0.01 and r.cpu_share < 0.8]
    if ok:
        best = max(ok, key=lambda r: r.legs)
        per_leg_kb = (best.rss_mb - base_rss) * 1024 / best.legs
        print(f"legs per core in real time: {best.legs} (memory ~{per_leg_kb:.0f} KiB per leg)")
    else:
        print("no leg count stayed real time")
    # The engine's cost per leg, from the largest step that kept up.
    fits = [r for r in results if r.late_share < 0.01] or results[:1]
    ref = max(fits, key=lambda r: r.legs)
    mix_us = ref.tick_ms * 1000 / ref.legs
    process_us = ref.cpu_share * TICK * 1e6 / ref.legs
    print(
        f"per leg per tick at {ref.legs} legs: mix+encode {mix_us:.0f} us,"
        f" whole process {process_us:.0f} us; mix+encode alone fills 20 ms at"
        f" ~{20_000 / mix_us:.0f} legs"
    )
    cost = aiortc_per_leg()
    print(
        f"aiortc per leg per 20 ms (SRTP {SRTP_PROFILE}): in {cost.transport_in_us:.0f} us"
        f" (unprotect, parse, jitter buffer) + Opus decode {cost.decode_us:.0f} us"
        f" + to_mono {cost.mono_us:.0f} us; out {cost.transport_out_us:.0f} us"
        " (pack, RTP, protect, UDP send)"
    )
    total = process_us + cost.total_us
    print(
        f"engine + aiortc: {total:.0f} us per leg per 20 ms -> ~{0.8 * 20_000 / total:.0f} legs"
        " per core at 80% CPU"
    )


if __name__ == "__main__":
    import uvloop

    arg = sys.argv[1] if len(sys.argv) > 1 else "10,50,100,200,300,400,600"
    counts = [int(x) for x in arg.split(",")]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 4.0
    uvloop.run(main(counts, seconds))
