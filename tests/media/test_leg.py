"""A phone leg on each codec it can negotiate (issue 13 deliver 3), over real UDP: the
phone's tone reaches the mixer at 48 kHz, and the mix reaches the phone with the
negotiated payload type, the codec's timestamp step and a payload it decodes. The leg
opens on G.711 and switches codec on the same socket, as after the answer to our own
offer (dial-out, late offer)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import numpy as np
import pytest

from confero.media.dtmf import DtmfSender, TelephoneEvent
from confero.media.engine import MediaEngine
from confero.media.leg import RtpAudioLeg
from confero.media.phone_codecs import G722, PCMU, codec_for
from confero.media.rtp import RtpPacket, RtpSender
from confero.media.tone import detect_frequency, rms, sine, tone_snr_db


class _Phone(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[RtpPacket] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.packets.append(RtpPacket.parse(data))


async def _until(check: Callable[[], bool], seconds: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.001)


@pytest.mark.parametrize(
    ("name", "payload_type", "step", "size"),
    [("PCMU", 0, 160, 160), ("G722", 9, 160, 160), ("OPUS", 107, 960, None)],
)
async def test_a_leg_hears_and_speaks_its_negotiated_codec(
    name: str, payload_type: int, step: int, size: int | None
) -> None:
    codec = codec_for(name, payload_type)
    now = [100.0]
    leg = RtpAudioLeg("leg", PCMU, clock=lambda: now[0])
    port = await leg.open("127.0.0.1")
    leg.set_codec(codec)
    assert (leg.codec, leg.local_port) == (codec, port)
    loop = asyncio.get_running_loop()
    transport, phone = await loop.create_datagram_endpoint(_Phone, local_addr=("127.0.0.1", 0))
    try:
        leg.set_remote(("127.0.0.1", transport.get_extra_info("sockname")[1]))
        # the phone talks: one second of 1 kHz, paced on the leg's clock
        encoder, sender = codec.make_encoder(), RtpSender(payload_type)
        tone = sine(1000, 1.0, codec.sample_rate, amplitude=0.3)
        pulled: list[np.ndarray] = []
        for i, samples in enumerate(tone.reshape(-1, codec.frame_samples)):
            now[0] = 100.0 + i * 0.02
            payload = encoder.encode(samples)
            if payload:
                count = leg.stats.received + 1
                transport.sendto(sender.next(payload, step).to_bytes(), ("127.0.0.1", port))
                await _until(lambda n=count: leg.stats.received >= n)
            else:
                sender.pause(step)
            frame = leg.pull(now[0])
            if frame is not None:
                assert frame.size == 960, "20 ms at the mixer's 48 kHz"
                pulled.append(frame)
        heard = np.concatenate(pulled)
        assert heard.size >= 30 * 960
        assert abs(detect_frequency(heard[9600:], 48_000) - 1000) < 5
        assert rms(heard[9600:]) > 0.7 * rms(tone)
        # a packet in another codec's payload type is not this leg's audio
        ignored = leg.stats.ignored
        other = RtpSender(8 if payload_type != 8 else 0, ssrc=sender.ssrc)
        transport.sendto(other.next(b"\xd5" * 160, 160).to_bytes(), ("127.0.0.1", port))
        await _until(lambda: leg.stats.ignored > ignored)

        # the phone listens: the mix, encoded for it
        mix = sine(1000, 1.0, 48_000, amplitude=0.3)
        for frame48 in mix.reshape(-1, 960):
            leg.send_frame(frame48)
        await _until(lambda: len(phone.packets) >= 48)
        packets = phone.packets
        assert {p.payload_type for p in packets} == {payload_type}
        stamps = np.diff([p.timestamp for p in packets])
        assert set(stamps.tolist()) == {step}
        if size is not None:
            assert {len(p.payload) for p in packets} == {size}
        decoder = codec.make_decoder()
        got = np.concatenate([decoder.decode(p.payload) for p in packets])
        rate = codec.sample_rate
        assert abs(detect_frequency(got[rate // 5 :], rate) - 1000) < 5
    finally:
        transport.close()
        leg.close()


class _Wire:
    """A leg's transport that keeps what is sent."""

    def __init__(self) -> None:
        self.sent: list[RtpPacket] = []

    def sendto(self, data: bytes, address: object = None) -> None:
        self.sent.append(RtpPacket.parse(data))

    def close(self) -> None:
        pass


class _Speaker:
    """A leg without a network that always speaks 500 Hz (whole periods per 20 ms)."""

    codec = PCMU

    def __init__(self) -> None:
        self.id = "speaker"

    def pull(self, now: float | None = None) -> np.ndarray:
        return sine(500, 0.02, 48_000, amplitude=0.3)

    def send_frame(self, frame: np.ndarray) -> None:
        pass

    def send_encoded(self, payload: bytes) -> None:
        pass


def test_a_g722_listener_hears_one_clean_stream_as_it_starts_and_stops_talking() -> None:
    """The engine hands a silent listener the shared mix and a talker its own mix-minus.
    A G.722 decoder switched between two encoders' streams bursts near full scale for
    tens of milliseconds, so a G.722 leg keeps its own encoder: what it hears stays the
    other speaker's clean tone across both switches, while G.711 listeners still share
    one encoded payload."""
    engine = MediaEngine()
    engine.add_leg("room", _Speaker())
    talking = [False]
    noise = np.random.default_rng(7).normal(0, 12_000, 960).clip(-32768, 32767)
    loud = noise.astype(np.int16)
    wires: dict[str, _Wire] = {}
    for leg_id, codec in (("talker", G722), ("pcmu1", PCMU), ("pcmu2", PCMU)):
        leg = RtpAudioLeg(leg_id, codec)
        wires[leg_id] = wire = _Wire()
        leg._transport = wire  # type: ignore[assignment]
        leg.set_remote(("127.0.0.1", 9))
        if leg_id == "talker":
            leg.pull = lambda now=None: loud if talking[0] else None  # type: ignore[method-assign]
        engine.add_leg("room", leg)
    for tick in range(150):
        talking[0] = 50 <= tick < 100  # speaks for a second, in the middle
        engine.tick(tick * 0.02)
    packets = wires["talker"].sent
    assert len(packets) == 150 and {len(p.payload) for p in packets} == {160}
    decoder = G722.make_decoder()
    heard = np.concatenate([decoder.decode(p.payload) for p in packets])[1600:]
    peak = 0.3 * 32767
    for window in heard.reshape(-1, 320):  # every 20 ms, the switches included
        assert np.abs(window.astype(np.int32)).max() < 1.2 * peak
        assert tone_snr_db(window, 16_000, 500) > 20
    shared = [p.payload for p in wires["pcmu1"].sent]
    assert shared == [p.payload for p in wires["pcmu2"].sent], "G.711 listeners share"


def test_quiet_g711_skips_decoding_and_the_gate_still_opens_and_closes() -> None:
    """Issue 15 P1: a payload with no sample at the gate's threshold is silence without
    a decode; anything louder is decoded exactly, and the gate behaves as before."""
    from confero.media.g711 import PCMU as ULAW
    from confero.media.leg import _QuietFirst
    from confero.media.vad import HANGOVER

    quiet_first = _QuietFirst(ULAW)
    hum = ULAW.encode(sine(50, 0.02, 8000, amplitude=0.002))  # about -57 dBFS peak
    voice = ULAW.encode(sine(300, 0.02, 8000, amplitude=0.05))
    assert not quiet_first.decode(hum).any()
    assert np.array_equal(quiet_first.decode(voice), ULAW.decode(voice))
    almost = bytes([0xFF] * 159 + [ULAW.encode(np.array([120], np.int16))[0]])
    assert np.array_equal(quiet_first.decode(almost), ULAW.decode(almost)), "one loud sample"

    clock = [100.0]
    leg = RtpAudioLeg("q", PCMU, clock=lambda: clock[0])
    leg.set_remote(("127.0.0.1", 4000))
    sender = RtpSender(0)
    heard = []
    for i in range(60):
        payload = voice if 10 <= i < 20 else hum
        leg.datagram_received(sender.next(payload, 160).to_bytes(), ("127.0.0.1", 4000))
        heard.append(leg.pull(clock[0]) is not None)
        clock[0] += 0.02
    first = heard.index(True)
    assert sum(heard) == 10 + HANGOVER, "open for the voice and the hang-over, no longer"
    assert all(heard[first : first + 10 + HANGOVER])


async def test_a_key_press_split_by_a_hand_over_is_one_digit() -> None:
    """A leg's sockets move to a media worker while a key is down (issue 15 P4): the
    press's first packets were heard here, its end packets there; the caller typed one
    digit, so the IVR gets one, not one from each side."""
    here: list[str] = []
    leg = RtpAudioLeg("leg", PCMU, on_digit=here.append)
    await leg.open("127.0.0.1")
    phone = ("127.0.0.1", 40_000)
    leg.set_remote(phone)
    packets = DtmfSender(101).packets("5", RtpSender(0), 0.1)
    ends = [p for p in packets if TelephoneEvent.parse(p.payload).end]
    assert len(ends) >= 2, "RFC 4733 repeats the end packet"
    first_end = packets.index(ends[0])
    for packet in packets[: first_end + 1]:  # the key is up here: one digit
        leg.datagram_received(packet.to_bytes(), phone)
    state, fds = leg.hand_over()
    there: list[str] = []
    moved = await RtpAudioLeg.adopt(state, [os.dup(fd) for fd in fds])
    moved.on_digit = there.append
    leg.let_go()
    try:
        for packet in packets[first_end + 1 :]:  # the repeated end packets arrive there
            moved.datagram_received(packet.to_bytes(), phone)
        assert (here, there) == (["5"], [])
    finally:
        moved.close()
