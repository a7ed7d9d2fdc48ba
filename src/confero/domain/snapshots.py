"""Frozen copies of a live conference: what leaves its actor (house rule 2).

Only the ``ConferenceActor`` holds the ``Conference`` and its ``Participant`` objects;
everyone else (the services, the phone, the browser gateway, the REST API) reads these
snapshots, taken after every command. They cannot be changed, so nobody outside the actor
can change the conference by accident, and what they read is a consistent whole: the
state between two commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confero.domain import events as ev
from confero.domain.roles import Role


@dataclass(frozen=True)
class ParticipantSnapshot:
    id: str
    display_name: str
    role: Role
    channel: str
    identity: str
    joined_seq: int
    account_id: str | None
    muted: bool
    muted_by_host: bool
    hand_raised: bool
    volume: int
    announcements: bool

    def view(self) -> ev.ParticipantView:
        """What others may see of this participant."""
        return ev.ParticipantView(
            id=self.id,
            display_name=self.display_name,
            role=self.role.value,
            channel=self.channel,
            muted=self.muted,
            hand_raised=self.hand_raised,
            volume=self.volume,
            account_id=self.account_id,
        )

    def view_dict(self) -> dict[str, Any]:
        """``asdict(self.view())`` without its deep copy: a welcome to a room of 1,000
        lists them all (issue 17)."""
        return {
            "id": self.id,
            "display_name": self.display_name,
            "role": self.role.value,
            "channel": self.channel,
            "muted": self.muted,
            "hand_raised": self.hand_raised,
            "volume": self.volume,
            "account_id": self.account_id,
        }


@dataclass(frozen=True)
class LobbySnapshot:
    id: str
    display_name: str
    role: Role
    channel: str
    identity: str
    account_id: str | None


@dataclass(frozen=True)
class ConferenceSnapshot:
    id: str
    room_id: str
    locked: bool
    all_muted: bool
    allow_self_unmute: bool
    capacity: int
    ended: bool
    end_reason: str | None
    #: in join order
    participants: tuple[ParticipantSnapshot, ...]
    #: in knocking order
    lobby: tuple[LobbySnapshot, ...]
    #: A recording runs (issue 12).
    recording: bool = False

    def participant(self, participant_id: str) -> ParticipantSnapshot | None:
        return next((p for p in self.participants if p.id == participant_id), None)

    def knocker(self, lobby_id: str) -> LobbySnapshot | None:
        return next((e for e in self.lobby if e.id == lobby_id), None)

    def participant_ids(self) -> frozenset[str]:
        return frozenset(p.id for p in self.participants)

    def to_dict(self) -> dict[str, Any]:
        """The conference's state as the API and the pages show it."""
        return {
            "conference_id": self.id,
            "room_id": self.room_id,
            "locked": self.locked,
            "all_muted": self.all_muted,
            "allow_self_unmute": self.allow_self_unmute,
            "capacity": self.capacity,
            "ended": self.ended,
            "end_reason": self.end_reason,
            "recording": self.recording,
            "participants": [p.view_dict() for p in self.participants],
            "lobby": [
                {"id": e.id, "display_name": e.display_name, "channel": e.channel}
                for e in self.lobby
            ],
        }
