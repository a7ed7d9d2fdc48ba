"""The room's activity log: an append-only record of its conferences' events (F-RC1).

Who joined, left, was muted, removed, ... A durable consumer of the bus
(confero/bus/local.py): it writes from the bus's ordered task per room, never from
inside the conference's actor. Delivery is at least once, so after a failed write
that did commit, one entry may appear twice. That is harmless for a log that people
read, and it is never lost. The stored room state (lock, content deleted on reset)
is the room-state projection's work (app/room_state.py).
"""

from __future__ import annotations

from collections.abc import Callable

from confero.app.ports import Clock, EventBus
from confero.app.rooms import RoomService
from confero.domain import events as ev
from confero.domain.content import ActivityEntry

#: Events worth keeping in the room's log; the rest are private answers or chatter.
LOGGED: dict[type[ev.Event], str] = {
    ev.ConferenceStarted: "conference_started",
    ev.ParticipantJoined: "joined",
    ev.ParticipantLeft: "left",
    ev.MuteChanged: "mute_changed",
    ev.AllMuteChanged: "all_mute_changed",
    ev.LockChanged: "lock_changed",
    ev.Knocked: "knocked",
    ev.LobbyLeft: "lobby_left",
    ev.HandChanged: "hand_changed",
    ev.InviteRequested: "invited",
    ev.InviteFailed: "invite_failed",
    ev.ConferenceEnded: "conference_ended",
    # Room content (issue 12): what the meeting produced, and the reset that wiped it,
    # which is all the log holds afterwards ("room reset at ... by ...").
    ev.FileShared: "file_shared",
    ev.FileDeleted: "file_deleted",
    ev.RecordingChanged: "recording_changed",
    ev.RecordingSaved: "recording_saved",
    ev.RoomContentReset: "room_reset",
}


def _actor(event: ev.Event) -> str | None:
    for attr in ("by", "participant_id", "lobby_id"):
        value = getattr(event, attr, None)
        if isinstance(value, str):
            return value
    participant = getattr(event, "participant", None)
    return participant.id if isinstance(participant, ev.ParticipantView) else None


class ActivityLog:
    def __init__(self, bus: EventBus, rooms: RoomService, clock: Clock) -> None:
        self._rooms = rooms
        self._clock = clock
        #: room id -> participant id -> display name, from the joins this log saw: the
        #: page shows *who* did a thing, and events name participants by id only.
        self._names: dict[str, dict[str, str]] = {}
        self._unsubscribe: Callable[[], None] = bus.subscribe_durable("activity", self.handle)

    def close(self) -> None:
        self._unsubscribe()

    async def handle(self, event: ev.Event) -> None:
        names = self._names.setdefault(event.room_id, {})
        if isinstance(event, ev.ParticipantJoined):
            names[event.participant.id] = event.participant.display_name
        kind = LOGGED.get(type(event))
        if isinstance(event, ev.MuteChanged) and event.of_all:
            return  # the mute-all's own row names them all (one row, not a thousand)
        if isinstance(event, ev.ConferenceEnded | ev.RoomContentReset):
            self._names.pop(event.room_id, None)
        if kind is None:
            return
        detail = event.to_dict()
        for key in ("event", "room_id", "conference_id", "announce_to"):
            detail.pop(key, None)
        actor = _actor(event)
        if actor is not None and actor in names:
            detail["actor_name"] = names[actor]
        await self._rooms.record(
            ActivityEntry(
                room_id=event.room_id,
                kind=kind,
                created_at=self._clock.now(),
                conference_id=event.conference_id,
                actor=actor,
                detail=detail,
            )
        )
