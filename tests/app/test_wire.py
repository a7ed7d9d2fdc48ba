"""Events on the wire (confero.app.wire): every event has an explicit shape, the shapes of
version 1 are pinned field by field, and they send what the protocol published before."""

from __future__ import annotations

import dataclasses
import logging
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from confero.app import wire
from confero.domain import events as ev

#: The published fields of version 1 (docs/SIGNALING.md); every event also sends
#: "event", "room_id" and "conference_id". Change a line only with a new version.
PINNED_V1: dict[str, tuple[str, ...]] = {
    "conference_started": (),
    "participant_joined": ("participant", "count", "rejoined", "announce_to"),
    "participant_left": ("participant_id", "display_name", "reason", "count", "by"),
    "mute_changed": ("participant_id", "muted", "by", "of_all"),
    "all_mute_changed": ("muted", "by", "participant_ids"),
    "lock_changed": ("locked", "by"),
    "knocked": ("lobby_id", "display_name", "channel"),
    "lobby_left": ("lobby_id", "display_name", "reason", "by", "code"),
    "hand_changed": ("participant_id", "raised", "by"),
    "announcements_changed": ("participant_id", "enabled"),
    "volume_changed": ("participant_id", "level", "at_limit"),
    "participants_listed": ("participants",),
    "menu_listed": ("controls",),
    "invite_requested": ("number", "by"),
    "invite_failed": ("number", "reason", "by"),
    "conference_ended": ("reason", "by"),
    "room_reset_requested": ("by",),
    "window_closing": ("ends_at",),
    "chat_posted": ("message_id", "author_name", "text", "created_at", "account_id", "guest"),
    "room_content_reset": ("by",),
    "board_changed": ("board_id", "seq", "op", "by"),
    "boards_listed": ("boards", "by"),
    "file_shared": ("file",),
    "file_deleted": ("file_id", "file_name", "by"),
    "recording_changed": ("recording", "by"),
    "recording_saved": ("recording",),
}
PINNED_PARTICIPANT = (
    "id",
    "display_name",
    "role",
    "channel",
    "muted",
    "hand_raised",
    "volume",
    "account_id",
)

VIEW = ev.ParticipantView(
    id="p1",
    display_name="Ann",
    role="moderator",
    channel="browser",
    muted=False,
    hand_raised=True,
    volume=0,
    account_id=None,
)


def event_classes() -> list[type[ev.Event]]:
    found: list[type[ev.Event]] = []
    pending = list(ev.Event.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted((c for c in found if c.__module__ == ev.__name__), key=lambda c: c.name)


def sample(hint: Any) -> Any:
    """A value of the annotated type, enough to build any event."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, type(int | None)):
        return sample(args[0])
    if hint is ev.ParticipantView:
        return VIEW
    if origin is frozenset:
        return frozenset({"b", "a"})
    if origin is dict:  # a payload the event carries as it is (a board op, a file row)
        return {"k": "v"}
    if origin is tuple:
        return (sample(args[0]),) if args[-1] is Ellipsis else tuple(sample(a) for a in args)
    return {str: "x", int: 2, bool: True}[hint]


def build(cls: type[ev.Event]) -> ev.Event:
    hints = typing.get_type_hints(cls)
    values = {
        f.name: sample(hints[f.name]) for f in dataclasses.fields(cls) if f.name != "audience"
    }
    return cls(**values)


@pytest.mark.parametrize("cls", event_classes(), ids=lambda c: c.name)
def test_every_event_has_its_pinned_shape(cls: type[ev.Event]) -> None:
    assert cls.name in PINNED_V1, f"{cls.name}: give it a wire shape and pin it here"
    data = wire.event_to_wire(build(cls))
    assert tuple(data) == ("event", "room_id", "conference_id", *PINNED_V1[cls.name])
    assert data["event"] == cls.name


#: Wire fields computed from domain fields (issue 14: a guest's chat is marked).
DERIVED = {"chat_posted": {"guest"}}


@pytest.mark.parametrize("cls", event_classes(), ids=lambda c: c.name)
def test_every_domain_field_is_sent_or_known_to_stay_home(cls: type[ev.Event]) -> None:
    """A new domain field is a decision: send it (a shape and a pin) or keep it home."""
    shape = wire.SHAPES_V1[cls]
    sent = {shape.attribute(name) for name in shape.fields}
    fields = {f.name for f in dataclasses.fields(cls)} - {"audience"}
    assert fields == sent - DERIVED.get(cls.name, set()), cls.name


@pytest.mark.parametrize("cls", event_classes(), ids=lambda c: c.name)
def test_version_1_sends_what_to_dict_sent(cls: type[ev.Event]) -> None:
    """Backward compatible: the same fields and values as before (sets now sorted)."""
    event = build(cls)
    old = event.to_dict()
    new = wire.event_to_wire(event)
    if "announce_to" in old:
        old["announce_to"] = sorted(old["announce_to"])
    for name in DERIVED.get(cls.name, set()):  # added fields (issue 14), nothing removed
        old[name] = getattr(event, name)
    assert new == old


def test_a_participant_goes_out_in_its_own_shape() -> None:
    data = wire.event_to_wire(build(ev.ParticipantJoined))
    assert tuple(data["participant"]) == PINNED_PARTICIPANT
    assert data["announce_to"] == ["a", "b"]
    listed = wire.event_to_wire(build(ev.ParticipantsListed))
    assert [tuple(p) for p in listed["participants"]] == [PINNED_PARTICIPANT]


def test_a_renamed_domain_field_keeps_its_wire_name() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Renamed(ev.Event):
        name: ClassVar[str] = "lock_changed"
        is_locked: bool

    shape = wire.Shape(
        (*wire.SHAPES_V1[ev.LockChanged].fields[:2], "locked"), {"locked": "is_locked"}
    )
    out = wire._fields(Renamed(room_id="r", is_locked=True), shape)
    assert out == {"room_id": "r", "conference_id": None, "locked": True}


def test_an_event_without_a_shape_still_goes_out_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @dataclass(frozen=True, kw_only=True)
    class Unshaped(ev.Event):
        name: ClassVar[str] = "unshaped"
        value: int

    with caplog.at_level(logging.WARNING, logger="confero.app.wire"):
        data = wire.event_to_wire(Unshaped(room_id="r", value=3))
    assert data == {"event": "unshaped", "room_id": "r", "conference_id": None, "value": 3}
    assert "no wire shape" in caplog.text


def test_a_shape_names_each_field_once() -> None:
    with pytest.raises(AssertionError):
        wire.Shape(("a", "a"))
    with pytest.raises(AssertionError):
        wire.Shape(("a",), {"b": "c"})
