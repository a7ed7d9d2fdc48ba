"""RFC 3264 offer/answer for one audio stream, on top of ``sdp`` (the syntax).

``answer`` picks the first audio m-line with a codec we have (PCMU or PCMA, in the
offerer's order) plus telephone-event, rejects every other stream with port 0, and
mirrors the direction (hold); ``offer`` and ``accept_answer`` are the dial-out side.
What comes out is a ``Negotiated``: what the RTP leg needs to know.

SIP knows nothing of media (ARCHITECTURE rule 1; issue 10): the codecs are described here
by what SDP says of them (name, static payload type, clock rate, RFC 3551) and
``Negotiated`` names the chosen one; the phone layer picks the media engine's codec
object by that name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
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
    payload_type: int  #: the static payload type of RFC 3551
    clock_rate: int = 8000


PCMU: Final = AudioFormat("PCMU", 0)
PCMA: Final = AudioFormat("PCMA", 8)
#: The codecs we offer and accept (the phone's media legs run them), by encoding name.
AUDIO_FORMATS: Final[dict[str, AudioFormat]] = {PCMU.name: PCMU, PCMA.name: PCMA}
_TELEPHONE_EVENT: Final = "TELEPHONE-EVENT"
_DTMF_EVENTS: Final = "0-16"
_RTP_PROTOS: Final = ("RTP/AVP", "RTP/AVPF")
_ANSWER_DIRECTION: Final = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The outcome of offer/answer for the audio stream, as the media leg needs it."""

    codec_name: str  #: "PCMU" or "PCMA"
    payload_type: int
    clock_rate: int
    dtmf_payload_type: int | None  #: telephone-event payload type, None without RFC 4733
    #: Where to send RTP; None when the remote gave the unspecified address (c=0.0.0.0 hold).
    remote_address: tuple[str, int] | None
    remote_direction: str = "sendrecv"  #: the direction the remote declared
    #: The remote holds the call: it declared sendonly or inactive, or c=0.0.0.0.
    on_hold: bool = False
    ptime: int = _DEFAULT_PTIME  #: milliseconds of audio per packet

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


def _codec_names(codecs: Sequence[str], argument: str) -> list[str]:
    names = [c.upper() for c in codecs]
    unknown = [c for c in names if c not in AUDIO_FORMATS]
    if unknown or not names:
        known = sorted(AUDIO_FORMATS)
        raise ValueError(f"{argument} must name codecs from {known}, got {codecs!r}")
    return names


def _is_telephone_event(entry: RtpMap | None) -> bool:
    return entry is not None and entry[0].upper() == _TELEPHONE_EVENT and entry[1] == 8000


def _pick_codec(m: MediaDescription, allowed: Sequence[str]) -> tuple[str, int] | None:
    """The first payload type of ``m`` (in its order) whose codec is in ``allowed``."""
    for pt in m.payload_types():
        entry = m.codec(pt)
        if entry is None:
            continue
        name, rate, channels = entry
        if name.upper() in allowed and rate == 8000 and channels in (None, 1):
            return name.upper(), pt
    return None


def _pick_dtmf(m: MediaDescription) -> int | None:
    for pt in m.payload_types():
        if _is_telephone_event(m.rtpmap.get(pt)):
            return pt
    return None


def _remote(address: str | None, port: int) -> tuple[tuple[str, int] | None, bool] | None:
    """(RTP destination or None for the unspecified address, unspecified?); None: unusable."""
    if address is None:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None  # an FQDN: we do not resolve names in the media path
    if ip.is_unspecified:
        return None, True
    return (address, port), False


def _usable_stream(m: MediaDescription) -> bool:
    return m.media == "audio" and m.port != 0 and m.proto in _RTP_PROTOS


def _rejected(m: MediaDescription) -> MediaDescription:
    return MediaDescription(media=m.media, port=0, proto=m.proto, formats=list(m.formats))


def answer(
    offer: SessionDescription,
    *,
    local_ip: str,
    local_port: int,
    session_id: int,
    session_version: int,
    prefer: Sequence[str] = ("PCMU", "PCMA"),
) -> tuple[SessionDescription, Negotiated]:
    """Answer ``offer`` (RFC 3264 section 6) with one audio stream at ``local_ip:local_port``.

    ``prefer`` names the codecs we are willing to use (PCMU, PCMA); among them the
    offerer's order decides, as section 6.1 recommends. Raises :class:`NoUsableMedia` when
    no audio m-line has a usable codec and address, ``ValueError`` for a bad ``prefer``.
    """
    allowed = _codec_names(prefer, "prefer")
    negotiated: Negotiated | None = None
    answer_media: list[MediaDescription] = []
    for m in offer.media:
        if negotiated is not None or not _usable_stream(m):
            answer_media.append(_rejected(m))
            continue
        chosen = _pick_codec(m, allowed)
        remote = _remote(offer.media_connection(m), m.port)
        if chosen is None or remote is None:
            answer_media.append(_rejected(m))
            continue
        name, pt = chosen
        address, unspecified = remote
        dtmf = _pick_dtmf(m)
        remote_direction = offer.media_direction(m)
        ours = MediaDescription(
            media=m.media,
            port=local_port,
            proto=m.proto,
            formats=[str(pt)] if dtmf is None else [str(pt), str(dtmf)],
            rtpmap={pt: (name, 8000, None)},
            ptime=m.ptime,
            direction=_ANSWER_DIRECTION[remote_direction],
        )
        if dtmf is not None:
            ours.rtpmap[dtmf] = ("telephone-event", 8000, None)
            ours.fmtp[dtmf] = _DTMF_EVENTS
        answer_media.append(ours)
        negotiated = Negotiated(
            codec_name=name,
            payload_type=pt,
            clock_rate=8000,
            dtmf_payload_type=dtmf,
            remote_address=address,
            remote_direction=remote_direction,
            on_hold=unspecified or remote_direction in ("sendonly", "inactive"),
            ptime=m.ptime or _DEFAULT_PTIME,
        )
    if negotiated is None:
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
) -> SessionDescription:
    """Our offer for a dial-out: one sendrecv audio stream, ``codecs`` in our order.

    ``dtmf_payload_type`` (a dynamic type, 96-127; None for none) offers RFC 4733
    telephone-event with events 0-16. ``ValueError`` for unknown codecs or a bad type.
    """
    names = _codec_names(codecs, "codecs")
    m = MediaDescription(
        media="audio",
        port=local_port,
        proto="RTP/AVP",
        formats=[],
        ptime=_DEFAULT_PTIME,
        direction="sendrecv",
    )
    for name in dict.fromkeys(names):
        codec = AUDIO_FORMATS[name]
        m.formats.append(str(codec.payload_type))
        m.rtpmap[codec.payload_type] = (codec.name, codec.clock_rate, None)
    if dtmf_payload_type is not None:
        if not 96 <= dtmf_payload_type <= 127:
            raise ValueError(f"dtmf_payload_type must be dynamic (96-127): {dtmf_payload_type}")
        m.formats.append(str(dtmf_payload_type))
        m.rtpmap[dtmf_payload_type] = ("telephone-event", 8000, None)
        m.fmtp[dtmf_payload_type] = _DTMF_EVENTS
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
        remote = _remote(answer.media_connection(theirs), theirs.port)
        if remote is None:
            raise NoUsableMedia("answer has no usable connection address")
        name, pt = chosen
        address, unspecified = remote
        dtmf = _pick_dtmf(theirs) if _pick_dtmf(ours) is not None else None
        remote_direction = answer.media_direction(theirs)
        return Negotiated(
            codec_name=name,
            payload_type=pt,
            clock_rate=8000,
            dtmf_payload_type=dtmf,
            remote_address=address,
            remote_direction=remote_direction,
            on_hold=unspecified or remote_direction in ("sendonly", "inactive"),
            ptime=theirs.ptime or ours.ptime or _DEFAULT_PTIME,
        )
    raise NoUsableMedia("answer has no audio stream")


def _offered_codecs(m: MediaDescription) -> list[tuple[str, int]]:
    """(upper-case name, payload type) of every codec of ``m`` we support, in its order."""
    found: list[tuple[str, int]] = []
    for pt in m.payload_types():
        entry = m.codec(pt)
        if entry is not None and entry[0].upper() in AUDIO_FORMATS and entry[1] == 8000:
            found.append((entry[0].upper(), pt))
    return found
