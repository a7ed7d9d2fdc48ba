"""RFC 3264 offer/answer for one audio stream, on top of ``sdp`` (the syntax).

``answer`` picks the first audio m-line with a codec we have (by default Opus, G.722,
PCMU, PCMA, whichever comes first in the offerer's order) plus telephone-event, rejects
every other stream with port 0, and mirrors the direction (hold); ``offer`` and
``accept_answer`` are the dial-out side, and the late-offer side (F-PH1, issue 13: an
INVITE or re-INVITE without SDP gets our offer in the 200 and its ACK carries the
answer). What comes out is a ``Negotiated``: what the RTP and RTCP legs need to know.

Rules from issue 13 and why:

- ptime (RFC 4566 6): ``a=ptime`` says what its author wants to *receive*; we send 20 ms
  packets whatever the caller asked, so our answer says ``a=ptime:20`` (when the offer
  had one) and never echoes a 30 we do not keep.
- telephone-event (RFC 4733 7.1.1): the answer's events are the offer's range (0-15 when
  it gave none) intersected with ours (0-16): answering 0-16 to 0-15 claims an event the
  caller never offered. No common event: no telephone-event.
- a stable ``o=`` line (RFC 3264 8): one session id per call and a version raised on
  every changed SDP we send, unchanged otherwise: :class:`SessionOrigin`.
- RTCP (RFC 3605, RFC 5761): the remote's RTCP goes to ``a=rtcp`` (else RTP port + 1),
  or to its RTP address when both sides said ``a=rtcp-mux``; an offer with
  ``a=rtcp-mux`` gets it in our answer (the leg reads RTCP on its RTP socket too).
- Wideband (issue 13 deliver 3): G.722 (static PT 9, ``G722/8000`` though its audio is
  16 kHz, RFC 3551 4.5.2) and Opus (dynamic PT, ``opus/48000/2`` whatever it sends,
  RFC 7587) are described with their RTP clock and audio rate.

Issue 14 (no reflection): an SDP address that is not one host - multicast, broadcast
(255.255.255.255, the reserved 240.0.0.0/4) - would make us send a call's RTP to a whole
network, and an initial offer's unspecified address (0.0.0.0, ::) names nobody; both
are refused (:class:`RefusedAddress`, a :class:`NoUsableMedia`: 488 with the reason)
rather than answered. A re-INVITE's ``c=0.0.0.0`` stays the RFC 2543 hold
(``answer(..., reoffer=True)``); an ``a=rtcp`` address that is not unicast is ignored
(RTCP then goes to the RTP host).

SIP knows nothing of media (ARCHITECTURE rule 1; issue 10): the codecs are described here
by what SDP says of them (name, payload type, clock rate, RFC 3551) and ``Negotiated``
names the chosen one; the phone layer picks the media engine's codec by that name
(``media.phone_codecs.codec_for``).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from confero.sip.sdp import (
    _DEFAULT_PTIME,
    MediaDescription,
    NoUsableMedia,
    RtpMap,
    SessionDescription,
)


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """An audio codec as SDP names it: ``a=rtpmap:<payload_type> <name>/<clock_rate>``."""

    name: str  #: upper-case encoding name
    payload_type: int  #: the static payload type of RFC 3551, or the dynamic one we offer
    clock_rate: int = 8000  #: the RTP clock (8000 for G.722, 48000 for Opus)
    sample_rate: int = 8000  #: the audio's own rate (16000 for G.722)
    channels: int = 1  #: as the rtpmap says it (Opus: always 2, RFC 7587)
    encoding: str = ""  #: the rtpmap spelling when it is not ``name`` ("opus")
    fmtp: str | None = None  #: the format parameters we offer and answer

    @property
    def rtpmap(self) -> RtpMap:
        """Our ``a=rtpmap`` entry for it."""
        return (self.encoding or self.name, self.clock_rate, None if self.channels == 1 else 2)

    def matches(self, entry: RtpMap) -> bool:
        """Whether an offered rtpmap entry is this codec (name, clock and channels)."""
        name, rate, channels = entry
        return (
            name.upper() == self.name
            and rate == self.clock_rate
            and channels in (None, 1, self.channels)
        )


PCMU: Final = AudioFormat("PCMU", 0)
PCMA: Final = AudioFormat("PCMA", 8)
G722: Final = AudioFormat("G722", 9, sample_rate=16_000)
OPUS: Final = AudioFormat(
    "OPUS",
    111,
    clock_rate=48_000,
    sample_rate=48_000,
    channels=2,
    encoding="opus",
    fmtp="useinbandfec=1",
)
#: The codecs we offer and accept (the phone's media legs run them), by encoding name.
AUDIO_FORMATS: Final[dict[str, AudioFormat]] = {f.name: f for f in (OPUS, G722, PCMU, PCMA)}
#: Our order of preference: wideband first, G.711 as the fallback every phone has.
PREFERENCE: Final = ("OPUS", "G722", "PCMU", "PCMA")
_TELEPHONE_EVENT: Final = "TELEPHONE-EVENT"
#: The RFC 4733 events we understand: the 16 keys and flash (16).
_OUR_EVENTS: Final = frozenset(range(17))
#: What an offer without an events fmtp supports (RFC 4733 7.1.1).
_DEFAULT_EVENTS: Final = frozenset(range(16))
_EVENT_ITEM = re.compile(r"([0-9]{1,3})(?:-([0-9]{1,3}))?")
_RTP_PROTOS: Final = ("RTP/AVP", "RTP/AVPF")
_RTCP_MUX: Final = "rtcp-mux"
_ANSWER_DIRECTION: Final = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}

Address = tuple[str, int]


class RefusedAddress(NoUsableMedia):
    """An SDP connection address we never send to (issue 14): not one unicast host."""


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The outcome of offer/answer for the audio stream, as the media leg needs it."""

    codec_name: str  #: "OPUS", "G722", "PCMU" or "PCMA"
    payload_type: int  #: static, or dynamic (Opus)
    clock_rate: int  #: the RTP clock: 8000 (also for G.722) or 48000 (Opus)
    dtmf_payload_type: int | None  #: telephone-event payload type, None without RFC 4733
    #: Where to send RTP; None when the remote gave the unspecified address (c=0.0.0.0 hold).
    remote_address: Address | None
    remote_direction: str = "sendrecv"  #: the direction the remote declared
    #: The remote holds the call: it declared sendonly or inactive, or c=0.0.0.0.
    on_hold: bool = False
    ptime: int = _DEFAULT_PTIME  #: milliseconds of audio per packet the remote asked for
    #: Where to send RTCP: ``a=rtcp`` (RFC 3605), else RTP port + 1, the RTP address
    #: itself with ``rtcp_mux``; None when ``remote_address`` is None.
    rtcp_address: Address | None = None
    rtcp_mux: bool = False  #: RTCP shares the RTP port both ways (RFC 5761)

    @property
    def audio_format(self) -> AudioFormat:
        """The chosen codec as SDP describes it (the phone maps it to a media codec)."""
        return AUDIO_FORMATS[self.codec_name]

    @property
    def we_send(self) -> bool:
        """Whether we should send RTP: the remote receives and gave us an address."""
        return self.remote_address is not None and self.remote_direction in (
            "sendrecv",
            "recvonly",
        )

    @property
    def we_receive(self) -> bool:
        """Whether the remote will send us RTP (it declared sendrecv or sendonly)."""
        return self.remote_direction in ("sendrecv", "sendonly")


class SessionOrigin:
    """Our ``o=`` line over one call (RFC 3264 8): one session id, a version raised by
    one on every SDP we send that differs from the one before, kept when it is the same.

    Issue 13: re-INVITE answers used to change the session id and never raise the
    version, which phones read as a new session (or ignore the change)."""

    def __init__(self, session_id: int | None = None, version: int = 1) -> None:
        self.session_id = secrets.randbelow(2**31) if session_id is None else session_id
        self.version = version
        self._last: str | None = None

    def stamp(self, description: SessionDescription) -> bytes:
        """Put our origin on ``description`` and return it as the body to send."""
        description.session_id = self.session_id
        description.session_version = self.version
        text = description.to_text()
        if self._last is not None and text != self._last:
            self.version += 1
            description.session_version = self.version
            text = description.to_text()
        self._last = text
        return text.encode()


def _codec_names(codecs: Sequence[str], argument: str) -> list[str]:
    names = [c.upper() for c in codecs]
    unknown = [c for c in names if c not in AUDIO_FORMATS]
    if unknown or not names:
        known = sorted(AUDIO_FORMATS)
        raise ValueError(f"{argument} must name codecs from {known}, got {codecs!r}")
    return names


def _pick_codec(m: MediaDescription, allowed: Sequence[str]) -> tuple[str, int] | None:
    """The first payload type of ``m`` (in its order) whose codec is in ``allowed``."""
    for pt in m.payload_types():
        entry = m.codec(pt)
        if entry is None:
            continue
        name = entry[0].upper()
        if name in allowed and AUDIO_FORMATS[name].matches(entry):
            return name, pt
    return None


def _pick_dtmf(m: MediaDescription, clock_rate: int) -> int | None:
    """telephone-event on the audio codec's clock (RFC 4733 2.1), else the 8 kHz one."""
    found: dict[int, int] = {}
    for pt in m.payload_types():
        entry = m.rtpmap.get(pt)
        if entry is not None and entry[0].upper() == _TELEPHONE_EVENT:
            found.setdefault(entry[1], pt)
    return found.get(clock_rate, found.get(8000))


def _events(fmtp: str | None) -> frozenset[int]:
    """The events of a telephone-event fmtp ("0-15,66"); RFC 4733's 0-15 when absent or
    unreadable."""
    if not fmtp or not fmtp.strip():
        return _DEFAULT_EVENTS
    events: set[int] = set()
    for item in fmtp.replace(" ", "").split(","):
        match = _EVENT_ITEM.fullmatch(item)
        if match is None:
            return _DEFAULT_EVENTS
        low = int(match[1])
        high = int(match[2]) if match[2] is not None else low
        events.update(range(low, min(high, 255) + 1))
    return frozenset(events)


def _event_list(events: frozenset[int]) -> str:
    """Events as RFC 4733 writes them: ascending ranges, "0-15" or "0-9,11"."""
    items: list[str] = []
    ordered = sorted(events)
    start = prev = ordered[0]
    for e in [*ordered[1:], -2]:
        if e == prev + 1:
            prev = e
            continue
        items.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = e
    return ",".join(items)


def _not_one_host(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why RTP must never go to ``ip`` (issue 14: a reflector's or a network's address),
    or None for a unicast host. Loopback, private and link-local hosts are hosts."""
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip.is_reserved:
        return "broadcast"  # 255.255.255.255 and the rest of 240.0.0.0/4
    return None


def _remote(address: str | None, port: int) -> tuple[Address | None, bool] | None:
    """(RTP destination or None for the unspecified address, unspecified?); None: unusable.
    Raises :class:`RefusedAddress` for a multicast or broadcast address."""
    if address is None:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None  # an FQDN: we do not resolve names in the media path
    if ip.is_unspecified:
        return None, True
    refused = _not_one_host(ip)
    if refused is not None:
        raise RefusedAddress(f"{refused} connection address {address} refused")
    return (address, port), False


def _rtcp(m: MediaDescription, rtp: Address | None, mux: bool) -> Address | None:
    """Where the remote reads RTCP: ``a=rtcp:<port> [IN IP4 <address>]`` (RFC 3605),
    else the RTP port + 1 (RFC 3550 11), or the RTP address itself when muxed."""
    if rtp is None or mux:
        return rtp
    for attribute in m.attributes:
        name, colon, rest = attribute.partition(":")
        if not colon or name != "rtcp":
            continue
        parts = rest.split()
        if not parts or not parts[0].isdigit() or not 0 < int(parts[0]) <= 65535:
            break
        host = rtp[0]
        if len(parts) == 4 and parts[1] == "IN":
            try:
                given = _remote(parts[3], int(parts[0]))
            except RefusedAddress:
                break  # never RTCP to a network (issue 14): to the RTP host instead
            if given is None or given[0] is None:
                break
            host = parts[3]
        return host, int(parts[0])
    return (rtp[0], rtp[1] + 1) if rtp[1] < 65535 else None


def _usable_stream(m: MediaDescription) -> bool:
    return m.media == "audio" and m.port != 0 and m.proto in _RTP_PROTOS


def _rejected(m: MediaDescription) -> MediaDescription:
    return MediaDescription(media=m.media, port=0, proto=m.proto, formats=list(m.formats))


def _dtmf_answer(m: MediaDescription, pt: int | None) -> frozenset[int]:
    """The events both sides have: the offer's range cut to ours (RFC 4733 7.1.1)."""
    if pt is None:
        return frozenset()
    return _events(m.fmtp.get(pt)) & _OUR_EVENTS


def answer(
    offer: SessionDescription,
    *,
    local_ip: str,
    local_port: int,
    session_id: int,
    session_version: int,
    prefer: Sequence[str] = PREFERENCE,
    reoffer: bool = False,
) -> tuple[SessionDescription, Negotiated]:
    """Answer ``offer`` (RFC 3264 section 6) with one audio stream at ``local_ip:local_port``.

    ``prefer`` names the codecs we are willing to use (by default all we have); among
    them the offerer's order decides, as section 6.1 recommends. Raises
    :class:`NoUsableMedia` when no audio m-line has a usable codec and address (its
    :class:`RefusedAddress` when an address was not one unicast host, or, unless
    ``reoffer`` (a re-INVITE, where it means hold), the unspecified one: issue 14),
    ``ValueError`` for a bad ``prefer``.
    """
    allowed = _codec_names(prefer, "prefer")
    negotiated: Negotiated | None = None
    answer_media: list[MediaDescription] = []
    refused: RefusedAddress | None = None
    for m in offer.media:
        if negotiated is not None or not _usable_stream(m):
            answer_media.append(_rejected(m))
            continue
        chosen = _pick_codec(m, allowed)
        connection = offer.media_connection(m)
        try:
            remote = _remote(connection, m.port)
            if remote is not None and remote[1] and not reoffer:
                raise RefusedAddress(f"unspecified connection address {connection} refused")
        except RefusedAddress as exc:
            refused, remote = exc, None
        if chosen is None or remote is None:
            answer_media.append(_rejected(m))
            continue
        name, pt = chosen
        audio = AUDIO_FORMATS[name]
        address, unspecified = remote
        dtmf = _pick_dtmf(m, audio.clock_rate)
        events = _dtmf_answer(m, dtmf)
        if not events:
            dtmf = None
        remote_direction = offer.media_direction(m)
        mux = _RTCP_MUX in m.attributes
        ours = MediaDescription(
            media=m.media,
            port=local_port,
            proto=m.proto,
            formats=[str(pt)] if dtmf is None else [str(pt), str(dtmf)],
            rtpmap={pt: audio.rtpmap},
            # what we send, not an echo of theirs (we packetize 20 ms whatever they ask)
            ptime=_DEFAULT_PTIME if m.ptime is not None else None,
            direction=_ANSWER_DIRECTION[remote_direction],
            attributes=[_RTCP_MUX] if mux else [],
        )
        if audio.fmtp is not None:
            ours.fmtp[pt] = audio.fmtp
        if dtmf is not None:
            ours.rtpmap[dtmf] = m.rtpmap[dtmf]
            ours.fmtp[dtmf] = _event_list(events)
        answer_media.append(ours)
        negotiated = Negotiated(
            codec_name=name,
            payload_type=pt,
            clock_rate=audio.clock_rate,
            dtmf_payload_type=dtmf,
            remote_address=address,
            remote_direction=remote_direction,
            on_hold=unspecified or remote_direction in ("sendonly", "inactive"),
            ptime=m.ptime or _DEFAULT_PTIME,
            rtcp_address=_rtcp(m, address, mux),
            rtcp_mux=mux,
        )
    if negotiated is None:
        if refused is not None:
            raise refused
        if not any(_usable_stream(m) for m in offer.media):
            raise NoUsableMedia("no RTP/AVP audio stream offered")
        raise NoUsableMedia("no common audio codec")
    sdp = SessionDescription(
        session_id=session_id,
        session_version=session_version,
        origin_address=local_ip,
        connection=local_ip,
        timing=list(offer.timing),
        media=answer_media,
    )
    return sdp, negotiated


def offer(
    *,
    local_ip: str,
    local_port: int,
    session_id: int,
    session_version: int,
    codecs: Sequence[str] = ("PCMU", "PCMA"),
    dtmf_payload_type: int | None = 101,
    payload_types: Mapping[str, int] | None = None,
    direction: str = "sendrecv",
) -> SessionDescription:
    """Our offer: one audio stream, ``codecs`` in our order (the phone bridge passes
    :data:`PREFERENCE`; the narrowband default suits a plain G.711 phone).

    ``dtmf_payload_type`` (a dynamic type, 96-127; None for none) offers RFC 4733
    telephone-event with events 0-16. ``payload_types`` overrides our dynamic payload
    type of a codec (a re-offer keeps the one the call negotiated, RFC 3264 8.3.2).
    ``ValueError`` for unknown codecs or a bad type.
    """
    names = _codec_names(codecs, "codecs")
    m = MediaDescription(
        media="audio",
        port=local_port,
        proto="RTP/AVP",
        formats=[],
        ptime=_DEFAULT_PTIME,
        direction=direction,
    )
    for name in dict.fromkeys(names):
        codec = AUDIO_FORMATS[name]
        pt = (payload_types or {}).get(name, codec.payload_type)
        m.formats.append(str(pt))
        m.rtpmap[pt] = codec.rtpmap
        if codec.fmtp is not None:
            m.fmtp[pt] = codec.fmtp
    if dtmf_payload_type is not None:
        if not 96 <= dtmf_payload_type <= 127 or str(dtmf_payload_type) in m.formats:
            raise ValueError(f"dtmf_payload_type must be dynamic (96-127): {dtmf_payload_type}")
        m.formats.append(str(dtmf_payload_type))
        m.rtpmap[dtmf_payload_type] = ("telephone-event", 8000, None)
        m.fmtp[dtmf_payload_type] = _event_list(_OUR_EVENTS)
    return SessionDescription(
        session_id=session_id,
        session_version=session_version,
        origin_address=local_ip,
        connection=local_ip,
        media=[m],
    )


def accept_answer(offer: SessionDescription, answer: SessionDescription) -> Negotiated:
    """Read the answer to our ``offer`` (RFC 3264 section 7).

    The codec is the first format of the answer's audio m-line that we offered (matched by
    encoding name); telephone-event is used if both sides listed it, with the answer's
    payload type. Raises :class:`NoUsableMedia` when the answer rejected the stream
    (port 0), has no audio m-line where we offered one, or picked nothing we offered.
    """
    for ours, theirs in zip(offer.media, answer.media, strict=False):
        if not _usable_stream(ours) or theirs.media != ours.media:
            continue
        if theirs.port == 0:
            raise NoUsableMedia("audio stream rejected")
        chosen = _pick_codec(theirs, [name for name, _ in _offered_codecs(ours)])
        if chosen is None:
            raise NoUsableMedia("answer has no codec we offered")
        remote = _remote(answer.media_connection(theirs), theirs.port)  # RefusedAddress
        if remote is None:
            raise NoUsableMedia("answer has no usable connection address")
        name, pt = chosen
        clock_rate = AUDIO_FORMATS[name].clock_rate
        address, unspecified = remote
        offered_dtmf = _pick_dtmf(ours, 8000) is not None
        dtmf = _pick_dtmf(theirs, clock_rate) if offered_dtmf else None
        remote_direction = answer.media_direction(theirs)
        mux = _RTCP_MUX in ours.attributes and _RTCP_MUX in theirs.attributes
        return Negotiated(
            codec_name=name,
            payload_type=pt,
            clock_rate=clock_rate,
            dtmf_payload_type=dtmf,
            remote_address=address,
            remote_direction=remote_direction,
            on_hold=unspecified or remote_direction in ("sendonly", "inactive"),
            ptime=theirs.ptime or ours.ptime or _DEFAULT_PTIME,
            rtcp_address=_rtcp(theirs, address, mux),
            rtcp_mux=mux,
        )
    raise NoUsableMedia("answer has no audio stream")


def _offered_codecs(m: MediaDescription) -> list[tuple[str, int]]:
    """(upper-case name, payload type) of every codec of ``m`` we support, in its order."""
    found: list[tuple[str, int]] = []
    for pt in m.payload_types():
        entry = m.codec(pt)
        if entry is None:
            continue
        name = entry[0].upper()
        if name in AUDIO_FORMATS and AUDIO_FORMATS[name].matches(entry):
            found.append((name, pt))
    return found
