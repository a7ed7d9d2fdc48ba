"""Adaptive jitter buffer under a seeded random network: order, loss, duplicates, lateness,
silence, wrap-around, adaptation and bounded memory."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confero.media.jitter import Frame, JitterBuffer
from confero.media.rtp import RtpPacket

F = 160
SEQ0 = 65400  # the sequence number wraps after 136 packets
TS0 = (1 << 32) - 200 * F  # the timestamp wraps after 200 packets


def decode(payload: bytes) -> np.ndarray:
    return np.frombuffer(payload, dtype=np.int16)


def packet(index: int, *, marker: bool = False, ts_offset: int = 0) -> RtpPacket:
    """Packet ``index`` of a 20 ms stream; its samples all equal ``index`` (mod 30000)."""
    return RtpPacket(
        payload_type=0,
        sequence=(SEQ0 + index) & 0xFFFF,
        timestamp=(TS0 + index * F + ts_offset) & 0xFFFFFFFF,
        ssrc=1234,
        payload=np.full(F, index % 30000, np.int16).tobytes(),
        marker=marker,
    )


@dataclass
class Network:
    """Packets sent every 20 ms from t=0, delivered at ``send time + delay``."""

    arrivals: list[tuple[float, RtpPacket]] = field(default_factory=list)
    targets: list[float] = field(default_factory=list)  #: target delay after each tick

    def send(self, index: int, delay: float, **kwargs: object) -> None:
        self.arrivals.append((index * 0.02 + 0.05 + delay, packet(index, **kwargs)))  # type: ignore[arg-type]

    def run(self, jb: JitterBuffer, until: float, phase: float = 0.0037) -> list[Frame | None]:
        """Deliver packets and pop once per 20 ms tick; returns every pop's result."""
        pending = sorted(self.arrivals, key=lambda a: a[0])
        out: list[Frame | None] = []
        i = 0
        ticks = int(until / 0.02)
        for k in range(ticks):
            now = phase + k * 0.02
            while i < len(pending) and pending[i][0] <= now:
                jb.put(pending[i][1], pending[i][0])
                i += 1
            out.append(jb.pop(now))
            self.targets.append(jb.target_delay)
        return out


def playout(frames: list[Frame | None]) -> list[Frame | None]:
    """Drop the Nones before playout starts."""
    first = next(i for i, f in enumerate(frames) if f is not None)
    return frames[first:]


def index_of(frame: Frame, first_index: int, first_ts_ext: int) -> int:
    return (frame.timestamp - first_ts_ext) // F + first_index


def test_shuffled_duplicated_and_lost_packets_play_in_order_with_concealment() -> None:
    rng = np.random.default_rng(20260101)
    n = 500
    lost = {25, 60, 61, 120, 200, 333, 334, 335, 400}  # runs of 1, 2, 1, 1, 3, 1
    duplicated = {10, 150, 151, 450}
    net = Network()
    for i in range(n):
        if i in lost:
            continue
        net.send(i, rng.uniform(0.0, 0.035))
        if i in duplicated:
            net.send(i, rng.uniform(0.0, 0.08))
    arrival_order = [p.sequence for _, p in sorted(net.arrivals, key=lambda a: a[0])]
    assert arrival_order != sorted(arrival_order, key=lambda s: (s - SEQ0) & 0xFFFF)  # shuffled

    jb = JitterBuffer(decode, max_concealed=2)
    frames = playout(net.run(jb, until=n * 0.02 + 0.5))

    # One output per index, in order: received ones real, lost runs concealed for at most
    # two frames and silent after that.
    expected: list[str] = []
    run = 0
    for i in range(n):
        run = run + 1 if i in lost else 0
        expected.append("real" if run == 0 else "concealed" if run <= 2 else "silent")
    got: list[str] = []
    for i, frame in enumerate(frames[:n]):
        if frame is None:
            got.append("silent")
            continue
        assert frame.pcm.size == F
        assert frame.timestamp == TS0 + i * F  # unwrapped: keeps counting past 2**32
        if frame.concealed:
            got.append("concealed")
        else:
            assert np.all(frame.pcm == i % 30000)
            got.append("real")
    assert got == expected
    # simple PLC: the previous frame, attenuated
    assert np.all(frames[25].pcm == int(24 * 0.7))  # type: ignore[union-attr]
    assert np.all(frames[61].pcm == int(59 * 0.49))  # type: ignore[union-attr]

    s = jb.stats
    # the 8 in the stream plus 2 after the last packet, where an underrun looks like loss
    assert expected.count("concealed") == 8
    assert s.concealed == 8 + 2
    assert s.played == n - len(lost)
    assert s.duplicates == len(duplicated)
    assert s.late == 0 and s.overflow == 0 and s.expanded == 0 and s.accelerated == 0
    assert s.lost == len(lost)


def test_a_late_packet_is_dropped_concealed_and_raises_the_target() -> None:
    net = Network()
    for i in range(400):
        net.send(i, 0.002 + (0.35 if i == 100 else 0.0))
    jb = JitterBuffer(decode, initial_delay=0.02)
    frames = playout(net.run(jb, until=8.5))
    assert jb.stats.late == 1
    assert max(net.targets) >= 0.15  # fast attack when the late packet came
    assert net.targets[-1] <= 0.03  # and back down once it is clear that it was a one-off
    real = [f for f in frames if f is not None and not f.concealed]
    values = [int(f.pcm[0]) for f in real]
    assert values == sorted(values) and len(set(values)) == len(values)  # in order, once each
    assert 100 not in values and 99 in values and 101 in values
    assert jb.stats.concealed >= 1
    assert jb.stats.expanded >= 1  # the delay grew by inserting frames
    assert jb.stats.accelerated >= 1  # and shrank by dropping some


def simulate_jitter_phases(phases: list[tuple[float, float]]) -> tuple[JitterBuffer, list[float]]:
    """Phases of (seconds, max jitter); returns the buffer and its target at each phase end."""
    rng = np.random.default_rng(7)
    jb = JitterBuffer(decode)
    arrivals: list[tuple[float, RtpPacket]] = []
    index = 0
    ends = []
    t_end = 0.0
    for seconds, jitter in phases:
        t_end += seconds
        while index * 0.02 < t_end:
            arrivals.append((index * 0.02 + 0.03 + rng.uniform(0, jitter), packet(index)))
            index += 1
        ends.append(t_end)
    arrivals.sort(key=lambda a: a[0])
    targets = []
    i = 0
    k = 0
    for end in ends:
        while (now := 0.0041 + k * 0.02) < end:
            while i < len(arrivals) and arrivals[i][0] <= now:
                jb.put(arrivals[i][1], arrivals[i][0])
                i += 1
            jb.pop(now)
            k += 1
        targets.append(jb.target_delay)
    return jb, targets


def test_target_delay_rises_with_jitter_and_falls_back() -> None:
    jb, (calm, stormy, calm_again) = simulate_jitter_phases([(10, 0.004), (15, 0.12), (20, 0.004)])
    assert calm <= 0.03
    assert 0.12 <= stormy <= 0.2
    assert calm_again <= 0.035
    # it adapted: few packets were late in the stormy phase (mostly during the climb)
    assert jb.stats.late < 0.03 * 750
    assert jb.stats.accelerated > 0  # the delay came down again by skipping frames


def test_target_delay_is_clamped() -> None:
    _, (target,) = simulate_jitter_phases([(10, 0.6)])
    assert target == pytest.approx(0.2)


def test_suppressed_silence_plays_as_none_without_concealment_at_the_next_spurt() -> None:
    jb = JitterBuffer(decode, max_concealed=2, initial_delay=0.02)
    net = Network()
    for i in range(50):
        net.send(i, 0.005)
    for i in range(50, 100):  # 1 s gap in time, sequence numbers continue, marker starts it
        net.arrivals.append((i * 0.02 + 1.0 + 0.055, packet(i, marker=(i == 50), ts_offset=50 * F)))
    frames = playout(net.run(jb, until=3.2))
    values = [int(f.pcm[0]) for f in frames if f is not None and not f.concealed]
    assert values == list(range(100))
    # the end of each spurt looks like an underrun: two frames are concealed there, and
    # none where the second spurt starts (its marker bit says nothing was lost)
    assert jb.stats.concealed == 2 + 2
    first_of_second = next(
        k for k, f in enumerate(frames) if f is not None and not f.concealed and f.pcm[0] == 50
    )
    gap = frames[50:first_of_second]
    assert len(gap) == 50
    assert [f is None for f in gap] == [False, False] + [True] * 48
    assert jb.stats.lost == 0


@pytest.mark.parametrize("packet_ms", [10, 30, 40])
def test_other_packet_sizes_play_as_a_continuous_stream(packet_ms: int) -> None:
    size = 8 * packet_ms
    jb = JitterBuffer(decode, initial_delay=0.02)
    ramp = (np.arange(size * 200) % 30000).astype(np.int16)
    pops: list[Frame | None] = []
    for k in range(int(200 * packet_ms / 20) + 10):
        now = k * 0.02
        for i in range(200):
            arrival = i * packet_ms / 1000
            if now - 0.02 < arrival <= now:
                jb.put(
                    RtpPacket(0, i, 1000 + i * size, 1, ramp[i * size : (i + 1) * size].tobytes()),
                    arrival,
                )
        pops.append(jb.pop(now))
    frames = [f for f in pops if f is not None]
    assert all(f.pcm.size == F for f in frames)
    stream = np.concatenate([f.pcm for f in frames if not f.concealed])
    assert stream.size >= ramp.size - 2 * size
    np.testing.assert_array_equal(stream, ramp[: stream.size])


def test_memory_is_bounded() -> None:
    jb = JitterBuffer(decode, max_packets=50)
    for i in range(1000):
        jb.put(packet(i), 0.0 + i * 0.0001)
    assert jb.buffered == 50
    assert jb.stats.overflow == 950


def test_a_timestamp_discontinuity_restarts_playout() -> None:
    net = Network()
    for i in range(100):
        net.send(i, 0.003)
    for i in range(100, 200):  # the clock jumps far ahead (a phone after hold, say)
        net.arrivals.append((i * 0.02 + 0.053, packet(i, ts_offset=10_000_000)))
    jb = JitterBuffer(decode, initial_delay=0.02)
    frames = net.run(jb, until=4.4)
    assert jb.stats.resyncs == 1
    values = [int(f.pcm[0]) for f in frames if f is not None and not f.concealed]
    assert values[:100] == list(range(100))
    assert values[-10:] == list(range(190, 200))
    assert len(values) >= 195


def test_a_single_wild_timestamp_is_ignored() -> None:
    net = Network()
    for i in range(100):
        net.send(i, 0.003, ts_offset=(5_000_000 if i == 40 else 0))
    jb = JitterBuffer(decode, initial_delay=0.02)
    frames = net.run(jb, until=2.4)
    assert jb.stats.resyncs == 0
    values = [int(f.pcm[0]) for f in frames if f is not None and not f.concealed]
    assert values == [i for i in range(100) if i != 40]


def test_reset_forgets_the_stream() -> None:
    jb = JitterBuffer(decode)
    for i in range(5):
        jb.put(packet(i), i * 0.02)
    jb.reset()
    assert jb.buffered == 0
    assert jb.pop(1.0) is None
    jb.put(packet(1000), 2.0)
    assert jb.pop(2.0) is None
    frame = next(f for k in range(1, 6) if (f := jb.pop(2.0 + 0.02 * k)) is not None)
    assert frame.pcm[0] == 1000


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        JitterBuffer(decode, min_delay=0.3, max_delay=0.2)
    with pytest.raises(ValueError):
        JitterBuffer(decode, max_packets=1)


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("put"),
            st.integers(0, 0xFFFF),
            st.integers(0, 0xFFFFFFFF),
            st.booleans(),
            st.integers(0, 3).map(lambda n: n * 80),
        ),
        st.tuples(
            st.just("near"), st.integers(-5, 40), st.integers(-3, 40), st.booleans(), st.just(160)
        ),
        st.tuples(st.just("pop"), st.integers(0, 3), st.just(0), st.just(False), st.just(0)),
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_any_sequence_of_puts_and_pops_is_safe(ops: list[tuple[str, int, int, bool, int]]) -> None:
    jb = JitterBuffer(decode, max_packets=8)
    now = 0.0
    for kind, a, b, marker, size in ops:
        if kind == "pop":
            now += 0.02 * a
            frame = jb.pop(now)
            assert frame is None or (frame.pcm.size == F and frame.pcm.dtype == np.int16)
            continue
        if kind == "near":  # plausible stream with reordering and gaps
            seq, ts = (100 + a) & 0xFFFF, (5000 + b * F) & 0xFFFFFFFF
        else:
            seq, ts = a, b
        jb.put(RtpPacket(0, seq, ts, 1, bytes(2 * size), marker=marker), now)
        assert jb.buffered <= 8


def test_a_wideband_clock_gives_two_samples_per_timestamp_unit_and_conceals_whole_frames() -> None:
    """G.722 (issue 13): 160 timestamp units carry 320 samples; every frame, played or
    concealed for a lost packet, is 320 samples and nothing is skipped or repeated."""
    net = Network()
    for i in range(40):
        if i != 20:
            net.send(i, 0.01)
    jb = JitterBuffer(lambda p: np.repeat(decode(p), 2), samples_per_unit=2)
    frames = [f for f in net.run(jb, 1.2) if f is not None]
    assert {f.pcm.size for f in frames} == {2 * F}
    played = [int(f.pcm[0]) for f in frames if not f.concealed]
    assert played == [i for i in range(40) if i != 20]
    last_played = max(i for i, f in enumerate(frames) if not f.concealed)
    assert [f.concealed for f in frames[:last_played]].count(True) == 1, "the lost one"
    assert jb.stats.lost == 1
