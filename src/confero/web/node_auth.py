"""Which client a request forwarded by another node speaks for (issue 16 item 4, F-SC2).

A node that forwards a browser's socket or REST call to the room's owner (web/forward.py)
connects from its own address, yet the owner must count per-address limits (socket caps,
guessing, chat) against the browser's. So the forwarder names the client in
``X-Confero-Forwarded-For`` and signs it in ``X-Confero-Node-Auth``: ``<unix time>.<hex
HMAC-SHA256 over time, client and path>`` with the cluster's shared secret. The owner
believes the name only with a valid signature no older than ``MAX_AGE`` seconds, compared
in constant time; anybody else's header is ignored, so a forged one cannot give each
guess a fresh address. No secret configured (one process): nothing is ever believed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from collections.abc import Mapping

FORWARDED_FOR = "x-confero-forwarded-for"
NODE_AUTH = "x-confero-node-auth"
#: Seconds a signature stays good (clock skew between nodes plus the forwarding itself).
MAX_AGE = 30


def _mac(secret: str, stamp: str, client: str, path: str) -> str:
    text = f"{stamp}\n{client}\n{path}".encode()
    return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()


def sign(secret: str, client: str, path: str, now: float | None = None) -> dict[str, str]:
    """The two headers a forwarded request carries for ``client`` on ``path``."""
    stamp = str(int(time.time() if now is None else now))
    return {FORWARDED_FOR: client, NODE_AUTH: f"{stamp}.{_mac(secret, stamp, client, path)}"}


def verified_client(
    secret: str, headers: Mapping[str, str], path: str, now: float | None = None
) -> str | None:
    """The client a validly signed, fresh forwarded request names; None otherwise."""
    client, auth = headers.get(FORWARDED_FOR, ""), headers.get(NODE_AUTH, "")
    stamp, dot, given = auth.partition(".")
    if not (secret and client and dot and stamp.isdigit()):
        return None
    if abs((time.time() if now is None else now) - int(stamp)) > MAX_AGE:
        return None
    if not hmac.compare_digest(given, _mac(secret, stamp, client, path)):
        return None
    try:
        return str(ipaddress.ip_address(client))
    except ValueError:
        return None
