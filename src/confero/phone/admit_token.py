"""The admit token of a relayed phone call (issue 16 item 5, F-SC2).

A caller whose call lands on a node that does not run their room has already passed
that node's voice menu (number, PIN, reservation window). The node then calls the
room's owner itself, and the owner must let the call in without asking again, but
only a call a node of this cluster vouches for: the INVITE carries
``X-Confero-Admit: <token>``, the room, the role and the caller's number signed with
HMAC-SHA256 under ``CONFERO_CLUSTER_SECRET``.

Why these fields: ``node`` names the owner the token was made for, so a token is good
on one node only, and that node's memory of used token ids (``AdmitVerifier``) is
enough to make it one-use without a shared store; ``exp`` (30 s) bounds how long a
token captured on the wire is worth anything and how long its id is remembered. The
check is constant-time (``hmac.compare_digest``). A refusal says why (``AdmitRefused``
``reason``), which becomes the 403's reason phrase: the nodes are ours, the reason
helps whoever reads their logs, and it tells an attacker nothing the secret does not
already protect.

``resume`` (issue 16): the token the owner keeps the call's participant record under
(app/session.py), picked by the relaying node once per call. When that owner dies and
the call joins the room again (here or passed on to the next owner with the same
``resume``), the record says whether the call had been let in: in without knocking on a
locked room, or knocking again. Only nodes holding the secret ever see it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from confero.domain.roles import Role

HEADER = "X-Confero-Admit"
#: Seconds a token is good for after it is made.
LIFETIME = 30.0
#: Bounded memory: a flood of valid tokens cannot grow the used-id set past this.
MAX_REMEMBERED = 10_000


class AdmitRefused(ValueError):
    """A token that admits nobody; ``reason`` is a short phrase for the 403."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AdmitClaims:
    """What the node that ran the voice menu vouches for."""

    token_id: str
    room_id: str
    role: Role
    #: The caller's number (the From user part on the first node): names the phone.
    caller: str
    #: The node the token admits to (the room's owner when it was made).
    node_id: str
    expires: float
    #: The call's resume token (see the module); "" from a node that sends none.
    resume: str = ""


def issue(
    secret: bytes,
    *,
    room_id: str,
    role: Role,
    caller: str,
    node_id: str,
    resume: str = "",
    now: float | None = None,
) -> str:
    """A token admitting ``caller`` to ``room_id`` with ``role`` on ``node_id``."""
    issued = time.time() if now is None else now
    payload = {
        "id": secrets.token_urlsafe(12),
        "room": room_id,
        "role": role.value,
        "caller": caller,
        "node": node_id,
        "exp": issued + LIFETIME,
        "resume": resume,
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_b64(_sign(secret, body))}"


def read(secret: bytes, token: str, *, now: float | None = None) -> AdmitClaims:
    """The claims of a well-signed, unexpired token, else ``AdmitRefused``."""
    body, dot, signature = token.strip().partition(".")
    if not dot or not body or not signature:
        raise AdmitRefused("malformed admit token")
    try:
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise AdmitRefused("malformed admit token") from None
    if not hmac.compare_digest(given, _sign(secret, body)):
        raise AdmitRefused("bad admit signature")
    claims = _claims(body)
    if claims.expires <= (time.time() if now is None else now):
        raise AdmitRefused("expired admit token")
    return claims


class AdmitVerifier:
    """One node's check of incoming tokens: signed, for this node, unexpired, unused."""

    def __init__(
        self, secret: bytes, node_id: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self._node_id = node_id
        self._clock = clock
        #: used token id -> its expiry; forgotten once expired (it is refused anyway)
        self._used: dict[str, float] = {}

    def verify(self, token: str) -> AdmitClaims:
        now = self._clock()
        claims = read(self._secret, token, now=now)
        if claims.node_id != self._node_id:
            raise AdmitRefused("admit token for another node")
        self._forget_expired(now)
        if claims.token_id in self._used:
            raise AdmitRefused("admit token already used")
        if len(self._used) >= MAX_REMEMBERED:
            raise AdmitRefused("too many relayed calls")
        self._used[claims.token_id] = claims.expires
        return claims

    def _forget_expired(self, now: float) -> None:
        for token_id in [t for t, exp in self._used.items() if exp <= now]:
            del self._used[token_id]


def _claims(body: str) -> AdmitClaims:
    try:
        data = json.loads(_unb64(body))
        return AdmitClaims(
            token_id=str(data["id"]),
            room_id=str(data["room"]),
            role=Role(data["role"]),
            caller=str(data["caller"]),
            node_id=str(data["node"]),
            expires=float(data["exp"]),
            resume=str(data.get("resume") or ""),
        )
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise AdmitRefused("malformed admit token") from None


def _sign(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, body.encode("ascii", "replace"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict: a character outside base64url is an error, not skipped."""
    padded = (text + "=" * (-len(text) % 4)).encode("ascii", "replace")
    return base64.b64decode(padded, altchars=b"-_", validate=True)
