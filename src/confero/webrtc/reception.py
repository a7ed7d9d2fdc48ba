"""How browsers' microphones reach us, for the operators' metrics (issue 18).

A phone leg's loss and jitter come with each RTCP interval (media/rtcp_session.py); a
browser's are in aiortc's receiver statistics, which nothing reads on its own. So every
``every`` seconds the sampler reads, for each browser whose publish connection is up,
the audio receiver's ``inbound-rtp`` figures and hands the interval's loss fraction and
the current jitter (seconds) to ``observe``, the same histograms as the phones' with
``channel="browser"``.

Loss is counted over the interval (packets lost / packets expected since the last
sample), as RTCP's fraction lost is, not since the call began, so an old burst does not
colour every later sample. An interval in which nothing was expected (a silent browser
under DTX sends one packet in 400 ms, a muted one may send none) gives no sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiortc import RTCPeerConnection

log = logging.getLogger(__name__)

#: Opus's RTP clock: aiortc gives jitter in its timestamp units.
OPUS_CLOCK = 48_000
EVERY = 5.0

#: (loss fraction, jitter in seconds)
Observe = Callable[[float, float], None]


@dataclass(frozen=True)
class _Counts:
    received: int
    lost: int


class ReceptionSampler:
    """``connections()``: (participant id, publish connection) of every browser now."""

    def __init__(
        self,
        connections: Callable[[], Iterable[tuple[str, RTCPeerConnection]]],
        observe: Observe,
        every: float = EVERY,
    ) -> None:
        assert every > 0
        self._connections = connections
        self._observe = observe
        self._every = every
        self._last: dict[tuple[str, int], _Counts] = {}
        self._task: asyncio.Task[None] | None = None

    async def sample(self) -> int:
        """One round; how many legs gave a sample."""
        seen: dict[tuple[str, int], _Counts] = {}
        samples = 0
        for participant_id, pc in list(self._connections()):
            if pc.connectionState != "connected":
                continue
            for receiver in pc.getReceivers():
                if receiver.track is None or receiver.track.kind != "audio":
                    continue
                for stats in (await receiver.getStats()).values():
                    if getattr(stats, "type", None) != "inbound-rtp":
                        continue
                    # A new connection of the same participant is another key (``id``):
                    # its counters start again from zero.
                    key = (participant_id, id(receiver))
                    now = _Counts(stats.packetsReceived, stats.packetsLost)
                    seen[key] = now
                    if self._sample(self._last.get(key, _Counts(0, 0)), now, stats.jitter):
                        samples += 1
        self._last = seen  # legs gone since are forgotten
        return samples

    def _sample(self, before: _Counts, now: _Counts, jitter: float) -> bool:
        received = now.received - before.received
        lost = max(0, now.lost - before.lost)
        expected = received + lost
        if expected <= 0:
            return False
        self._observe(lost / expected, jitter / OPUS_CLOCK)
        return True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.sample()
            except Exception:  # a connection closing under us must not end the sampling
                log.exception("browser reception sample failed")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="browser-reception")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
