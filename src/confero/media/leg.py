"""One phone leg's RTP media on a UDP socket (RFC 3550, RFC 4733).

Inbound: packets from a foreign address or SSRC are dropped by the source filter;
telephone-events go to the DTMF receiver and never reach the mix; audio goes through the
adaptive jitter buffer and is resampled to the mixer's 48 kHz once per tick. Outbound:
the mix is resampled to the codec's rate, encoded and sent with this leg's own RTP
header; when several legs hear the same mix the engine encodes it once per codec and
hands each leg the payload (``send_encoded``).

Codecs (F-PH1, issue 13 deliver 3): any :class:`~confero.media.phone_codecs.PhoneCodec`
- G.711 (8 kHz), G.722 (16 kHz audio on an 8000 Hz RTP clock) or Opus (48 kHz) - with
the payload type negotiation chose. Stateful codecs need their own state per stream, so
each leg has its own decoder (fed in order by the jitter buffer, which counts RTP
timestamp units) and its own encoder for its private mix; the RTP timestamp advances by
the codec's step per 20 ms (160, 160, 960), not by the number of samples.

RTCP (issue 13): RTP on an even port, RTCP on the odd one above (or muxed on the RTP
port, RFC 5761). Reports go out from the media tick (``pull``), not from a task per leg,
on the schedule of :mod:`confero.media.rtcp_session`; they go where the phone's SDP says,
except behind NAT (RTP latched elsewhere than its SDP), where they follow its RTP's real
host and then its own reports' source. Incoming RTCP counts only from the latched host;
its figures are ``quality()``, which the API's participant list shows.

Issue 14: ``last_heard`` is when the phone was last heard (accepted RTP or a well-formed
RTCP report from its host), for the call's media timeout; a leg that never sent
anything sends no RTCP BYE when it closes (RFC 3550 6.3.7; a call refused or never
ACKed sends nothing to the address its SDP named).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from confero.media.dtmf import DtmfDigit, DtmfReceiver
from confero.media.g711 import G711Codec
from confero.media.jitter import JitterBuffer
from confero.media.phone_codecs import PhoneCodec, codec_for
from confero.media.resample import Resampler
from confero.media.rtcp_session import REPORT_INTERVAL, CallQuality, RtcpSession
from confero.media.rtp import RtpError, RtpPacket, RtpReceiverFilter, RtpSender, Verdict, is_rtcp
from confero.media.vad import SpeechGate, threshold_level

log = logging.getLogger(__name__)

Address = tuple[str, int]
Frame = npt.NDArray[np.int16]
MIXER_RATE = 48_000
#: Free ports to try for an even RTP port with a free odd neighbour.
_PORT_TRIES = 32
#: Hosts that mean "no address" (c=0.0.0.0 on hold): no RTCP goes there.
_NOWHERE = frozenset({"0.0.0.0", "::"})


@dataclass
class LegStats:
    received: int = 0
    ignored: int = 0
    malformed: int = 0
    sent: int = 0
    digits: int = 0


@dataclass(frozen=True)
class LegState:
    """Everything a leg's sockets need to go on in another process (a media worker,
    issue 15 P4): the phone sees the same stream (SSRC, sequence numbers, timestamps),
    the same latch, RTCP session and key press; only the jitter buffer starts afresh."""

    leg_id: str
    codec_name: str
    payload_type: int
    dtmf_payload_type: int | None
    local_port: int
    remote: Address | None
    sending: bool
    held: bool
    last_heard: float
    filter: RtpReceiverFilter
    sender: RtpSender
    rtcp: RtcpSession
    rtcp_remote: Address | None
    rtcp_given: bool
    rtcp_mux: bool
    rtcp_source: Address | None
    stats: LegStats
    has_rtcp_socket: bool
    #: a key press whose packets straddle the move is one digit, not two
    dtmf: DtmfReceiver


class RtpAudioLeg(asyncio.DatagramProtocol):
    #: Seconds between our RTCP reports on average (tests shorten it).
    RTCP_INTERVAL: float = REPORT_INTERVAL
    _rtcp_transport: asyncio.DatagramTransport | None

    def __init__(
        self,
        leg_id: str,
        codec: PhoneCodec | G711Codec,
        *,
        dtmf_payload_type: int | None = 101,
        on_digit: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.id = leg_id
        if not isinstance(codec, PhoneCodec):  # a bare G.711 law, as older callers pass
            codec = codec_for(codec.name, codec.payload_type)
        self.codec: PhoneCodec = codec
        self.dtmf_payload_type = dtmf_payload_type
        self.on_digit = on_digit
        self._clock = clock
        self.stats = LegStats()
        self.remote: Address | None = None
        self.local_port = 0
        self.sending = True
        #: The remote holds the call (SDP sendonly/inactive/c=0.0.0.0): nothing is mixed.
        self.held = False
        #: When the phone was last heard (the leg's clock): accepted RTP or RTCP.
        self.last_heard = clock()
        self._filter = RtpReceiverFilter()
        self._dtmf = DtmfReceiver(clock_rate=codec.clock_rate)
        self._gate = SpeechGate()
        self._sender = RtpSender(codec.payload_type)
        self._transport: asyncio.DatagramTransport | None = None
        #: The rate of the mix this leg is in (48 kHz, or 8 kHz in an all-narrowband room)
        self.mix_rate = MIXER_RATE
        self._init_rtcp()
        self._use(codec)

    def _use(self, codec: PhoneCodec) -> None:
        self.codec = codec
        self._encoder = codec.make_encoder()
        decoder = codec.make_decoder()
        if isinstance(decoder, G711Codec):
            decoder = _QuietFirst(decoder)
        self._jitter = JitterBuffer(
            decoder.decode,
            clock_rate=codec.clock_rate,
            samples_per_unit=codec.samples_per_unit,
        )
        self._up = _resampler(codec.sample_rate, self.mix_rate)
        self._down = _resampler(self.mix_rate, codec.sample_rate)
        self._sender.payload_type = codec.payload_type
        self._rtcp.clock_rate = codec.clock_rate
        #: RTP timestamp units per 20 ms packet (160 for G.711 and G.722, 960 for Opus)
        self.frame_samples = codec.timestamp_step

    def set_mix_rate(self, rate: int) -> None:
        """Deliver and take frames at ``rate`` (the engine's choice for the room)."""
        if rate != self.mix_rate:
            self.mix_rate = rate
            self._up = _resampler(self.codec.sample_rate, rate)
            self._down = _resampler(rate, self.codec.sample_rate)

    def set_codec(self, codec: PhoneCodec) -> None:
        """Run ``codec`` from now on, on the same sockets: the answer to our offer chose
        it (dial-out, late offer), so nothing has to be closed and bound again. Meant for
        before media flows; the stream's SSRC and sequence numbers go on."""
        if codec != self.codec:
            self._use(codec)

    # ---------------------------------------------------------------- socket
    async def open(self, host: str, port: int = 0) -> int:
        """Bind RTP on ``port`` (0: a free even one) and RTCP on the odd port above it.

        RFC 3550 section 11: RTP on an even port, RTCP on the next one, which is where a
        phone sends its reports when our SDP says nothing else (RFC 3605). With port 0 we
        try a few free ports until an even one has its neighbour free too; with a given
        port, a busy neighbour leaves the leg without an RTCP socket (RTCP then only
        works muxed, RFC 5761) rather than without a call."""
        loop = asyncio.get_running_loop()
        for _ in range(_PORT_TRIES if port == 0 else 1):
            transport, _ = await loop.create_datagram_endpoint(
                lambda: self, local_addr=(host, port)
            )
            rtp_port = int(transport.get_extra_info("sockname")[1])
            if port == 0 and rtp_port % 2:
                transport.close()
                continue
            try:
                rtcp, _ = await loop.create_datagram_endpoint(
                    lambda: _RtcpSocket(self), local_addr=(host, rtp_port + 1)
                )
            except OSError:
                if port == 0:
                    transport.close()
                    continue
                log.warning("leg %s: RTCP port %d is taken, no RTCP socket", self.id, port + 1)
            else:
                self._rtcp_transport = rtcp
            self._transport = transport
            self.local_port = rtp_port
            return self.local_port
        raise OSError(f"no free even RTP port with a free RTCP port after {_PORT_TRIES} tries")

    def set_remote(
        self, address: Address, *, peer_host: str | None = None, proven_only: bool = False
    ) -> None:
        """Where to send (from the SDP) until the phone's first packet; with ``peer_host``
        (where its SIP came from) the leg latches to the source of the first packet from
        the SDP's host or that one, and sends there (symmetric RTP for phones behind
        NAT); without it inbound is held to the SDP address.

        ``proven_only`` (an unauthenticated caller, issue 14): an SDP host other than
        ``peer_host`` has not shown it wants our RTP (anyone can write any address into
        an SDP: a reflection amplifier), so nothing is sent until a packet from it (or
        from ``peer_host``) latches the leg; the SIP peer's own host proved itself by
        answering our 200 with an ACK."""
        hosts = frozenset({address[0], peer_host}) if peer_host else frozenset()
        self._filter.expect(address, hosts)
        unproven = proven_only and peer_host is not None and address[0] != peer_host
        self.remote = None if unproven else address

    def hand_over(self) -> tuple[LegState, list[int]]:
        """The leg's state and its sockets' descriptors (RTP, then RTCP), for a media
        worker to go on with (``adopt``); send them before ``let_go``."""
        assert self._transport is not None, "an open leg is handed over"
        observer, self._rtcp.on_interval = self._rtcp.on_interval, None
        state = LegState(
            self.id,
            self.codec.name,
            self.codec.payload_type,
            self.dtmf_payload_type,
            self.local_port,
            self.remote,
            self.sending,
            self.held,
            self.last_heard,
            self._filter,
            self._sender,
            copy.copy(self._rtcp),  # without the node's observer: pickled as it is
            self._rtcp_remote,
            self._rtcp_given,
            self._rtcp_mux,
            self._rtcp_source,
            self.stats,
            self._rtcp_transport is not None,
            self._dtmf,
        )
        self._rtcp.on_interval = observer
        fds = [_fileno(self._transport)]
        if self._rtcp_transport is not None:
            fds.append(_fileno(self._rtcp_transport))
        return state, fds

    def let_go(self) -> None:
        """Stop using the sockets here (a worker took them over): no RTCP BYE."""
        for transport in (self._transport, self._rtcp_transport):
            if transport is not None:
                transport.close()
        self._transport = self._rtcp_transport = None

    @classmethod
    async def adopt(cls, state: LegState, fds: list[int]) -> RtpAudioLeg:
        """The leg ``hand_over`` described, on its sockets (``fds``, now ours)."""
        leg = cls(
            state.leg_id,
            codec_for(state.codec_name, state.payload_type),
            dtmf_payload_type=state.dtmf_payload_type,
        )
        leg.local_port, leg.remote = state.local_port, state.remote
        leg.sending, leg.held, leg.last_heard = state.sending, state.held, state.last_heard
        leg._filter, leg._sender, leg._rtcp, leg.stats = (
            state.filter,
            state.sender,
            state.rtcp,
            state.stats,
        )
        leg._rtcp_remote, leg._rtcp_given = state.rtcp_remote, state.rtcp_given
        leg._rtcp_mux, leg._rtcp_source = state.rtcp_mux, state.rtcp_source
        leg._dtmf = state.dtmf
        loop = asyncio.get_running_loop()
        socks = [socket.socket(fileno=fd) for fd in fds]
        leg._transport, _ = await loop.create_datagram_endpoint(lambda: leg, sock=socks[0])
        if state.has_rtcp_socket and len(socks) > 1:
            leg._rtcp_transport, _ = await loop.create_datagram_endpoint(
                lambda: _RtcpSocket(leg), sock=socks[1]
            )
        return leg

    @property
    def transport(self) -> asyncio.DatagramTransport | None:
        """The RTP socket, for a relay that takes the leg's traffic over (issue 16: a
        call passed on to the node that runs its room keeps the port the phone knows);
        the leg still owns it and closes it."""
        return self._transport

    def close(self) -> None:
        if self._transport is not None:
            if self.stats.sent or self._rtcp.reports_sent:  # RFC 3550 6.6 and 6.3.7
                self._send_rtcp(self._rtcp.bye(self._clock(), self._sender))
            self._transport.close()
            self._transport = None
        if self._rtcp_transport is not None:
            self._rtcp_transport.close()
            self._rtcp_transport = None

    @property
    def closed(self) -> bool:
        return self._transport is None

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if is_rtcp(data):  # muxed on the RTP port (RFC 5761)
            self.rtcp_received(data, addr, muxed=True)
            return
        try:
            packet = RtpPacket.parse(data)
        except RtpError:
            self.stats.malformed += 1
            return
        now = self._clock()
        verdict = self._filter.check(packet, (addr[0], addr[1]), now)
        if verdict is not Verdict.ACCEPT:
            if verdict is not Verdict.NEW_SOURCE:
                self.stats.ignored += 1
                return
            self._jitter.reset()
            self._dtmf.reset()
        self.last_heard = now
        latched = self._filter.address
        if latched is not None and latched != self.remote:
            self.remote = latched  # answer where the phone really is (latched, re-latched)
        self.stats.received += 1
        payload_type = packet.payload_type
        if payload_type == self.codec.payload_type:
            self._rtcp.on_rtp(packet, now)
            self._jitter.put(packet, now)
        elif payload_type == self.dtmf_payload_type:
            self._rtcp.on_rtp(packet, now, sampling=False)
            self._digits(self._dtmf.feed(packet, now))
        else:
            self._rtcp.on_rtp(packet, now)
            self.stats.ignored += 1

    def _digits(self, found: list[DtmfDigit]) -> None:
        for d in found:
            self.stats.digits += 1
            if self.on_digit is not None:
                self.on_digit(d.digit)

    # ---------------------------------------------------------------- RTCP
    def _init_rtcp(self) -> None:
        self._rtcp = RtcpSession(
            self.codec.clock_rate,
            cname=secrets.token_urlsafe(12),  # RFC 7022: a random CNAME per session
            now=self._clock(),
            interval=self.RTCP_INTERVAL,
        )
        self._rtcp_transport = None
        self._rtcp_remote: Address | None = None
        self._rtcp_given = False
        self._rtcp_mux = False
        #: Where the phone's own reports come from (symmetric RTCP behind NAT).
        self._rtcp_source: Address | None = None

    def set_rtcp_remote(self, address: Address | None, *, mux: bool) -> None:
        """Where the phone wants RTCP (from its SDP: ``a=rtcp`` or RTP port + 1; None:
        nowhere, as on hold with no address), or on the RTP port with ``mux``."""
        self._rtcp_remote = address
        self._rtcp_given = True
        self._rtcp_mux = mux

    def _rtcp_target(self) -> Address | None:
        rtp = self.remote
        if rtp is None or self._rtcp_mux:
            # no RTP target (none yet, or an SDP host that has not proven it wants our
            # media, issue 14): no reports either, whatever ``a=rtcp`` said
            return rtp
        sdp = self._filter.expected
        if rtp is not None and sdp is not None and rtp != sdp:
            # latched elsewhere than its SDP said (NAT): answer its reports' source, or
            # guess the port above its RTP's mapping until one comes
            return self._rtcp_source or (rtp[0], rtp[1] + 1)
        if self._rtcp_given:
            return self._rtcp_remote
        return rtp[0], rtp[1] + 1

    def _send_rtcp(self, data: bytes) -> None:
        target = self._rtcp_target()
        transport = self._transport if self._rtcp_mux else self._rtcp_transport
        if target is None or transport is None or target[0] in _NOWHERE:
            return
        try:
            transport.sendto(data, target)
        except (OSError, ValueError):  # never break the media tick over a report
            log.debug("leg %s: RTCP to %s failed", self.id, target, exc_info=True)

    def _rtcp_peer(self, host: str) -> bool:
        latched = self._filter.address
        if latched is not None:
            return host == latched[0]
        return host in self._filter.latch_hosts

    def rtcp_received(self, data: bytes, addr: Address, *, muxed: bool) -> None:
        """A datagram on the RTCP port (or RTCP on the RTP port): statistics, from the
        latched phone's host only; malformed ones are counted and dropped."""
        if not self._rtcp_peer(addr[0]):
            self.stats.ignored += 1
            return
        now = self._clock()
        if not self._rtcp.on_rtcp(data, now, self._sender.ssrc):
            return
        self.last_heard = now
        if not muxed:
            self._rtcp_source = (addr[0], addr[1])

    def quality(self) -> CallQuality:
        """Loss, jitter and round trip of this call, both ways, as far as known."""
        return self._rtcp.quality(self.codec.name)

    def observe_reception(self, observer: Callable[[float, float], None] | None) -> None:
        """``observer`` hears the loss fraction and jitter (seconds) of what we receive,
        once per RTCP report interval (issue 18's histograms)."""
        self._rtcp.on_interval = observer

    @property
    def reception_observer(self) -> Callable[[float, float], None] | None:
        return self._rtcp.on_interval

    # ---------------------------------------------------------------- per tick
    def pull(self, now: float | None = None) -> Frame | None:
        """This leg's next 20 ms at 48 kHz, or None when it has nothing to say."""
        now = self._clock() if now is None else now
        if self._rtcp.due(now):  # the report schedule rides the media tick: no timer
            self._send_rtcp(self._rtcp.report(now, self._sender))
        if self._dtmf.pending:
            self._digits(self._dtmf.poll(now))
        if self.held:  # issue 13: a leg on hold is not mixed (its music on hold unheard)
            return None
        frame = self._jitter.pop(now)
        if frame is None:
            return None
        pcm = frame.pcm
        if not (self._gate.quiet() if pcm is _QUIET.get(pcm.size) else self._gate(pcm)):
            return None
        return pcm if self._up is None else self._up.process(pcm)

    def send_frame(self, frame: Frame) -> None:
        """Resample, encode and send this leg's own mix (mix-minus, a private prompt)."""
        payload = self._encoder.encode(frame if self._down is None else self._down.process(frame))
        if payload:
            self.send_encoded(payload)
        else:  # an encoder filling its look-ahead (Opus): the time passes all the same
            self._sender.pause(self.frame_samples)

    def send_encoded(self, payload: bytes) -> None:
        if self._transport is None or self.remote is None or not self.sending:
            self._sender.pause(self.frame_samples)
            return
        self._transport.sendto(self._sender.pack(payload, self.frame_samples), self.remote)
        self.stats.sent += 1


class _RtcpSocket(asyncio.DatagramProtocol):
    """The leg's RTCP port: hands every datagram to the leg."""

    def __init__(self, leg: RtpAudioLeg) -> None:
        self.leg = leg

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.leg.rtcp_received(data, addr, muxed=False)


class SharedEncoder:
    """Resample and encode one shared mix once per codec (house rule 5); one stream, so
    a stateful encoder (G.722, Opus) keeps its state from frame to frame."""

    def __init__(self, codec: PhoneCodec | G711Codec, mix_rate: int = MIXER_RATE) -> None:
        if not isinstance(codec, PhoneCodec):
            codec = codec_for(codec.name, codec.payload_type)
        self.codec: PhoneCodec = codec
        self._encoder = codec.make_encoder()
        self._down = _resampler(mix_rate, codec.sample_rate)

    def encode(self, frame: Frame) -> bytes:
        return self._encoder.encode(frame if self._down is None else self._down.process(frame))


#: One read-only frame of silence per length, what ``_QuietFirst`` hands out.
_QUIET: dict[int, Frame] = {}


def _quiet_frame(samples: int) -> Frame:
    frame = _QUIET.get(samples)
    if frame is None:
        frame = np.zeros(samples, np.int16)
        frame.setflags(write=False)
        _QUIET[samples] = frame
    return frame


class _QuietFirst:
    """G.711 decoding that answers a payload whose every sample is below the speech
    gate's threshold with a shared frame of silence, without decoding it; the leg then
    tells the gate "quiet" without measuring. Most legs of a meeting are quiet most of
    the time, and this is where their decode and gate cost went (issue 15 P1). What
    changes is inaudible: samples under -50 dBFS in frames that have nothing louder."""

    def __init__(self, codec: G711Codec) -> None:
        self._codec = codec
        self._quiet_codes = codec.codes_below(round(threshold_level()))

    def decode(self, payload: bytes) -> Frame:
        if not payload.strip(self._quiet_codes):  # every code is a quiet one
            return _quiet_frame(len(payload))
        return self._codec.decode(payload)


def _fileno(transport: asyncio.BaseTransport) -> int:
    sock: Any = transport.get_extra_info("socket")
    return int(sock.fileno())


def _resampler(from_rate: int, to_rate: int) -> Resampler | None:
    """None where the rates match (a G.711 leg in a narrowband room): nothing to do."""
    return None if from_rate == to_rate else Resampler(from_rate, to_rate)
