"""Whose call it is: the caller's address, also behind a SIP proxy we trust (issue 16).

Behind the cluster's Kamailio every INVITE comes from Kamailio's address, so admission's
limits per source, the PIN guessing counted per address and the RTP latch (symmetric RTP
from the SIP peer's host) would all see one "caller". A proxy records where it got the
request: the Via it received it with carries ``received=`` when the sender's address
differs from what it wrote (RFC 3261 18.2.1, RFC 3581). So, only while the hop a request
came from is a proxy we trust (``CONFERO_TRUSTED_PROXIES``), the next Via down names the
hop before it; the first untrusted hop is the caller. Anyone else's Vias are the
sender's own words and ignored: a forged Via from the internet moves nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from confero.sip.address import Via

#: Whether an address is a proxy whose Vias we believe.
Trusted = Callable[[str], bool]


def nobody(address: str) -> bool:
    """The default: no proxy is trusted, the packet's source is the caller."""
    return False


def caller_host(vias: Sequence[Via], peer_host: str, trusted: Trusted = nobody) -> str:
    """The caller's address: ``peer_host`` (the packet's source) unless that is a trusted
    proxy, then the hop its Via below says, and so on down the chain."""
    host = peer_host
    for via in vias[1:]:  # vias[0] is the last hop's own, sent by peer_host
        if not trusted(host):
            break
        host = via.params.get("received") or via.host
    return host
