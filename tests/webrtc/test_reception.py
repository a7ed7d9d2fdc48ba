"""Browsers' reception for the metrics (confero/webrtc/reception.py): real aiortc
browsers through the gateway give one sample each, in seconds and fractions; the
arithmetic is RTCP's, per interval."""

from __future__ import annotations

import asyncio

from confero.domain.rooms import Room
from confero.webrtc.reception import ReceptionSampler, _Counts
from tests.phone.support import eventually
from tests.webrtc.support import Browser, Served, ann_and_bob


async def test_each_connected_browser_gives_one_sample_of_its_microphone(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    ann, bob = await ann_and_bob(served, room, browsers)
    await ann.publish(tone_hz=600)
    await bob.publish(tone_hz=900)
    await eventually(lambda: ann.heard.has_tone(900) and bob.heard.has_tone(600), 15)
    samples: list[tuple[float, float]] = []
    sampler = ReceptionSampler(
        served.node.gateway.publish_connections, lambda loss, jitter: samples.append((loss, jitter))
    )
    await sampler.sample()  # the counters so far: the first interval
    samples.clear()
    await asyncio.sleep(1.0)
    assert await sampler.sample() == 2
    assert len(samples) == 2
    for loss, jitter in samples:
        assert loss == 0.0  # loopback loses nothing
        assert 0.0 <= jitter < 0.05, f"jitter {jitter} s: not in seconds?"

    await bob.close()  # gone: its leg no longer counts
    await eventually(lambda: len(list(served.node.gateway.publish_connections())) == 1, 10)
    await asyncio.sleep(0.5)
    assert await sampler.sample() == 1


def test_loss_is_the_intervals_not_the_calls() -> None:
    samples: list[tuple[float, float]] = []
    sampler = ReceptionSampler(lambda: [], lambda loss, jitter: samples.append((loss, jitter)))
    assert sampler._sample(_Counts(0, 0), _Counts(90, 10), jitter=480)
    assert sampler._sample(_Counts(90, 10), _Counts(190, 10), jitter=96)
    assert samples == [(0.1, 0.01), (0.0, 0.002)]
    # nothing expected (a muted or DTX-silent microphone): no sample
    assert not sampler._sample(_Counts(190, 10), _Counts(190, 10), jitter=0)
    assert len(samples) == 2
