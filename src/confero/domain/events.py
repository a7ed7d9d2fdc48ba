"""Domain events: what happened, published after every change (house rule 2).

``audience`` is the set of participant (or lobby) ids that should be told. The conference
fills it in from its state at the moment of the change, which is how "a removed
participant gets no further events" is guaranteed in one place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Event:
    name: ClassVar[str]
    room_id: str
    conference_id: str | None = None
    audience: frozenset[str] = field(default_factory=frozenset)

    def to_dict(self) -> dict[str, Any]:
        data = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "audience"
        }
        return {"event": self.name, **_plain(data)}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class ParticipantView:
    """What others may see of a participant."""

    id: str
    display_name: str
    role: str
    channel: str
    muted: bool
    hand_raised: bool
    volume: int
    account_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ConferenceStarted(Event):
    name: ClassVar[str] = "conference_started"


@dataclass(frozen=True, kw_only=True)
class ParticipantJoined(Event):
    name: ClassVar[str] = "participant_joined"
    participant: ParticipantView
    count: int
    rejoined: bool = False
    #: ids that asked to hear entry announcements (*2 turns it off per listener).
    announce_to: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class ParticipantLeft(Event):
    name: ClassVar[str] = "participant_left"
    participant_id: str
    display_name: str
    #: left | dropped | kicked | ended_by_host | removed_by_host
    reason: str
    count: int
    by: str | None = None


@dataclass(frozen=True, kw_only=True)
class MuteChanged(Event):
    name: ClassVar[str] = "mute_changed"
    participant_id: str
    muted: bool
    by: str | None = None
    #: Part of a mute-all (or unmute-all): its ``AllMuteChanged`` names everyone it
    #: changed, so the activity log keeps one row, not one per participant.
    of_all: bool = False


@dataclass(frozen=True, kw_only=True)
class AllMuteChanged(Event):
    """``participant_ids``: whose mute it changed. Pages apply it to their lists: the
    per-participant ``MuteChanged`` of one mute-all goes to its participant alone, or a
    room of 1,000 would queue a million messages in one turn of its actor."""

    name: ClassVar[str] = "all_mute_changed"
    muted: bool
    by: str | None = None
    participant_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LockChanged(Event):
    name: ClassVar[str] = "lock_changed"
    locked: bool
    by: str | None = None


@dataclass(frozen=True, kw_only=True)
class Knocked(Event):
    name: ClassVar[str] = "knocked"
    lobby_id: str
    display_name: str
    channel: str


@dataclass(frozen=True, kw_only=True)
class LobbyLeft(Event):
    """A knocker's wait is over: admitted, denied, no room (full), ended, or gave up (left)."""

    name: ClassVar[str] = "lobby_left"
    lobby_id: str
    display_name: str
    reason: str
    by: str | None = None
    #: The error code a refused knocker sees (domain/errors.py), None when not refused.
    code: str | None = None


@dataclass(frozen=True, kw_only=True)
class HandChanged(Event):
    name: ClassVar[str] = "hand_changed"
    participant_id: str
    raised: bool
    by: str | None = None


@dataclass(frozen=True, kw_only=True)
class AnnouncementsChanged(Event):
    name: ClassVar[str] = "announcements_changed"
    participant_id: str
    enabled: bool


@dataclass(frozen=True, kw_only=True)
class VolumeChanged(Event):
    name: ClassVar[str] = "volume_changed"
    participant_id: str
    level: int
    at_limit: bool


@dataclass(frozen=True, kw_only=True)
class ParticipantsListed(Event):
    """The answer to ``*3``: spoken to the one who asked."""

    name: ClassVar[str] = "participants_listed"
    participants: tuple[ParticipantView, ...]


@dataclass(frozen=True, kw_only=True)
class MenuListed(Event):
    name: ClassVar[str] = "menu_listed"
    controls: tuple[tuple[str, str, str], ...]  # (keys, command, label)


@dataclass(frozen=True, kw_only=True)
class InviteRequested(Event):
    name: ClassVar[str] = "invite_requested"
    number: str
    by: str | None = None


@dataclass(frozen=True, kw_only=True)
class InviteFailed(Event):
    """A dial-out (``*8``, or "call a phone number" in the page) did not reach the callee:
    told to the one who asked (F-PH3, F-WB6). ``reason``: unavailable (no trunk) |
    no_answer (refused, busy, not answered) | error."""

    name: ClassVar[str] = "invite_failed"
    number: str
    reason: str
    by: str | None = None


@dataclass(frozen=True, kw_only=True)
class ConferenceEnded(Event):
    name: ClassVar[str] = "conference_ended"
    #: empty | ended_by_host | reset | window_closed
    reason: str
    by: str | None = None


@dataclass(frozen=True, kw_only=True)
class RoomResetRequested(Event):
    """The conference is over; the room's content must go too (F-EN4)."""

    name: ClassVar[str] = "room_reset_requested"
    by: str | None = None


@dataclass(frozen=True, kw_only=True)
class WindowClosing(Event):
    """The reservation window ends soon: warn everyone (F-RS4)."""

    name: ClassVar[str] = "window_closing"
    ends_at: str


@dataclass(frozen=True, kw_only=True)
class ChatPosted(Event):
    """Room chat lives with the room, not a conference (F-EN8)."""

    name: ClassVar[str] = "chat_posted"
    message_id: int
    author_name: str
    text: str
    created_at: str
    account_id: str | None = None

    @property
    def guest(self) -> bool:
        """Posted by no account of the room: pages mark the name (issue 14)."""
        return self.account_id is None


@dataclass(frozen=True, kw_only=True)
class BoardChanged(Event):
    """An operation applied to a whiteboard (domain/boards.py), for every page of the
    room: ``op`` in its wire form, ``seq`` its number on the board."""

    name: ClassVar[str] = "board_changed"
    board_id: str
    seq: int
    op: dict[str, object]
    by: str | None = None


@dataclass(frozen=True, kw_only=True)
class BoardsListed(Event):
    """The room's boards changed: one added, renamed or deleted."""

    name: ClassVar[str] = "boards_listed"
    boards: tuple[dict[str, object], ...]
    by: str | None = None


@dataclass(frozen=True, kw_only=True)
class FileShared(Event):
    name: ClassVar[str] = "file_shared"
    file: dict[str, object]


@dataclass(frozen=True, kw_only=True)
class FileDeleted(Event):
    name: ClassVar[str] = "file_deleted"
    file_id: str
    file_name: str
    by: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordingChanged(Event):
    """Recording started or stopped (issue 12): every page shows it, every caller hears it."""

    name: ClassVar[str] = "recording_changed"
    recording: bool
    by: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordingSaved(Event):
    """A finished recording is stored and can be played."""

    name: ClassVar[str] = "recording_saved"
    recording: dict[str, object]


@dataclass(frozen=True, kw_only=True)
class RoomContentReset(Event):
    """Chat, files and activity of the room are gone (F-EN4)."""

    name: ClassVar[str] = "room_content_reset"
    by: str | None = None
