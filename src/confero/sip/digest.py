"""Digest authentication, client side (RFC 3261 §22, RFC 7616, RFC 8760): what a trunk
asks of our INVITE and REGISTER (F-PH1 dial-out, issue 13).

A 401 carries ``WWW-Authenticate`` and is answered with ``Authorization``; a 407 carries
``Proxy-Authenticate`` and is answered with ``Proxy-Authorization``. A response may hold
several challenges (one per realm, and per realm one per algorithm, RFC 8760 §2.4):
per realm we answer the one with the strongest algorithm we know (SHA-256 before MD5,
the ``-sess`` variants too), with ``qop=auth`` when offered (``auth-int`` only when it
is all that is offered), a fresh ``cnonce`` and ``nc`` counting the uses of a nonce.

The retry is bounded (:class:`DigestSession`): a realm is answered once; a second
challenge for it means the password is wrong, unless it says ``stale=true`` (the nonce
ran out, the password was right), which earns one more try. The request is re-sent with
CSeq + 1, the same Call-ID and From tag, and a new branch (§8.1.3.5, §22.2).

The password is kept out of ``repr`` and never logged.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from confero.sip.message import Request, Response, SipParseError, split_list
from confero.sip.transaction import new_branch

__all__ = [
    "Challenge",
    "Credentials",
    "DigestError",
    "DigestSession",
    "authorization",
    "challenges",
]

_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
    "SHA-512-256": lambda data: hashlib.new("sha512_256", data).hexdigest(),
}
#: Strongest first: the order we pick among one realm's challenges (RFC 8760 §2.4).
_PREFERENCE = ("SHA-512-256", "SHA-256", "MD5")
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*')


class DigestError(ValueError):
    """A challenge we cannot read or answer."""


@dataclass(frozen=True)
class Credentials:
    """The trunk account. ``realm`` None: answer any realm that asks."""

    username: str
    password: str = field(repr=False)
    realm: str | None = None

    def fits(self, realm: str) -> bool:
        return self.realm is None or self.realm == realm


@dataclass(frozen=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"  # upper case, "-sess" kept
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    #: From a 407 (Proxy-Authenticate): answered with Proxy-Authorization.
    proxy: bool = False

    @property
    def base_algorithm(self) -> str:
        return self.algorithm.removesuffix("-SESS")

    @property
    def supported(self) -> bool:
        return self.base_algorithm in _HASHES and (
            not self.qop or "auth" in self.qop or "auth-int" in self.qop
        )

    @property
    def answer_header(self) -> str:
        return "Proxy-Authorization" if self.proxy else "Authorization"

    @classmethod
    def parse(cls, value: str, *, proxy: bool = False) -> Challenge:
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() != "digest":
            raise DigestError(f"not a Digest challenge: {scheme}")
        params: dict[str, str] = {}
        try:
            parts = split_list(rest)
        except SipParseError as exc:
            raise DigestError(str(exc)) from exc
        for part in parts:
            match = _PARAM.fullmatch(part)
            if match is None:
                raise DigestError(f"bad challenge parameter: {part[:40]}")
            name, raw = match.group(1).lower(), match.group(2)
            params[name] = _unquote(raw)
        if "nonce" not in params or "realm" not in params:
            raise DigestError("a Digest challenge needs realm and nonce")
        qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
        return cls(
            realm=params["realm"],
            nonce=params["nonce"],
            algorithm=params.get("algorithm", "MD5").upper(),
            qop=qop,
            opaque=params.get("opaque"),
            stale=params.get("stale", "").lower() == "true",
            proxy=proxy,
        )


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenges(response: Response) -> list[Challenge]:
    """Every Digest challenge of a 401 or 407 we could read (others are skipped)."""
    proxy = response.status == 407
    name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
    found: list[Challenge] = []
    for value in response.headers.get_all(name):
        try:
            found.append(Challenge.parse(value, proxy=proxy))
        except DigestError:
            continue
    return found


def _strongest(offered: list[Challenge]) -> list[Challenge]:
    """Per realm, the challenge with the strongest algorithm we support."""
    best: dict[str, Challenge] = {}
    for challenge in offered:
        if not challenge.supported:
            continue
        current = best.get(challenge.realm)
        if current is None or _rank(challenge) < _rank(current):
            best[challenge.realm] = challenge
    return list(best.values())


def _rank(challenge: Challenge) -> int:
    return _PREFERENCE.index(challenge.base_algorithm)


def authorization(
    challenge: Challenge,
    credentials: Credentials,
    method: str,
    uri: str,
    *,
    body: bytes = b"",
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """The ``Authorization`` / ``Proxy-Authorization`` value answering ``challenge``."""
    if not challenge.supported:
        raise DigestError(f"unsupported challenge ({challenge.algorithm}, qop {challenge.qop})")
    h = _HASHES[challenge.base_algorithm]

    def hs(text: str) -> str:
        return h(text.encode("utf-8"))

    cnonce = cnonce or secrets.token_hex(8)
    qop = "auth" if "auth" in challenge.qop else ("auth-int" if challenge.qop else None)
    ha1 = hs(f"{credentials.username}:{challenge.realm}:{credentials.password}")
    if challenge.algorithm.endswith("-SESS"):
        ha1 = hs(f"{ha1}:{challenge.nonce}:{cnonce}")
    a2 = f"{method}:{uri}" if qop != "auth-int" else f"{method}:{uri}:{h(body)}"
    count = f"{nc:08x}"
    if qop is None:
        response = hs(f"{ha1}:{challenge.nonce}:{hs(a2)}")
    else:
        response = hs(f"{ha1}:{challenge.nonce}:{count}:{cnonce}:{qop}:{hs(a2)}")
    parts = [
        f"username={_quote(credentials.username)}",
        f"realm={_quote(challenge.realm)}",
        f"nonce={_quote(challenge.nonce)}",
        f"uri={_quote(uri)}",
        f"response={_quote(response)}",
        f"algorithm={challenge.algorithm}",
    ]
    if challenge.opaque is not None:
        parts.append(f"opaque={_quote(challenge.opaque)}")
    if qop is not None:
        parts += [f"qop={qop}", f"nc={count}", f"cnonce={_quote(cnonce)}"]
    return "Digest " + ", ".join(parts)


class DigestSession:
    """The authentication of one request's attempts (an INVITE, or one registration's
    REGISTERs): :meth:`retry` gives the next attempt, or None when we must give up."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        #: realm -> times answered (the stale retry makes it 2)
        self._answered: dict[str, int] = {}
        self._nc: dict[str, int] = {}
        #: the answers sent with the last attempt, kept for the next requests (REGISTER
        #: refreshes re-use them, with nc + 1, until the registrar challenges again)
        self._current: list[Challenge] = []

    def retry(self, request: Request, response: Response) -> Request | None:
        """``request`` again with the answers to ``response``'s challenges (CSeq + 1,
        a new branch), or None: nothing we can answer, or answered already."""
        if response.status not in (401, 407):
            return None
        chosen = [c for c in _strongest(challenges(response)) if self.credentials.fits(c.realm)]
        if not chosen:
            return None
        for challenge in chosen:
            times = self._answered.get(challenge.realm, 0)
            if times >= 2 or (times == 1 and not challenge.stale):
                return None  # answered and refused again: a wrong user name or password
        for challenge in chosen:
            self._answered[challenge.realm] = self._answered.get(challenge.realm, 0) + 1
        # keep the answers to the other kind (401 vs 407) of an earlier round
        kind = chosen[0].proxy
        self._current = [c for c in self._current if c.proxy != kind] + chosen
        return self.sign(reissue(request))

    def sign(self, request: Request) -> Request:
        """Put our current answers on ``request`` (replacing any there)."""
        for name in ("Authorization", "Proxy-Authorization"):
            request.headers.remove(name)
        for challenge in self._current:
            nc = self._nc.get(challenge.nonce, 0) + 1
            self._nc[challenge.nonce] = nc
            value = authorization(
                challenge, self.credentials, request.method, request.uri, body=request.body, nc=nc
            )
            request.headers.add(challenge.answer_header, value)
        return request

    def accepted(self) -> None:
        """A request went through: a later challenge (a new nonce) may be answered again."""
        self._answered.clear()


def reissue(request: Request) -> Request:
    """The same request as a new transaction: CSeq + 1 and a new Via branch (§8.1.3.5)."""
    headers = request.headers.copy()
    number, method = request.cseq
    headers.set("CSeq", f"{number + 1} {method}")
    via = headers.get("Via") or ""
    if ";branch=" in via:
        via = re.sub(r";branch=[^;,\s]*", f";branch={new_branch()}", via, count=1)
    else:
        via = f"{via};branch={new_branch()}"
    headers.set("Via", via)
    return Request(headers, request.body, method=request.method, uri=request.uri)
