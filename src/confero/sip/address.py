"""The header values the SIP stack reads: URIs, name-addrs (From, To, Contact), Via,
CSeq and their parameters (RFC 3261 §19, §20, §25). Every parser here raises only
``SipParseError``, whose reason goes into a 400."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from confero.sip.errors import SipParseError

TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
DIGITS = re.compile(r"[0-9]+")
URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
MAX_CSEQ = 2**31 - 1


def number(value: str, what: str, maximum: int) -> int:
    """A decimal number of ASCII digits, at most ``maximum`` (else a 400 naming ``what``)."""
    value = value.strip()
    # the length check first: int() of thousands of digits is slow or refused
    if not DIGITS.fullmatch(value) or len(value.lstrip("0")) > len(str(maximum)):
        raise SipParseError(f"bad {what}")
    number = int(value)
    if number > maximum:
        raise SipParseError(f"{what} out of range")
    return number


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
        if not TOKEN.fullmatch(key):
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
            if '"' in text[:lt] or not all(TOKEN.fullmatch(w) for w in words):
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
        if not URI_SCHEME.match(uri) or any(ch.isspace() for ch in uri):
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
    if len(parts) != 2 or not TOKEN.fullmatch(parts[1]):
        raise SipParseError(f"bad CSeq {value[:40]!r}")
    return number(parts[0], "CSeq number", MAX_CSEQ), parts[1]
