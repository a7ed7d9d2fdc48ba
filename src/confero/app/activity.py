"""Reactions to conference events that outlive the conference (F-RC1).

Writes the room's activity log (who joined, left, was muted, removed, ...), keeps the
stored lock state in step with the live one (F-EN2: a locked room stays locked for
those coming back), and deletes the room's content when a reset is asked for (F-EN4).
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
}


def _actor(event: ev.Event) -> str | None:
    for attr in ("by", "participant_id", "lobby_id"):
        value = getattr(event, attr, None)
        if isinstance(value, str):
            return value
    participant = getattr(event, "participant", None)
    return participant.id if isinstance(participant, ev.ParticipantView) else None


class ActivityRecorder:
    def __init__(self, bus: EventBus, rooms: RoomService, clock: Clock) -> None:
        self._rooms = rooms
        self._clock = clock
        self._unsubscribe: Callable[[], None] = bus.subscribe(self.handle)

    def close(self) -> None:
        self._unsubscribe()

    async def handle(self, event: ev.Event) -> None:
        if isinstance(event, ev.LockChanged):
            await self._rooms.set_locked(event.room_id, event.locked)
        if isinstance(event, ev.RoomResetRequested):
            await self._rooms.reset_content(event.room_id, event.by)
            return
        kind = LOGGED.get(type(event))
        if kind is None:
            return
        detail = event.to_dict()
        for key in ("event", "room_id", "conference_id", "announce_to"):
            detail.pop(key, None)
        await self._rooms.record(
            ActivityEntry(
                room_id=event.room_id,
                kind=kind,
                created_at=self._clock.now(),
                conference_id=event.conference_id,
                actor=_actor(event),
                detail=detail,
            )
        )
