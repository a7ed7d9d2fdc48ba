"""SIP messages: parse, check and serialize (RFC 3261 §7, §8.2, §18.3, §20, §25).

We wrote our own SIP stack because no maintained asyncio SIP library exists. What of
RFC 3261 it covers, module by module:

- here: request and status lines, header folding, case-insensitive names, the compact
  forms, comma-separated lists split into one entry each (Via, Contact, Route, ...),
  Content-Length (UDP: extra bytes are dropped, a short body is an error; TCP: framed
  by it), the checks a UAS makes before it touches a request (§8.2: the mandatory
  headers once each, CSeq matching the method, numbers in range, version 2.0), and the
  parts of From/To/Contact/Via/CSeq and SIP URIs the stack reads;
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
from dataclasses import dataclass, field

SIP_VERSION = "SIP/2.0"
MAX_MESSAGE = 65_535
_MAX_CSEQ = 2**31 - 1

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

_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_DIGITS = re.compile(r"[0-9]+")
_REQUEST_LINE = re.compile(r"([A-Za-z0-9.!%*_+`'~-]+) ([^\s]+) (SIP/[0-9]+\.[0-9]+)")
_STATUS_LINE = re.compile(r"(SIP/[0-9]+\.[0-9]+) ([0-9]{3}) (.*)", re.S)
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
#: rfc1123-date in GMT (§20.17, §25.1: SIP-date); RFC 4475 baddate.
_SIP_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)


class SipParseError(ValueError):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        #: The request as far as it could be read, so that a 400 can still be answered.
        self.request: Request | None = None


def canonical(name: str) -> str:
    """The spelling we write a header name in (compact forms expanded)."""
    low = name.strip().lower()
    if low in COMPACT:
        return COMPACT[low]
    return _SPELLING.get(low, "-".join(part.capitalize() for part in low.split("-")))


def _number(value: str, what: str, maximum: int) -> int:
    """A decimal number of ASCII digits, at most ``maximum`` (else a 400 naming ``what``)."""
    value = value.strip()
    # the length check first: int() of thousands of digits is slow or refused
    if not _DIGITS.fullmatch(value) or len(value.lstrip("0")) > len(str(maximum)):
        raise SipParseError(f"bad {what}")
    number = int(value)
    if number > maximum:
        raise SipParseError(f"{what} out of range")
    return number


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


# --------------------------------------------------------------------------- parts
def _params(text: str) -> dict[str, str | None]:
    """``;a=1;b`` (or ``a=1;b``): an empty parameter (``;;``) is an error (RFC 4475
    badinv01); one trailing ``;`` is forgiven."""
    params: dict[str, str | None] = {}
    parts = text.strip().split(";")
    if parts[0] == "":
        parts = parts[1:]
    for i, raw in enumerate(parts):
        raw = raw.strip()
        if not raw:
            if i == len(parts) - 1:
                continue
            raise SipParseError("empty parameter")
        key, eq, value = raw.partition("=")
        key = key.strip().lower()
        if not _TOKEN.fullmatch(key):
            raise SipParseError(f"bad parameter {raw!r}")
        value = value.strip()
        if eq and not value:
            raise SipParseError(f"empty parameter value {key!r}")
        params[key] = value if eq else None
    return params


def _render_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?")


def _host_port(text: str) -> tuple[str, int | None]:
    m = _HOST.fullmatch(text.strip())
    if m is None:
        raise SipParseError(f"bad host {text!r}")
    port = int(m.group(2)) if m.group(2) else None
    if port is not None and not 0 < port < 65536:
        raise SipParseError(f"bad port {port}")
    return m.group(1), port


@dataclass
class SipUri:
    scheme: str
    host: str
    user: str | None = None
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, text: str) -> SipUri:
        text = text.strip()
        scheme, colon, rest = text.partition(":")
        if not colon or scheme.lower() not in ("sip", "sips"):
            raise SipParseError(f"not a SIP URI: {text[:60]!r}", 416)
        if any(ch.isspace() for ch in rest):
            raise SipParseError("white space in a SIP URI")
        # "@" cannot appear unescaped after the userinfo, while the user part may hold
        # "?", ";" and ":" (RFC 4475 intmeth, semiuri): split at the "@" first.
        userinfo, at, hostpart = rest.rpartition("@")
        if not at:
            hostpart = rest
        hostpart, _, headers = hostpart.partition("?")
        hostport, _, params = hostpart.partition(";")
        host, port = _host_port(hostport)
        user, colon, password = userinfo.partition(":")
        return cls(
            scheme=scheme.lower(),
            host=host,
            user=(user or None) if at else None,
            port=port,
            params=_params(params),
            headers=headers or None,
            password=password if at and colon else None,
        )

    def __str__(self) -> str:
        password = f":{self.password}" if self.password is not None else ""
        user = f"{self.user}{password}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        headers = f"?{self.headers}" if self.headers else ""
        return f"{self.scheme}:{user}{self.host}{port}{_render_params(self.params)}{headers}"


@dataclass
class NameAddr:
    """From, To, Contact, Route: ``"Alice" <sip:a@host>;tag=x`` or ``sip:a@host;tag=x``.

    ``display`` is the display name as written: a quoted one without its quotes but
    with its backslash escapes, an unquoted one (tokens, §25.1) with its white space
    collapsed.
    """

    uri: str
    display: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        text = text.strip()
        display: str | None
        if text.startswith('"'):
            end = _closing_quote(text)
            display = text[1:end]
            rest = text[end + 1 :].lstrip()
            if not rest.startswith("<"):
                raise SipParseError(f"bad address {text[:60]!r}")
            uri, rest = _bracketed(rest)
        elif "<" in text:
            lt = text.index("<")
            words = text[:lt].split()
            if '"' in text[:lt] or not all(_TOKEN.fullmatch(w) for w in words):
                raise SipParseError(f"bad display name {text[:lt][:60]!r}")
            display = " ".join(words) or None
            uri, rest = _bracketed(text[lt:])
        else:
            # addr-spec without brackets: the parameters belong to the header (§20.10),
            # and a URI with ",", ";" or "?" must have been put in brackets (§20).
            uri, _, rest = text.partition(";")
            uri = uri.rstrip()
            if '"' in uri or ">" in uri or "?" in uri:
                raise SipParseError(f"bad address {text[:60]!r}")
            display, rest = None, (";" + rest if rest else "")
        rest = rest.strip()
        if rest and not rest.startswith(";"):
            raise SipParseError(f"bad address {text[:60]!r}")
        params = _params(rest)
        if not _URI_SCHEME.match(uri) or any(ch.isspace() for ch in uri):
            raise SipParseError(f"bad URI {uri[:60]!r}")
        return cls(uri=uri, display=display, params=params)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddr:
        return NameAddr(self.uri, self.display, {**self.params, "tag": tag})

    def __str__(self) -> str:
        display = f'"{self.display}" ' if self.display else ""
        return f"{display}<{self.uri}>{_render_params(self.params)}"


def _closing_quote(text: str) -> int:
    """Index of the quote that closes the quoted string opening ``text``."""
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i
        i += 1
    raise SipParseError("unterminated quoted string")


def _bracketed(text: str) -> tuple[str, str]:
    """``<uri>rest`` -> (uri, rest); no white space is allowed inside the brackets."""
    end = text.find(">")
    if end < 0:
        raise SipParseError(f"no '>' in {text[:60]!r}")
    uri = text[1:end]
    if "<" in uri:
        raise SipParseError(f"bad address {text[:60]!r}")
    return uri, text[end + 1 :]


_VIA_PROTOCOL = re.compile(r"\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z0-9.!%*_+`'~-]+)\s+")


@dataclass
class Via:
    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        m = _VIA_PROTOCOL.match(text)
        if m is None:
            raise SipParseError(f"bad Via {text[:60]!r}")
        sent_by, semicolon, params = text[m.end() :].partition(";")
        host, port = _host_port(sent_by)
        return cls(m.group(1).upper(), host, port, _params(semicolon + params))

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def sent_by(self) -> tuple[str, int]:
        return self.host, self.port or 5060

    def __str__(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{_render_params(self.params)}"


def parse_cseq(value: str) -> tuple[int, str]:
    parts = value.split()
    if len(parts) != 2 or not _TOKEN.fullmatch(parts[1]):
        raise SipParseError(f"bad CSeq {value[:40]!r}")
    return _number(parts[0], "CSeq number", _MAX_CSEQ), parts[1]


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
        message = Request(headers, b"", method=word if _TOKEN.fullmatch(word) else "")
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
        if not colon or not _TOKEN.fullmatch(name):
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
    if not _URI_SCHEME.match(uri) or "<" in uri or ">" in uri:
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
    length = _number(lengths[0], "Content-Length", MAX_MESSAGE)
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
        _number(mf, "Max-Forwards", 255)
    expires = h.get("Expires")
    if expires is not None:
        _number(expires, "Expires", 2**32 - 1)
    if isinstance(message, Request):
        if method != message.method and message.method in _KNOWN_METHODS:
            raise SipParseError("CSeq method does not match the request")
        date = h.get("Date")
        if date is not None and not _SIP_DATE.fullmatch(date):
            raise SipParseError("bad Date")  # RFC 4475 baddate: GMT only
    elif not 100 <= message.status <= 699:
        raise SipParseError("bad status code")


class StreamFramer:
    """Cut a TCP byte stream into messages by Content-Length (§18.3)."""

    def __init__(self, max_message: int = MAX_MESSAGE) -> None:
        self._buffer = bytearray()
        self._max = max_message

    def feed(self, data: bytes) -> list[Message | SipParseError]:
        self._buffer += data
        out: list[Message | SipParseError] = []
        while True:
            # CRLF keep-alives (RFC 5626 §3.5.1) between messages
            while self._buffer[:2] == b"\r\n":
                del self._buffer[:2]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > self._max:
                    self._buffer.clear()
                    out.append(SipParseError("message too large", 513))
                return out
            head = bytes(self._buffer[:end])
            m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d{1,9})[ \t]*$", head)
            length = int(m.group(1)) if m else 0
            total = end + 4 + length
            if total > self._max:
                self._buffer.clear()
                out.append(SipParseError("message too large", 513))
                return out
            if len(self._buffer) < total:
                return out
            chunk = bytes(self._buffer[:total])
            del self._buffer[:total]
            try:
                message = parse(chunk, stream=True)
            except SipParseError as exc:
                out.append(exc)
                continue
            if m is None:
                # §18.3: Content-Length is mandatory over a stream; without it what
                # follows cannot be framed. Refuse the message (answerable: 400).
                error = SipParseError("Content-Length is required over TCP")
                error.request = message if isinstance(message, Request) else None
                out.append(error)
            else:
                out.append(message)
