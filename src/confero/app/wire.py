"""Events on the wire, through an explicit, versioned shape (issue 10, Deliver 4).

The socket (``{"v":1,"type":"event","event":...}``, docs/SIGNALING.md) and the REST
answers to commands send domain events to clients. Before, they sent whatever
``Event.to_dict()`` made of the dataclass, so renaming a domain field silently renamed
a field of the published protocol. Here every event of a wire version names the fields
it sends, and where the domain's attribute is called differently, which attribute fills
it; tests/app/test_wire.py pins every shape, and an event without a shape fails there.

Values: a ``ParticipantView`` goes out in its own shape, tuples and lists as lists, sets
as sorted lists (their order means nothing).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from confero.domain import events as ev

log = logging.getLogger(__name__)

#: The wire version of events: the socket's ``v`` and the REST API's ``/v1``.
VERSION = 1


@dataclass(frozen=True)
class Shape:
    """The fields one event (or value) sends, in order; ``source`` maps a wire name to
    the domain attribute behind it where the two differ."""

    fields: tuple[str, ...]
    source: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        assert len(set(self.fields)) == len(self.fields), "a wire field is named twice"
        assert set(self.source) <= set(self.fields), "a source for a field not sent"

    def attribute(self, wire_name: str) -> str:
        return self.source.get(wire_name, wire_name)


_ROOM = ("room_id", "conference_id")


def _event(*fields: str) -> Shape:
    return Shape((*_ROOM, *fields))


PARTICIPANT_VIEW = Shape(
    ("id", "display_name", "role", "channel", "muted", "hand_raised", "volume", "account_id")
)

#: Version 1: exactly what the protocol published before the shapes were explicit.
SHAPES_V1: Mapping[type[ev.Event], Shape] = MappingProxyType(
    {
        ev.ConferenceStarted: _event(),
        ev.ParticipantJoined: _event("participant", "count", "rejoined", "announce_to"),
        ev.ParticipantLeft: _event("participant_id", "display_name", "reason", "count", "by"),
        ev.MuteChanged: _event("participant_id", "muted", "by", "of_all"),
        ev.AllMuteChanged: _event("muted", "by", "participant_ids"),
        ev.LockChanged: _event("locked", "by"),
        ev.Knocked: _event("lobby_id", "display_name", "channel"),
        ev.LobbyLeft: _event("lobby_id", "display_name", "reason", "by", "code"),
        ev.HandChanged: _event("participant_id", "raised", "by"),
        ev.AnnouncementsChanged: _event("participant_id", "enabled"),
        ev.VolumeChanged: _event("participant_id", "level", "at_limit"),
        ev.ParticipantsListed: _event("participants"),
        ev.MenuListed: _event("controls"),
        ev.InviteRequested: _event("number", "by"),
        ev.InviteFailed: _event("number", "reason", "by"),
        ev.ConferenceEnded: _event("reason", "by"),
        ev.RoomResetRequested: _event("by"),
        ev.WindowClosing: _event("ends_at"),
        ev.ChatPosted: _event(
            "message_id", "author_name", "text", "created_at", "account_id", "guest"
        ),
        ev.RoomContentReset: _event("by"),
        ev.BoardChanged: _event("board_id", "seq", "op", "by"),
        ev.BoardsListed: _event("boards", "by"),
        ev.FileShared: _event("file"),
        ev.FileDeleted: _event("file_id", "file_name", "by"),
        ev.RecordingChanged: _event("recording", "by"),
        ev.RecordingSaved: _event("recording"),
    }
)

SHAPES: Mapping[int, Mapping[type[ev.Event], Shape]] = MappingProxyType({1: SHAPES_V1})


def event_to_wire(event: ev.Event, version: int = VERSION) -> dict[str, Any]:
    """``{"event": name, ...fields}`` as wire ``version`` sends it."""
    shape = SHAPES[version].get(type(event))
    if shape is None:  # a new event without a shape: tests/app/test_wire.py says so
        log.warning("event %s has no wire shape in version %d", event.name, version)
        return event.to_dict()
    return {"event": event.name, **_fields(event, shape)}


def _fields(obj: object, shape: Shape) -> dict[str, Any]:
    return {name: _value(getattr(obj, shape.attribute(name))) for name in shape.fields}


def _value(value: Any) -> Any:
    if isinstance(value, ev.ParticipantView):
        return _fields(value, PARTICIPANT_VIEW)
    if isinstance(value, frozenset | set):
        return sorted(_value(v) for v in value)
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    assert not dataclasses.is_dataclass(value), f"{type(value).__name__} needs a wire shape"
    return value
