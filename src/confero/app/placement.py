"""Placement: which node runs a room's live conference (issue 16 item 2, F-SC2).

A live conference has one writer (house rule 2), so in a cluster it lives on exactly one
node: its actor and its media mix. Ownership is a lease the node takes when the first
participant joins and gives up when the conference ends; a node that dies stops renewing
and its rooms are free again within the lease's time to live. The app only asks three
questions (claim, owner, release) and hears one thing back: "you lost this room" (the
conference there must end, someone else may run it now).

``LocalPlacement`` is the one-process profile: this node owns everything, without I/O,
so a server without Redis behaves as before issue 16. ``confero.bus.redis_placement`` is
the cluster's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from confero.domain.errors import DomainError

#: Told the id of a room whose lease this node lost; must not block (schedule work).
LeaseLost = Callable[[str], None]


@dataclass(frozen=True)
class NodeInfo:
    """Where one node is reached by the others (never shown to guests)."""

    node_id: str
    #: The node's own HTTP for forwarded sockets and requests (``Settings.internal_url``).
    internal_url: str
    sip_host: str
    sip_port: int
    #: Where the node's RTP goes and comes from.
    media_host: str

    @property
    def sip_address(self) -> str:
        """``host:port`` as a SIP URI takes it (an IPv6 host in brackets)."""
        host = f"[{self.sip_host}]" if ":" in self.sip_host else self.sip_host
        return f"{host}:{self.sip_port}"


def elsewhere(owner: NodeInfo) -> DomainError:
    """The room's conference runs on another node: the channel connects the participant
    there (socket proxy, SIP relay). The detail names no address: it may reach a page."""
    return DomainError(
        "conference.elsewhere",
        "this conference runs on another node",
        node_id=owner.node_id,
        internal_url=owner.internal_url,
    )


class Placement(Protocol):
    """Leases on rooms, one holder each, across the cluster's nodes."""

    @property
    def this_node(self) -> NodeInfo: ...

    async def claim(self, room_id: str) -> NodeInfo:
        """Take the room's lease if nobody live holds it; the holder afterwards (this
        node, or the live node that runs the room). Raises ``conference.busy`` when the
        shared store cannot be asked."""
        ...

    async def release(self, room_id: str) -> None:
        """Give the lease up if this node still holds it (the conference ended)."""
        ...

    async def owner(self, room_id: str) -> NodeInfo | None:
        """The live node that holds the room's lease, or None."""
        ...

    def on_lost(self, callback: LeaseLost) -> None:
        """Call ``callback(room_id)`` whenever a lease this node held is lost."""
        ...

    async def start(self) -> None:
        """Announce this node and keep its leases alive (one heartbeat per node)."""
        ...

    async def close(self) -> None:
        """Clean shutdown: stop the heartbeat, release every lease, leave the registry."""
        ...


class LocalPlacement:
    """One process, no cluster: this node owns every room; nothing is ever lost."""

    def __init__(self, node: NodeInfo | None = None) -> None:
        self._node = node or NodeInfo("local", "", "127.0.0.1", 5060, "127.0.0.1")

    @property
    def this_node(self) -> NodeInfo:
        return self._node

    async def claim(self, room_id: str) -> NodeInfo:
        return self._node

    async def release(self, room_id: str) -> None:
        return None

    async def owner(self, room_id: str) -> NodeInfo | None:
        return self._node

    def on_lost(self, callback: LeaseLost) -> None:
        return None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None
