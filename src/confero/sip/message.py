"""SIP messages: parse, check and serialize (RFC 3261 §7, §8.2, §18.3, §20, §25).

We wrote our own SIP stack because no maintained asyncio SIP library exists. What of
RFC 3261 it covers, module by module:

- here: request and status lines, header folding, case-insensitive names, the compact
  forms, comma-separated lists split into one entry each (Via, Contact, Route, ...),
  Content-Length (UDP: extra bytes are dropped, a short body is an error; TCP: framed
  by it), the checks a UAS makes before it touches a request (§8.2: the mandatory
  headers once each, CSeq matching the method, numbers in range, version 2.0), and the
  parts of From/To/Contact/Via/CSeq and SIP URIs the stack reads;
- ``address``: SIP URIs, name-addrs, Via and CSeq values (``errors``: the one error);
- ``framing``: TCP streams cut into messages by Content-Length;
- ``transaction``: the INVITE and non-INVITE server and client transactions (§17) with
  timers A, B, E, F, G, H, I, J, K;
- ``dialog``: dialogs (§12), in-dialog requests and their routing;
- ``transport``: UDP and TCP (§18), ``rport`` (RFC 3581);
- ``sdp``: offer/answer for audio (RFC 3264, 4566).

Not covered: TLS and SIPS, DNS NAPTR/SRV (RFC 3263: peers are IP addresses), proxies
and forking, authentication of callers (the conference PIN authenticates; digest for
the outbound trunk is not needed by the trunks we test against), multipart bodies.

Parsing never raises anything but ``SipParseError``; its ``status`` is the response a
UAS sends back (400, or 505 for another SIP version) and its ``reason`` says why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from confero.sip.address import (
    TOKEN,
    URI_SCHEME,
    NameAddr,
    SipUri,
    Via,
    number,
    parse_cseq,
)
from confero.sip.errors import SipParseError

__all__ = [
    "COMPACT",
    "MAX_MESSAGE",
    "REASONS",
    "SIP_VERSION",
    "Headers",
    "Message",
    "NameAddr",
    "Request",
    "Response",
    "SipParseError",
    "SipUri",
    "Via",
    "canonical",
    "make_request",
    "make_response",
    "parse",
    "parse_cseq",
    "split_list",
]

SIP_VERSION = "SIP/2.0"
MAX_MESSAGE = 65_535

REASONS: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "Version Not Supported",
    513: "Message Too Large",
    603: "Decline",
}

COMPACT: dict[str, str] = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "r": "Refer-To",
    "u": "Allow-Events",
    "a": "Accept-Contact",
    "b": "Referred-By",
    "j": "Reject-Contact",
    "d": "Request-Disposition",
    "x": "Session-Expires",
    "y": "Identity",
    "n": "Identity-Info",
}
_SPELLING = {
    name.lower(): name
    for name in (
        *COMPACT.values(),
        "CSeq",
        "Max-Forwards",
        "Record-Route",
        "Route",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Authorization",
        "Allow",
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Require",
        "Proxy-Require",
        "Unsupported",
        "User-Agent",
        "Server",
        "Expires",
        "Min-Expires",
        "Date",
        "Timestamp",
        "Reason",
        "Retry-After",
        "Warning",
    )
}
#: Headers whose value is a comma-separated list (§7.3.1): split into one entry each.
_LIST_HEADERS = frozenset(
    {
        "via",
        "contact",
        "route",
        "record-route",
        "allow",
        "supported",
        "require",
        "proxy-require",
        "unsupported",
        "accept",
        "accept-encoding",
        "accept-language",
        "allow-events",
    }
)
#: A request that has any of these twice is malformed (§8.2, RFC 4475 multi01).
_SINGLE_HEADERS = ("Call-ID", "CSeq", "From", "To", "Max-Forwards", "Content-Length")
_MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")

#: Methods whose CSeq must name the same method (§8.2: a mismatch is a 400). For a
#: method we do not know a mismatch is left to the UA, which answers 501 (RFC 4475
#: mismatch02).
_KNOWN_METHODS = frozenset(
    {
        "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "REGISTER", "SUBSCRIBE",
        "NOTIFY", "MESSAGE", "REFER", "PRACK", "UPDATE", "PUBLISH",
    }
)  # fmt: skip

_REQUEST_LINE = re.compile(r"([A-Za-z0-9.!%*_+`'~-]+) ([^\s]+) (SIP/[0-9]+\.[0-9]+)")
_STATUS_LINE = re.compile(r"(SIP/[0-9]+\.[0-9]+) ([0-9]{3}) (.*)", re.S)
#: rfc1123-date in GMT (§20.17, §25.1: SIP-date); RFC 4475 baddate.
_SIP_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)


def canonical(name: str) -> str:
    """The spelling we write a header name in (compact forms expanded)."""
    low = name.strip().lower()
    if low in COMPACT:
        return COMPACT[low]
    return _SPELLING.get(low, "-".join(part.capitalize() for part in low.split("-")))


def split_list(value: str) -> list[str]:
    """Split at commas outside quotes and angle brackets (§7.3.1)."""
    parts: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    start = 0
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif quoted:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(value[start:i].strip())
            start = i + 1
    if quoted:
        raise SipParseError("unterminated quoted string")
    parts.append(value[start:].strip())
    return [p for p in parts if p]


class Headers:
    """An ordered multi-map of headers with case-insensitive names."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        for name, value in items:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        self._items.append((canonical(name), value))

    def prepend(self, name: str, value: str) -> None:
        self._items.insert(0, (canonical(name), value))

    def set(self, name: str, value: str) -> None:
        """Replace every value of ``name`` by one, keeping the first one's position."""
        key = canonical(name)
        for i, (n, _) in enumerate(self._items):
            if n == key:
                self._items[i] = (key, value)
                self._items = [
                    item for j, item in enumerate(self._items) if j <= i or item[0] != key
                ]
                return
        self._items.append((key, value))

    def remove(self, name: str) -> None:
        key = canonical(name)
        self._items = [item for item in self._items if item[0] != key]

    def get(self, name: str, default: str | None = None) -> str | None:
        key = canonical(name)
        for n, v in self._items:
            if n == key:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        key = canonical(name)
        return [v for n, v in self._items if n == key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def copy(self) -> Headers:
        h = Headers()
        h._items = list(self._items)
        return h


# --------------------------------------------------------------------------- messages
@dataclass
class _Message:
    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        return parse_cseq(self.headers.get("CSeq") or "")

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.get_all("Via")]

    @property
    def top_via(self) -> Via:
        return Via.parse(self.headers.get("Via") or "")

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self.headers.get("From") or "")

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self.headers.get("To") or "")

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def _start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        lines = [self._start_line()]
        lines += [f"{n}: {v}" for n, v in self.headers if n != "Content-Length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class Request(_Message):
    method: str = ""
    uri: str = ""

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} {SIP_VERSION}"


@dataclass
class Response(_Message):
    status: int = 200
    reason: str = "OK"

    def _start_line(self) -> str:
        return f"{SIP_VERSION} {self.status} {self.reason}"


Message = Request | Response


def make_request(
    method: str, uri: str, headers: Iterable[tuple[str, str]], body: bytes = b""
) -> Request:
    return Request(Headers(headers), body, method=method, uri=uri)


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """A response to ``request`` (§8.2.6): the Vias, From, To, Call-ID and CSeq copied."""
    headers = Headers()
    for via in request.headers.get_all("Via"):
        headers.add("Via", via)
    headers.add("From", request.headers.get("From") or "")
    to = request.headers.get("To") or ""
    if to_tag and status > 100:
        try:
            addr = request.to
        except SipParseError:
            addr = None
        if addr is not None and addr.tag is None:
            to = str(addr.with_tag(to_tag))
    headers.add("To", to)
    headers.add("Call-ID", request.call_id)
    headers.add("CSeq", request.headers.get("CSeq") or "")
    if request.method == "INVITE" and 100 < status < 300:
        for rr in request.headers.get_all("Record-Route"):
            headers.add("Record-Route", rr)
    for name, value in extra:
        headers.add(name, value)
    return Response(headers, body, status=status, reason=reason or REASONS.get(status, "Unknown"))


# --------------------------------------------------------------------------- parsing
def _split_head(data: bytes) -> tuple[str, bytes]:
    """Headers and body, split at the first empty line (CRLF, or bare LF)."""
    found = [(i, sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := data.find(sep)) >= 0]
    if found:
        i, sep = min(found)
        head, body = data[:i], data[i + len(sep) :]
    else:
        head, body = data, b""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError("headers are not UTF-8") from None
    return text, body


def _header_lines(text: str) -> list[str]:
    """Unfold continuation lines (§7.3.1: a line starting with white space continues)."""
    lines: list[str] = []
    for raw in re.split(r"\r?\n", text):
        if raw[:1] in (" ", "\t"):
            if not lines:
                raise SipParseError("continuation line before the first header")
            lines[-1] += " " + raw.strip()
        else:
            lines.append(raw)
    return lines


def parse(data: bytes, *, stream: bool = False) -> Message:
    """One datagram (or one framed TCP message) -> a Request or Response, checked.

    ``stream``: the body is exactly what Content-Length framed (TCP).

    When a request is malformed but its header lines could be read, the error carries
    the request as far as it was understood (``SipParseError.request``), so that the
    400 (or 505) can still be sent back along its Vias.
    """
    if len(data) > MAX_MESSAGE:
        raise SipParseError("message too large", 513)
    data = data.lstrip(b"\r\n")
    text, body = _split_head(data)
    lines = _header_lines(text)
    if not lines or not lines[0]:
        raise SipParseError("empty message")
    start = lines[0]
    headers, problems = _read_headers(lines[1:])
    message: Message
    if start.startswith("SIP/"):
        m = _STATUS_LINE.fullmatch(start)
        if m is None:
            raise SipParseError("bad status line")
        if m.group(1) != SIP_VERSION:
            raise SipParseError("unsupported SIP version", 505)
        message = Response(headers, b"", status=int(m.group(2)), reason=m.group(3))
    else:
        word = start.split(" ", 1)[0]
        message = Request(headers, b"", method=word if TOKEN.fullmatch(word) else "")
        problems.insert(0, _request_line(start, message))
    try:
        for problem in problems:
            if problem is not None:
                raise problem
        for name in _SINGLE_HEADERS:  # before the body: mcl01, multi01
            if len(headers.get_all(name)) > 1:
                raise SipParseError(f"more than one {name}")
        message.body = _body(headers, body, stream=stream)
        _check(message)
    except SipParseError as exc:
        if isinstance(message, Request):
            exc.request = message
        raise
    return message


def _read_headers(lines: list[str]) -> tuple[Headers, list[SipParseError | None]]:
    """The header lines, as far as they can be read, and what was wrong with them."""
    headers = Headers()
    problems: list[SipParseError | None] = []
    for line in lines:
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not TOKEN.fullmatch(name):
            problems.append(SipParseError(f"bad header line {line[:40]!r}"))
            continue
        key = canonical(name)
        value = value.strip()
        if key.lower() in _LIST_HEADERS and not (key == "Contact" and value == "*"):
            try:
                parts = split_list(value)
            except SipParseError as exc:
                problems.append(exc)
                parts = [value]
            for part in parts:
                headers.add(key, part)
        else:
            headers.add(key, value)
    return headers, problems


def _request_line(start: str, request: Request) -> SipParseError | None:
    """Check ``Method SP Request-URI SP SIP-Version`` (§7.1) and fill in ``request``."""
    m = _REQUEST_LINE.fullmatch(start)
    if m is None:
        # RFC 4475 lwsstart, trws, lwsruri: extra or missing spaces
        return SipParseError("bad request line")
    request.method, request.uri = m.group(1), m.group(2)
    uri = request.uri
    if not URI_SCHEME.match(uri) or "<" in uri or ">" in uri:
        return SipParseError("bad Request-URI")  # RFC 4475 ltgtruri
    if m.group(3).upper() != SIP_VERSION:
        return SipParseError("unsupported SIP version", 505)
    if uri.partition(":")[0].lower() in ("sip", "sips"):
        try:
            parsed = SipUri.parse(uri)
        except SipParseError:
            return SipParseError("bad Request-URI")
        if parsed.headers is not None:
            return SipParseError("headers in the Request-URI")  # §19.1.1, RFC 4475 escruri
    return None


def _body(headers: Headers, body: bytes, *, stream: bool) -> bytes:
    lengths = headers.get_all("Content-Length")
    if not lengths:
        if stream and body:
            raise SipParseError("Content-Length is required over TCP")
        return body
    if len(lengths) > 1:
        raise SipParseError("more than one Content-Length")
    length = number(lengths[0], "Content-Length", MAX_MESSAGE)
    if length > len(body):
        raise SipParseError("body shorter than Content-Length")
    return body[:length]


def _check(message: Message) -> None:
    """The checks of §8.2 and §8.1.3.3 that decide whether we can answer at all."""
    h = message.headers
    for name in _MANDATORY:
        if name not in h:
            raise SipParseError(f"missing {name}")
    for name in _SINGLE_HEADERS:
        if len(h.get_all(name)) > 1:
            raise SipParseError(f"more than one {name}")
    vias = message.vias  # raises on a malformed Via
    if not vias:
        raise SipParseError("missing Via")
    _, method = message.cseq
    from_, to = message.from_, message.to
    for addr in (from_, to):
        if addr.params.get("tag") == "":
            raise SipParseError("empty tag")
    for contact in h.get_all("Contact"):
        if contact != "*":
            NameAddr.parse(contact)
    mf = h.get("Max-Forwards")
    if mf is not None:
        number(mf, "Max-Forwards", 255)
    expires = h.get("Expires")
    if expires is not None:
        number(expires, "Expires", 2**32 - 1)
    if isinstance(message, Request):
        if method != message.method and message.method in _KNOWN_METHODS:
            raise SipParseError("CSeq method does not match the request")
        date = h.get("Date")
        if date is not None and not _SIP_DATE.fullmatch(date):
            raise SipParseError("bad Date")  # RFC 4475 baddate: GMT only
    elif not 100 <= message.status <= 699:
        raise SipParseError("bad status code")
