"""Placement: which node runs a room's live conference (issue 16 item 2, F-SC2).

A live conference has one writer (house rule 2), so in a cluster it lives on exactly one
node: its actor and its media mix. Ownership is a lease the node takes when the first
participant joins and gives up when the conference ends; a node that dies stops renewing
and its rooms are free again within the lease's time to live. The app only asks three
questions (claim, owner, release) and hears one thing back: "you lost this room" (the
conference there must end, someone else may run it now).

The owner also shows its running meetings to the other nodes (``publish``, read with
``meetings``): a ``MeetingSummary`` per room, so the host's panel lists a room as running
with its people whichever node serves the panel. It is written on a change of who is in,
knocking or the lock (app/running.py), not per tick, is at most ``LISTED`` names long,
and lives exactly as long as the lease.

``LocalPlacement`` is the one-process profile: this node owns everything, without I/O,
so a server without Redis behaves as before issue 16. ``confero.bus.redis_placement`` is
the cluster's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from confero.domain.errors import DomainError
from confero.domain.snapshots import ConferenceSnapshot

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


#: A meeting another node runs lists its first this many people (the summary stays small).
LISTED = 100


@dataclass(frozen=True)
class Attendee:
    display_name: str
    #: phone | browser | api
    channel: str


@dataclass(frozen=True)
class MeetingSummary:
    """A running meeting as the host's panel shows it: how many are in and knocking,
    the lock, and the people in join order (from another node: the first ``LISTED``)."""

    conference_id: str
    participants: int
    lobby: int
    locked: bool
    attendees: tuple[Attendee, ...]

    def __post_init__(self) -> None:
        if self.lobby < 0 or not len(self.attendees) <= self.participants:
            raise ValueError(f"an impossible meeting summary: {self}")

    @classmethod
    def of(cls, snapshot: ConferenceSnapshot, listed: int | None = LISTED) -> MeetingSummary:
        """The summary of a running conference, naming its first ``listed`` (None: all)."""
        people = snapshot.participants if listed is None else snapshot.participants[:listed]
        return cls(
            conference_id=snapshot.id,
            participants=len(snapshot.participants),
            lobby=len(snapshot.lobby),
            locked=snapshot.locked,
            attendees=tuple(Attendee(p.display_name, p.channel) for p in people),
        )


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

    async def publish(self, room_id: str, summary: MeetingSummary) -> None:
        """Show the other nodes the meeting this node runs in the room, while it holds
        the lease (a lease given up or lost takes the summary with it); nothing when it
        does not hold it. Raises ``conference.busy`` when the shared store cannot be told."""
        ...

    async def meetings(self, room_ids: Collection[str]) -> dict[str, MeetingSummary]:
        """The summaries the rooms' owners published, by room id (rooms without one are
        left out; the shared store out of reach: none). One round trip."""
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

    async def publish(self, room_id: str, summary: MeetingSummary) -> None:
        return None  # nobody else to show: this node's registry answers for every room

    async def meetings(self, room_ids: Collection[str]) -> dict[str, MeetingSummary]:
        return {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None
