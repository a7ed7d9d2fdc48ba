"""SDP for audio phone calls: parse and serialize (RFC 4566); the negotiation on top of
it (RFC 3264) is in ``offer_answer``.

What is covered:

- RFC 4566 syntax: ``<type>=<value>`` lines ended by CRLF or LF (blank lines and trailing
  white space are ignored); ``v=`` first and equal to 0; ``o=``, ``s=`` and at least one
  ``t=`` required; ``c=`` required at session level or in every media section whose port is
  not 0; ``m=`` with an optional ``/<number of ports>``; ``b=`` kept as text; ``a=rtpmap``,
  ``a=fmtp`` (numeric formats), ``a=ptime`` and the direction attributes (``sendrecv``,
  ``sendonly``, ``recvonly``, ``inactive``) parsed; every other attribute kept verbatim.
  ``i=``, ``u=``, ``e=``, ``p=``, ``r=``, ``z=``, ``k=`` and unknown type letters are
  skipped (RFC 4566 would have us reject unknown letters; real phones are sloppier than
  that). Serialization writes CRLF and the RFC order (v o s c b t a, then per media m c b a).
- Case rules of RFC 4566 section 5: type letters, attribute names, media types and protos
  are case-significant (``a=SendOnly`` is an unknown attribute, ``m=Audio`` is not audio);
  encoding names (``pcmu``, ``Telephone-Event``) are case-insensitive (RFC 4855).
- Static payload types used without ``a=rtpmap`` (RFC 3551 section 6): 0 PCMU/8000,
  8 PCMA/8000, 9 G722/8000 (G.722 samples at 16 kHz but its RTP clock rate is 8000 for
  historical reasons, RFC 3551 section 4.5.2), 18 G729/8000, and the rest of that table.
- (in ``offer_answer``) RFC 3264 for one audio stream: ``answer`` takes the first audio
  ``RTP/AVP`` (or ``RTP/AVPF``) m-line with a codec we support - Opus, G.722, PCMU or
  PCMA, the first one in the offerer's order - plus ``telephone-event`` (RFC 4733) on
  that codec's clock with the offerer's payload type and the offerer's events cut to
  ours (0-16). Every other m-line (video, a second audio stream, one with nothing
  usable, one offered with port 0) is rejected with port 0. The answer direction mirrors
  the offer (section 6.1), ``t=`` is copied from the offer (section 6), ``a=ptime`` says
  the 20 ms we send, ``a=rtcp`` (RFC 3605) and ``a=rtcp-mux`` (RFC 5761) are read.
  ``offer`` and ``accept_answer`` are the offerer's side for dial-out and late offers.
  Hold (section 8.4 and the RFC 2543 ``c=0.0.0.0`` form) is reported in
  :class:`Negotiated`.

Not covered: SRTP (``RTP/SAVP``, ``UDP/TLS/RTP/SAVPF``: WebRTC goes through another
path), ICE, RTCP feedback parameters, multicast semantics (a ``/ttl`` suffix is accepted
and dropped), bundling, codecs other than G.711, G.722 and Opus, more than one audio
stream, and resolving an FQDN in ``c=`` (such a stream is unusable: SIP peers are IP
addresses). IPv6 addresses (``IN IP6``) are parsed and passed on like IPv4 ones.

:func:`parse` (and ``answer``, ``accept_answer``) raise nothing but
:class:`SdpError` (or its subclass :class:`NoUsableMedia`) for any input; the messages are
short enough for a SIP reason phrase (400 Bad Request, 488 Not Acceptable Here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "DIRECTIONS",
    "STATIC_PAYLOAD_TYPES",
    "MediaDescription",
    "NoUsableMedia",
    "SdpError",
    "SessionDescription",
    "parse",
]

#: An rtpmap entry: (encoding name, clock rate, channels or None).
RtpMap = tuple[str, int, int | None]

DIRECTIONS: Final = ("sendrecv", "sendonly", "recvonly", "inactive")

#: RFC 3551 section 6, table 4: audio payload types usable without ``a=rtpmap``.
STATIC_PAYLOAD_TYPES: Final[dict[int, RtpMap]] = {
    0: ("PCMU", 8000, 1),
    3: ("GSM", 8000, 1),
    4: ("G723", 8000, 1),
    5: ("DVI4", 8000, 1),
    6: ("DVI4", 16000, 1),
    7: ("LPC", 8000, 1),
    8: ("PCMA", 8000, 1),
    9: ("G722", 8000, 1),
    10: ("L16", 44100, 2),
    11: ("L16", 44100, 1),
    12: ("QCELP", 8000, 1),
    13: ("CN", 8000, 1),
    14: ("MPA", 90000, None),
    15: ("G728", 8000, 1),
    16: ("DVI4", 11025, 1),
    17: ("DVI4", 22050, 1),
    18: ("G729", 8000, 1),
}

_DEFAULT_PTIME: Final = 20

_NUMBER = re.compile(r"[0-9]{1,20}")
_DECIMAL = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9})?")
_TOKEN = re.compile(r"[^\s/]+")
_SESSION_ONCE: Final = ("o", "s", "c")
_SKIPPED: Final = frozenset("iuepzrk")


class SdpError(ValueError):
    """The SDP is malformed (the SIP layer answers 400, or 488 in a re-INVITE)."""


class NoUsableMedia(SdpError):
    """Well-formed SDP, but no audio stream we can use (the SIP layer answers 488)."""


@dataclass(slots=True)
class MediaDescription:
    """One ``m=`` section with the attributes we read; the rest kept in ``attributes``."""

    media: str  #: "audio", "video", ...
    port: int  #: 0 = stream rejected or disabled
    proto: str  #: "RTP/AVP", ...
    formats: list[str]  #: RTP payload types as written (strings: other protos use tokens)
    connection: str | None = None  #: media-level ``c=`` address (a ``/ttl`` suffix dropped)
    rtpmap: dict[int, RtpMap] = field(default_factory=dict)
    fmtp: dict[int, str] = field(default_factory=dict)
    direction: str | None = None  #: media-level direction attribute, None if absent
    ptime: int | None = None  #: milliseconds
    attributes: list[str] = field(default_factory=list)  #: other ``a=`` values, verbatim
    port_count: int | None = None  #: the ``/<number of ports>`` of ``m=``, rarely used
    bandwidth: list[str] = field(default_factory=list)  #: ``b=`` values, verbatim

    def codec(self, payload_type: int) -> RtpMap | None:
        """The rtpmap of ``payload_type``, falling back to RFC 3551's static table."""
        return self.rtpmap.get(payload_type) or STATIC_PAYLOAD_TYPES.get(payload_type)

    def payload_types(self) -> list[int]:
        """The formats that are RTP payload type numbers (0-127), in offered order."""
        pts: list[int] = []
        for fmt in self.formats:
            if _NUMBER.fullmatch(fmt) and int(fmt) <= 127:
                pts.append(int(fmt))
        return pts

    def to_lines(self) -> list[str]:
        """The section as SDP lines (without line ends)."""
        port = f"{self.port}/{self.port_count}" if self.port_count is not None else str(self.port)
        lines = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}"]
        if self.connection is not None:
            lines.append(f"c={_connection(self.connection)}")
        lines.extend(f"b={b}" for b in self.bandwidth)
        for pt, (name, rate, channels) in self.rtpmap.items():
            suffix = f"/{channels}" if channels is not None else ""
            lines.append(f"a=rtpmap:{pt} {name}/{rate}{suffix}")
        lines.extend(f"a=fmtp:{pt} {params}".rstrip() for pt, params in self.fmtp.items())
        if self.ptime is not None:
            lines.append(f"a=ptime:{self.ptime}")
        if self.direction is not None:
            lines.append(f"a={self.direction}")
        lines.extend(f"a={a}" for a in self.attributes)
        return lines


@dataclass(slots=True)
class SessionDescription:
    """A whole SDP body: origin, session-level fields, media sections in order."""

    session_id: int  #: ``o=`` sess-id
    session_version: int  #: ``o=`` sess-version; bump it in every new offer/answer
    origin_address: str  #: ``o=`` unicast-address
    username: str = "-"  #: ``o=`` username
    session_name: str = "-"  #: ``s=`` (an empty one is read as "-")
    connection: str | None = None  #: session-level ``c=`` address
    timing: list[tuple[int, int]] = field(default_factory=lambda: [(0, 0)])  #: ``t=`` lines
    direction: str | None = None  #: session-level direction attribute
    attributes: list[str] = field(default_factory=list)  #: other session ``a=`` values
    media: list[MediaDescription] = field(default_factory=list)
    bandwidth: list[str] = field(default_factory=list)  #: session ``b=`` values

    def to_text(self) -> str:
        """Serialize with CRLF line ends, in RFC 4566 order."""
        lines = [
            "v=0",
            f"o={self.username} {self.session_id} {self.session_version} "
            f"{_connection(self.origin_address)}",
            f"s={self.session_name}",
        ]
        if self.connection is not None:
            lines.append(f"c={_connection(self.connection)}")
        lines.extend(f"b={b}" for b in self.bandwidth)
        lines.extend(f"t={start} {stop}" for start, stop in self.timing)
        if self.direction is not None:
            lines.append(f"a={self.direction}")
        lines.extend(f"a={a}" for a in self.attributes)
        for m in self.media:
            lines.extend(m.to_lines())
        return "\r\n".join(lines) + "\r\n"

    def media_direction(self, m: MediaDescription) -> str:
        """The effective direction of ``m``: its own, else the session's, else sendrecv."""
        return m.direction or self.direction or "sendrecv"

    def media_connection(self, m: MediaDescription) -> str | None:
        """The effective connection address of ``m``: its own ``c=``, else the session's."""
        return m.connection if m.connection is not None else self.connection


# --------------------------------------------------------------------------- parsing


def _connection(address: str) -> str:
    addrtype = "IP6" if ":" in address else "IP4"
    return f"IN {addrtype} {address}"


def _number(text: str, what: str, maximum: int | None = None) -> int:
    if not _NUMBER.fullmatch(text):
        raise SdpError(f"bad {what}: {text[:20]!r}")
    value = int(text)
    if maximum is not None and value > maximum:
        raise SdpError(f"{what} out of range: {value}")
    return value


def _parse_connection(value: str) -> str:
    parts = value.split()
    if len(parts) != 3:
        raise SdpError("bad c= line")
    # Multicast "224.2.1.1/127[/3]": keep the address only.
    address = parts[2].split("/", 1)[0]
    if not address:
        raise SdpError("bad c= line")
    return address


def _parse_origin(value: str) -> tuple[str, int, int, str]:
    parts = value.split()
    if len(parts) != 6:
        raise SdpError("bad o= line")
    return (
        parts[0],
        _number(parts[1], "o= session id"),
        _number(parts[2], "o= session version"),
        parts[5],
    )


def _parse_timing(value: str) -> tuple[int, int]:
    parts = value.split()
    if len(parts) != 2:
        raise SdpError("bad t= line")
    return _number(parts[0], "t= start time"), _number(parts[1], "t= stop time")


def _parse_media(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 4:
        raise SdpError("bad m= line")
    port_text, _, count_text = parts[1].partition("/")
    port = _number(port_text, "m= port", 65535)
    count = _number(count_text, "m= number of ports", 65535) if count_text else None
    return MediaDescription(
        media=parts[0], port=port, proto=parts[2], formats=parts[3:], port_count=count
    )


def _parse_rtpmap(value: str) -> tuple[int, RtpMap]:
    pt_text, _, encoding = value.partition(" ")
    pieces = encoding.strip().split("/")
    if len(pieces) not in (2, 3) or not _TOKEN.fullmatch(pieces[0]):
        raise SdpError("bad a=rtpmap")
    pt = _number(pt_text, "rtpmap payload type", 127)
    rate = _number(pieces[1], "rtpmap clock rate", 10_000_000)
    channels = _number(pieces[2], "rtpmap channels", 255) if len(pieces) == 3 else None
    return pt, (pieces[0], rate, channels)


def _parse_ptime(value: str) -> int:
    if not _DECIMAL.fullmatch(value):
        raise SdpError(f"bad a=ptime: {value[:20]!r}")
    ptime = round(float(value))
    if not 1 <= ptime <= 10_000:
        raise SdpError(f"a=ptime out of range: {value[:20]!r}")
    return ptime


def _media_attribute(m: MediaDescription, value: str) -> None:
    name, colon, rest = value.partition(":")
    if not colon and name in DIRECTIONS:
        m.direction = name
    elif colon and name == "rtpmap":
        pt, entry = _parse_rtpmap(rest)
        m.rtpmap[pt] = entry
    elif colon and name == "ptime":
        m.ptime = _parse_ptime(rest)
    elif colon and name == "fmtp":
        fmt, _, params = rest.partition(" ")
        if _NUMBER.fullmatch(fmt) and int(fmt) <= 127:
            m.fmtp[int(fmt)] = params.strip()
        else:
            m.attributes.append(value)
    elif not colon and name in ("rtpmap", "ptime", "fmtp"):
        raise SdpError(f"a={name} without a value")
    else:
        m.attributes.append(value)


def _lines(text: str) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for raw in text.split("\n"):
        line = raw.rstrip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"not an SDP line: {line[:20]!r}")
        if "\r" in line or "\x00" in line:
            raise SdpError("control character in SDP line")
        lines.append((line[0], line[2:]))
    return lines


def parse(text: str) -> SessionDescription:
    """Parse an SDP body; raise :class:`SdpError` (short reason) if it is malformed."""
    lines = _lines(text)
    if not lines or lines[0][0] != "v":
        raise SdpError("SDP does not start with v=")
    if lines[0][1].strip() != "0":
        raise SdpError(f"unsupported SDP version: {lines[0][1][:10]!r}")
    seen: set[str] = set()
    origin: tuple[str, int, int, str] | None = None
    session_name: str | None = None
    connection: str | None = None
    timing: list[tuple[int, int]] = []
    direction: str | None = None
    attributes: list[str] = []
    bandwidth: list[str] = []
    media: list[MediaDescription] = []
    current: MediaDescription | None = None
    for kind, value in lines[1:]:
        if kind == "m":
            current = _parse_media(value)
            media.append(current)
        elif kind in _SKIPPED or kind not in "vostcba":
            continue
        elif current is not None:
            if kind == "c":
                if current.connection is None:  # layered multicast: keep the first
                    current.connection = _parse_connection(value)
            elif kind == "b":
                current.bandwidth.append(value)
            elif kind == "a":
                _media_attribute(current, value)
            else:
                raise SdpError(f"{kind}= line inside a media section")
        else:
            if kind in _SESSION_ONCE or kind == "v":
                if kind in seen or kind == "v":
                    raise SdpError(f"duplicate {kind}= line")
                seen.add(kind)
            if kind == "o":
                origin = _parse_origin(value)
            elif kind == "s":
                session_name = value.strip() or "-"
            elif kind == "c":
                connection = _parse_connection(value)
            elif kind == "t":
                timing.append(_parse_timing(value))
            elif kind == "b":
                bandwidth.append(value)
            elif kind == "a":
                if value in DIRECTIONS:
                    direction = value
                else:
                    attributes.append(value)
    if origin is None:
        raise SdpError("missing o= line")
    if session_name is None:
        raise SdpError("missing s= line")
    if not timing:
        raise SdpError("missing t= line")
    for m in media:
        if m.port != 0 and m.connection is None and connection is None:
            raise SdpError(f"missing c= line for m={m.media}")
    username, session_id, session_version, origin_address = origin
    return SessionDescription(
        session_id=session_id,
        session_version=session_version,
        origin_address=origin_address,
        username=username,
        session_name=session_name,
        connection=connection,
        timing=timing,
        direction=direction,
        attributes=attributes,
        media=media,
        bandwidth=bandwidth,
    )
