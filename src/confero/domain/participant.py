"""The people of a running conference as the ``Conference`` aggregate keeps them
(domain/conference.py): a participant in it, an entry of its lobby, and the rule for a
display name. Mutable on purpose, and only the aggregate changes them; what leaves the
aggregate is their frozen snapshot (domain/snapshots.py)."""

from __future__ import annotations

from dataclasses import dataclass

from confero.domain import events as ev
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.snapshots import ParticipantSnapshot

#: The volume steps a participant can go down or up (``*7`` / ``*9``, F-PH3).
VOLUME_MIN = -4
VOLUME_MAX = 4
MAX_DISPLAY_NAME = 80


@dataclass
class Participant:
    id: str
    display_name: str
    role: Role
    channel: str
    identity: str
    joined_seq: int
    account_id: str | None = None
    muted: bool = False
    muted_by_host: bool = False
    hand_raised: bool = False
    volume: int = 0
    announcements: bool = True

    def frozen(self) -> ParticipantSnapshot:
        return ParticipantSnapshot(
            id=self.id,
            display_name=self.display_name,
            role=self.role,
            channel=self.channel,
            identity=self.identity,
            joined_seq=self.joined_seq,
            account_id=self.account_id,
            muted=self.muted,
            muted_by_host=self.muted_by_host,
            hand_raised=self.hand_raised,
            volume=self.volume,
            announcements=self.announcements,
        )

    def view(self) -> ev.ParticipantView:
        return self.frozen().view()


@dataclass
class LobbyEntry:
    id: str
    display_name: str
    role: Role
    channel: str
    identity: str
    account_id: str | None = None


def clean_display_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_DISPLAY_NAME:
        raise DomainError(
            "participant.invalid_name", f"a name has 1 to {MAX_DISPLAY_NAME} characters"
        )
    return cleaned
