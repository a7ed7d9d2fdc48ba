"""The interop matrix with baresip (issue 13, F-PH1): a second independent SIP phone beside
sipp dials in as a person would, over UDP and TCP, with each codec we claim, types the
PIN as RFC 2833 events, and what it heard is checked by frequency in its own recording.

Why this shape: every row is a real call, and one call checks several things (less
wall-clock in the real-time shard): two baresip callers with different tones (440 Hz
and 620 Hz) in one room each hear the other and never themselves (mix-minus), and the
first one puts the call on hold and resumes (re-INVITE with ``a=sendonly``, then
``a=sendrecv`` on the same dialog): silent while held, heard again after. baresip 1.0
stops its own RTP while it holds, so this row proves the hold round trip, not the
muting of a phone that keeps sending (music on hold) while held: that takes a phone
that does, such as tests/phone/softphone.py. The two G.711 rows cover UDP x TCP x PCMU
x PCMA between them; the wideband row proves G.722 and Opus callers are answered with
their codec and hear each other above 4 kHz. The phone stack runs on uvloop here, the
loop `confero serve` runs (the sipp calls run on asyncio's, some on both).
docs/INTEROP.md is the table.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import uvloop

from confero.app.services import Services
from confero.domain.rooms import Room
from confero.media.tone import goertzel_power, rms
from confero.phone.stack import PhoneStack
from tests.e2e.baresip import BARESIP, Baresip, Transport, baresip_available
from tests.phone.support import eventually, people

pytestmark = [
    pytest.mark.skipif(not baresip_available(), reason=f"baresip missing at {BARESIP}"),
    # uvloop, the loop `confero serve` runs (tests/loops.py): the sipp calls cover asyncio's
    pytest.mark.asyncio(loop_factories=["uvloop"]),
]

ALICE_HZ = 440.0
BOB_HZ = 620.0
#: above 4 kHz: only a wideband path end to end carries them (G.711 stops at 3.4 kHz)
ALICE_WIDE_HZ = 6000.0
BOB_WIDE_HZ = 5000.0
#: after both are in the room: the "one other participant" prompt and the move in
SETTLE = 3.0
TALK = 2.0  #: both hear each other
HOLD = 2.5  #: Alice on hold
RESUMED = 2.0  #: Alice back
MARGIN = 0.5  #: re-INVITE, jitter buffers and packet timing at each edge
#: baresip 1.0 stops recording what it hears when it puts the call on hold (and does not
#: start again on resume): Alice's recording ends when she holds; a little before that
GUARD = 0.3


@dataclass(frozen=True)
class Row:
    """One matrix row: what each of the two callers uses."""

    alice_transport: Transport
    alice_codec: str
    bob_transport: Transport
    bob_codec: str
    alice_hz: float = ALICE_HZ
    bob_hz: float = BOB_HZ


@dataclass
class Leg:
    """What one caller heard, and the loop time its recording ended."""

    audio: npt.NDArray[np.int16]
    rate: int
    ended: float
    codecs: set[str]  #: what its phone encoded with (baresip's log)
    dtmf_by_info: bool  #: it sent a SIP INFO (keys not as RFC 2833 events)

    def between(self, start: float, end: float) -> npt.NDArray[np.int16]:
        """What it heard between two loop times, counted back from the recording's end:
        its start moves with when the first packet came (later on a loaded machine)."""
        a = len(self.audio) - round((self.ended - start) * self.rate)
        b = len(self.audio) - round((self.ended - end) * self.rate)
        assert 0 <= a < b <= len(self.audio), (a, b, len(self.audio))
        return self.audio[a:b]


def hears(audio: npt.NDArray[np.int16], rate: int, hz: float) -> bool:
    """``hz`` is loud and clear (a fifth or more of all the power is at that one tone) in
    at least half of the quarter seconds: clicks and late packets on a loaded machine
    (the mix tick late) are not deafness."""
    step = rate // 4
    chunks = [audio[i : i + step] for i in range(0, len(audio) - step + 1, step)]
    clear = [rms(c) > 300 and goertzel_power(c, rate, hz) > rms(c) ** 2 / 5 for c in chunks]
    return len(chunks) >= 2 and sum(clear) >= 0.5 * len(chunks)


def silent_of(audio: npt.NDArray[np.int16], rate: int, hz: float) -> bool:
    """Nothing of ``hz``: its power 30 dB under a normal speaking tone (rms 3000)."""
    return goertzel_power(audio, rate, hz) < 3000.0**2 / 1000


async def dial_in(phone_port: int, room: Room, caller: Baresip, transport: Transport) -> None:
    """Dial the access number, type the room and the PIN."""
    await caller.dial(f"sip:5000@127.0.0.1:{phone_port}", transport=transport)
    await caller.press(f"1{room.conference_number}#{room.pin}##")


async def call_hold_resume(
    phone: PhoneStack, room: Room, services: Services, tmp_path: Path, row: Row
) -> tuple[Leg, Leg, dict[str, float]]:
    """Alice and Bob dial in at once, talk, Alice holds and resumes, Bob hangs up first."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, uvloop.Loop), "the server's own loop"
    alice = Baresip(tmp_path / "alice", user="alice", tone=row.alice_hz, codec=row.alice_codec)
    bob = Baresip(tmp_path / "bob", user="bob", tone=row.bob_hz, codec=row.bob_codec)
    async with alice, bob:
        try:
            await asyncio.gather(
                dial_in(phone.ua.port, room, alice, row.alice_transport),
                dial_in(phone.ua.port, room, bob, row.bob_transport),
            )
            await eventually(lambda: len(people(services, room)) == 2, 15)
            await asyncio.sleep(SETTLE)
            t: dict[str, float] = {"talk": loop.time()}
            await asyncio.sleep(TALK)
            t["hold"] = loop.time()
            await alice.hold()
            await asyncio.sleep(HOLD)
            t["resume"] = loop.time()
            await alice.resume()
            await asyncio.sleep(RESUMED)
            t["bob_end"] = loop.time()
            await bob.hangup()
            await eventually(lambda: len(people(services, room)) == 1, 10)
            await alice.hangup()
            await eventually(lambda: not people(services, room), 10)
        except BaseException:
            print(alice.report(), bob.report())
            raise
    # Alice's recording ends when she holds (GUARD), Bob's when he hangs up
    return leg(alice, t["hold"]), leg(bob, t["bob_end"]), t


def leg(phone: Baresip, ended: float) -> Leg:
    audio, rate = phone.heard()
    return Leg(audio, rate, ended, set(phone.codecs_used()), "INFO sip:" in phone.log)


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(Row("udp", "PCMU", "tcp", "PCMA"), id="alice-udp-pcmu+bob-tcp-pcma"),
        pytest.param(Row("tcp", "PCMU", "udp", "PCMA"), id="alice-tcp-pcmu+bob-udp-pcma"),
    ],
)
async def test_baresip_callers_hear_each_other_and_hold_and_resume(
    phone: PhoneStack, room: Room, services: Services, tmp_path: Path, row: Row
) -> None:
    alice, bob, t = await call_hold_resume(phone, room, services, tmp_path, row)
    assert (alice.codecs, bob.codecs) == ({row.alice_codec}, {row.bob_codec})
    assert alice.dtmf_by_info == bob.dtmf_by_info is False, "the PIN went as RFC 2833 events"
    assert alice.rate == bob.rate == 8000, "G.711 both ways"

    talk_a = alice.between(t["talk"] + MARGIN, t["hold"] - GUARD)
    talk_b = bob.between(t["talk"] + MARGIN, t["hold"])
    assert hears(talk_a, 8000, BOB_HZ), "Alice hears Bob"
    assert silent_of(talk_a, 8000, ALICE_HZ), "Alice does not hear herself"
    assert hears(talk_b, 8000, ALICE_HZ), "Bob hears Alice"
    assert silent_of(talk_b, 8000, BOB_HZ), "Bob does not hear himself"

    held = bob.between(t["hold"] + MARGIN, t["resume"])
    assert silent_of(held, 8000, ALICE_HZ), "Alice is on hold"
    back = bob.between(t["resume"] + MARGIN, t["bob_end"] - 0.1)
    assert hears(back, 8000, ALICE_HZ), "Bob hears Alice again after she resumes"


async def test_baresip_wideband_callers_g722_and_opus_hear_each_other(
    phone: PhoneStack, room: Room, services: Services, tmp_path: Path
) -> None:
    """A G.722 phone and an Opus phone (each offering nothing else) are answered with
    their codec (baresip records at the codec's rate: 16 kHz, 48 kHz) and hear each
    other's tone at 5 and 6 kHz, which no G.711 hop on the way would let through."""
    row = Row("udp", "G722", "tcp", "opus", alice_hz=ALICE_WIDE_HZ, bob_hz=BOB_WIDE_HZ)
    alice, bob, t = await call_hold_resume(phone, room, services, tmp_path, row)
    assert (alice.codecs, bob.codecs) == ({"G722"}, {"opus"})
    assert alice.dtmf_by_info == bob.dtmf_by_info is False, "the PIN went as RFC 2833 events"
    assert (alice.rate, bob.rate) == (16000, 48000)
    talk_a = alice.between(t["talk"] + MARGIN, t["hold"] - GUARD)
    talk_b = bob.between(t["talk"] + MARGIN, t["hold"])
    assert hears(talk_a, alice.rate, BOB_WIDE_HZ), "the G.722 phone hears the Opus phone"
    assert silent_of(talk_a, alice.rate, ALICE_WIDE_HZ), "and not itself"
    assert hears(talk_b, bob.rate, ALICE_WIDE_HZ), "the Opus phone hears the G.722 phone"
    assert silent_of(talk_b, bob.rate, BOB_WIDE_HZ), "and not itself"
    back = bob.between(t["resume"] + MARGIN, t["bob_end"] - 0.1)
    assert hears(back, bob.rate, ALICE_WIDE_HZ), "heard again after hold and resume"
