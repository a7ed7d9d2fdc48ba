"""One phone leg's RTCP session (RFC 3550 section 6): when to report, what, and what the
phone's reports tell us (F-PH1, issue 13).

Why: phones and gateways judge a call by our reports (some hang up on a stream that never
reports), and their reports are the only way to know how our audio reaches them. This is
the leg's bookkeeping only, no socket and no task: the leg feeds it every accepted RTP
packet and every RTCP datagram, asks :meth:`RtcpSession.due` from the media tick (every
20 ms) and sends what :meth:`RtcpSession.report` builds. So there is no timer per leg and
the work per packet is a few arithmetic operations.

* Schedule: one compound report per ``interval`` (5 s, RFC 3550 6.2's minimum), each
  interval randomised to 0.5-1.5 times (6.3.1, so that legs started together do not
  report in step), the first after half an interval (6.2, "initial").
* What: SR when we sent RTP since the last report (6.4.1), else RR (6.4.2); a report
  block for the phone's stream once we heard it; always SDES CNAME (6.1 compound rule);
  BYE last when the leg closes (6.6).
* Statistics (:class:`CallQuality`): loss and jitter of the phone's stream as we measure
  it (:class:`~confero.media.rtcp.ReceiverStats`, appendices A.1/A.3/A.8), loss and jitter
  of our stream as the phone reports it, and the round-trip time from the phone's LSR and
  DLSR (6.4.1: ``A - LSR - DLSR`` in 1/65536 s, ``A`` our NTP time when the report came).
  Our NTP clock is the wall clock at start plus the monotonic clock since, so it never
  jumps and the RTT is right even if the system clock is set during a call.
* A malformed datagram is counted and dropped; nothing here raises on input.
* Issue 18: ``on_interval`` hears the phone's stream's loss (fraction of the interval)
  and jitter (seconds) as each report of ours closes an interval: the metrics'
  histograms, fed every ~5 s per leg, nothing per packet.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Final

from confero.media.rtcp import (
    Bye,
    ReceiverReport,
    ReceiverStats,
    ReportBlock,
    RtcpError,
    SenderReport,
    build_bye,
    build_receiver_report,
    build_sender_report,
    ntp_timestamp,
    parse_compound,
)
from confero.media.rtp import RtpPacket, RtpSender

__all__ = ["REPORT_INTERVAL", "CallQuality", "RtcpSession"]

#: Seconds between reports on average (RFC 3550 6.2: the recommended minimum).
REPORT_INTERVAL: Final = 5.0
#: A round trip longer than this is a wrapped or bogus LSR/DLSR, not a measurement.
_MAX_RTT: Final = 60.0


@dataclass(frozen=True, slots=True)
class CallQuality:
    """How a phone leg's audio fares, both ways; None where nothing is known yet."""

    codec: str
    #: RTP packets of the phone's stream we received, and lost (cumulative, ours).
    packets_received: int
    packets_lost: int
    #: Of the phone's packets we expected, the percentage lost.
    loss_percent: float | None
    #: Interarrival jitter of the phone's stream, as we measure it.
    jitter_ms: float | None
    #: Round trip to the phone, from its last report about our sender reports.
    rtt_ms: float | None
    #: Our stream as the phone reports it: loss in its last interval, cumulative lost
    #: packets, and its jitter estimate.
    remote_loss_percent: float | None
    remote_packets_lost: int | None
    remote_jitter_ms: float | None
    reports_sent: int
    reports_received: int
    rtcp_malformed: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _ms(value: float) -> float:
    return round(value * 1000.0, 2)


class RtcpSession:
    """Report schedule and statistics of one leg; ``now`` is the leg's monotonic clock."""

    def __init__(
        self,
        clock_rate: int,
        *,
        cname: str,
        now: float,
        interval: float = REPORT_INTERVAL,
        wallclock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.clock_rate = clock_rate
        self.cname = cname
        self.interval = interval
        self._rng = rng or random.Random()
        self._mono0 = now
        self._wall0 = wallclock()
        self._next = now + self._spread() / 2  # 6.2: the first report after half
        self._stats: ReceiverStats | None = None
        self._packets_at_report = 0
        self._remote: ReportBlock | None = None
        self._rtt: float | None = None
        self.reports_sent = 0
        self.reports_received = 0
        self.malformed = 0
        self.bye_received = False
        #: (loss fraction, jitter in seconds) of the phone's stream per report interval.
        self.on_interval: Callable[[float, float], None] | None = None

    def _spread(self) -> float:
        return self.interval * self._rng.uniform(0.5, 1.5)

    def _ntp(self, now: float) -> int:
        return ntp_timestamp(self._wall0 + (now - self._mono0))

    # ------------------------------------------------------------------ inbound
    def on_rtp(self, packet: RtpPacket, arrival: float, *, sampling: bool = True) -> None:
        """An accepted RTP packet; ``sampling`` False for packets whose timestamp is not a
        sampling instant (RFC 4733 events), which must not disturb the jitter estimate."""
        stats = self._stats
        if stats is None or stats.ssrc != packet.ssrc:
            # a new source (the filter has put it on probation already): fresh counts
            stats = self._stats = ReceiverStats(packet.ssrc, self.clock_rate)
        stats.update(packet.sequence, packet.timestamp if sampling else None, arrival)

    def on_rtcp(self, data: bytes, now: float, our_ssrc: int) -> bool:
        """A compound RTCP datagram from the phone; False (and counted) if malformed."""
        try:
            packets = parse_compound(data)
        except RtcpError:
            self.malformed += 1
            return False
        if not isinstance(packets[0], SenderReport | ReceiverReport):
            self.malformed += 1  # 6.1: every compound starts with SR or RR
            return False
        self.reports_received += 1
        for packet in packets:
            if isinstance(packet, SenderReport | ReceiverReport):
                stats = self._stats
                if (
                    isinstance(packet, SenderReport)
                    and stats is not None
                    and packet.ssrc == stats.ssrc
                ):
                    stats.on_sender_report(packet, now)
                for block in packet.reports:
                    if block.ssrc == our_ssrc:
                        self._about_us(block, now)
            elif isinstance(packet, Bye):
                self.bye_received = True
        return True

    def _about_us(self, block: ReportBlock, now: float) -> None:
        self._remote = block
        if block.last_sr == 0:
            return  # it has not received an SR of ours yet: no round trip to measure
        arrival = (self._ntp(now) >> 16) & 0xFFFFFFFF
        units = (arrival - block.last_sr - block.delay_since_last_sr) & 0xFFFFFFFF
        rtt = units / 65536.0
        if rtt < _MAX_RTT:
            self._rtt = rtt

    # ------------------------------------------------------------------ outbound
    def due(self, now: float) -> bool:
        return now >= self._next

    def _blocks(self, now: float) -> tuple[ReportBlock, ...]:
        stats = self._stats
        return (stats.report_block(now),) if stats is not None and stats.received else ()

    def report(self, now: float, sender: RtpSender) -> bytes:
        """The compound report due now (SR if we sent since the last one, else RR), and
        the next one scheduled."""
        self._next = now + self._spread()
        self.reports_sent += 1
        blocks = self._blocks(now)
        if blocks and self.on_interval is not None:
            block = blocks[0]
            self.on_interval(block.fraction_lost / 256, block.jitter / self.clock_rate)
        if sender.packets_sent == self._packets_at_report:
            return build_receiver_report(sender.ssrc, self.cname, blocks)
        self._packets_at_report = sender.packets_sent
        report = SenderReport(
            ssrc=sender.ssrc,
            ntp_timestamp=self._ntp(now),
            rtp_timestamp=sender.timestamp,
            packet_count=sender.packets_sent & 0xFFFFFFFF,
            octet_count=sender.octets_sent & 0xFFFFFFFF,
            reports=blocks,
        )
        return build_sender_report(report, self.cname)

    def bye(self, now: float, sender: RtpSender, reason: str | None = None) -> bytes:
        """RR + SDES + BYE for the end of the leg (6.6)."""
        self.reports_sent += 1
        return build_bye(sender.ssrc, self.cname, reason, self._blocks(now))

    # ------------------------------------------------------------------ figures
    def quality(self, codec: str) -> CallQuality:
        stats = self._stats
        received = stats.received if stats is not None else 0
        lost = max(0, stats.lost) if stats is not None else 0
        expected = stats.expected if stats is not None else 0
        remote = self._remote
        return CallQuality(
            codec=codec,
            packets_received=received,
            packets_lost=lost,
            loss_percent=round(100.0 * lost / expected, 2) if expected else None,
            jitter_ms=_ms(stats.jitter / self.clock_rate) if stats and received > 1 else None,
            rtt_ms=_ms(self._rtt) if self._rtt is not None else None,
            remote_loss_percent=(
                round(100.0 * remote.fraction_lost / 256, 2) if remote is not None else None
            ),
            remote_packets_lost=max(0, remote.cumulative_lost) if remote is not None else None,
            remote_jitter_ms=(_ms(remote.jitter / self.clock_rate) if remote is not None else None),
            reports_sent=self.reports_sent,
            reports_received=self.reports_received,
            rtcp_malformed=self.malformed,
        )
