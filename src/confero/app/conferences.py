"""Live conferences: who may join a room now, and commands from any channel.

Phone, browser and REST all come through here: the join checks the room's reservation
window (F-RS3), then the room's ConferenceActor takes the command. Lock, unlock and
reset also work while no conference runs: ``confero.domain.offline`` says what they do,
and the room-state projection stores it, as for a live conference.

Readers get frozen snapshots (``snapshot``, ``participant``), never the actor's live
objects. The actor answers before the database has the events (confero/bus/local.py);
two waits make that invisible where it matters: a command that ended the conference, or
one on a room with none, returns once the room's durable consumers have stored its
events (the next conference starts from the stored lock; F-EN2); and the REST API calls
``settled`` after every command, so its caller reads its own writes (the activity log).
Keypad and page commands do not wait for the database.

In a cluster (issue 16, F-SC2) a conference starts only on the node that holds the room's
lease (``ConferenceRegistry.open_placed``); a join or a command for a room that another
live node runs is refused with ``conference.elsewhere``, naming that node, for the
channel to connect the participant there. Without Redis this node owns every room.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from confero.app import contract
from confero.app.actor import MOVED, ConferenceActor, ConferenceRegistry
from confero.app.placement import MeetingSummary, elsewhere
from confero.app.ports import Clock, EventBus
from confero.app.reservations import ReservationService
from confero.app.rooms import RoomService
from confero.app.running import RunningMeetings
from confero.domain import commands as c
from confero.domain.conference import Conference
from confero.domain.errors import DomainError
from confero.domain.events import ConferenceEnded, Event, InviteFailed, WindowClosing
from confero.domain.offline import apply_offline
from confero.domain.reservations import CLOSING_WARNING, JoinState, Reservation
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.domain.snapshots import LobbySnapshot, ParticipantSnapshot

#: How often a live conference looks at its reservation again (it may have been edited).
WINDOW_RECHECK = timedelta(minutes=1)

#: A 1:1 call's conference: the caller and the callee (F-WB3).
CALL_CAPACITY = 2

#: Commands a client may send by name; ``join`` has its own path, ``close_window`` is ours.
EXTERNAL_COMMANDS = contract.NAMES


def build_command(
    name: str, *, by: str | None, by_role: Role | None, **arguments: object
) -> c.Command:
    """Validate a wire body (a command's name and arguments) into the command, through the
    one contract of ``confero.app.contract``. ``None`` means "not given"; arguments the
    command does not take are ignored."""
    return contract.command_from(name, arguments, by=by, by_role=by_role)


class ConferenceService:
    def __init__(
        self,
        registry: ConferenceRegistry,
        rooms: RoomService,
        reservations: ReservationService,
        bus: EventBus,
        clock: Clock,
    ) -> None:
        self.registry = registry
        self._rooms = rooms
        self._reservations = reservations
        self._bus = bus
        self._clock = clock
        self._running = RunningMeetings(registry, bus)  # the panel's list on any node

    def now(self) -> datetime:
        return self._clock.now()

    async def check_open(self, room: Room) -> Reservation | None:
        state, window = await self._reservations.join_state(room)
        if state is JoinState.TOO_EARLY:
            assert window is not None
            raise DomainError(
                "conference.too_early",
                f"this conference starts at {window.start.isoformat()}",
                starts_at=window.start.isoformat(),
            )
        if state is JoinState.ENDED:
            raise DomainError("conference.window_ended", "this conference has ended")
        return window

    async def join(
        self,
        room: Room,
        *,
        display_name: str,
        role: Role,
        channel: str,
        identity: str,
        account_id: str | None = None,
        participant_id: str | None = None,
        returning: bool = False,
    ) -> tuple[str, list[Event]]:
        """Join (or knock on) the room's conference, starting one if none runs. A call
        room (F-WB3) takes its two accounts only: anyone else, guests included, is
        refused with ``call.not_yours``, whatever link or id they hold. ``returning``:
        the caller checked a proof that this identity was let into the meeting before
        (``Join.returning``; only app/session.py sets it, from a resume token's record)."""
        if room.is_call and (account_id is None or room.role_for_account(account_id) is None):
            raise DomainError("call.not_yours", "this call is between two other people")
        window = await self.check_open(room)
        pid = participant_id or uuid.uuid4().hex
        command = c.Join(
            participant_id=pid,
            display_name=display_name,
            role=role,
            channel=channel,
            identity=identity,
            account_id=account_id,
            returning=returning,
        )
        for _ in range(3):  # an actor that ended just now (or moved) makes way for a new one
            actor, new = await self.registry.open_placed(
                room.id, lambda cid: self._conference(cid, room)
            )
            if new and window is not None:
                actor.spawn(self._window_timer(actor, window))
            try:
                return pid, await actor.send(command)
            except DomainError as exc:
                reason = actor.conference.end_reason
                if exc.code != "conference.ended" or reason not in ("empty", MOVED):
                    raise
        raise DomainError("conference.busy", "the conference is restarting; try again")

    @staticmethod
    def _conference(conference_id: str, room: Room) -> Conference:
        """A call room's conference holds its two and ends when one hangs up (F-WB3)."""
        return Conference(
            conference_id,
            room.id,
            capacity=CALL_CAPACITY if room.is_call else room.capacity,
            locked=room.locked,
            allow_self_unmute=room.allow_self_unmute,
            mute_on_entry=room.mute_on_entry,
            ends_when_one_leaves=room.is_call,
        )

    async def _window_timer(self, actor: ConferenceActor, window: Reservation) -> None:
        """Warn 5 minutes before the window closes, then close it (F-RS4).

        The reservation is read again at least every ``WINDOW_RECHECK``, so an end moved
        while the conference runs (F-RS7) moves the warning and the close with it.
        """
        now = self._clock.now()
        # Joined inside the last minutes: no warning for an end that was already near.
        warned_for = window.end if now >= window.end - CLOSING_WARNING else None
        while actor.running:
            now = self._clock.now()
            if now >= window.end:
                with contextlib.suppress(DomainError):  # ended meanwhile
                    await actor.send(c.CloseWindow(by_role=Role.MODERATOR))
                return
            warn_at = window.end - CLOSING_WARNING
            if now >= warn_at and warned_for != window.end:
                warned_for = window.end
                await self._bus.publish(
                    WindowClosing(
                        room_id=actor.room_id,
                        conference_id=actor.conference.id,
                        audience=actor.conference.participant_ids(),
                        ends_at=window.end.isoformat(),
                    )
                )
            wake = window.end if now >= warn_at else warn_at
            await self._clock.sleep_until(min(wake, now + WINDOW_RECHECK))
            window = await self._reservations.reload(window)

    async def command(self, room: Room, command: c.Command) -> list[Event]:
        actor = self.registry.get(room.id)
        if actor is not None:
            events = await actor.send(command)
            if any(isinstance(e, ConferenceEnded) for e in events):
                await self._bus.drain(room.id)  # stored before the next conference reads it
            return events
        await self._not_elsewhere(room)
        events = apply_offline(room.id, room.locked, command)
        self._bus.emit(events)
        await self._bus.drain(room.id)
        return events

    async def _not_elsewhere(self, room: Room) -> None:
        """A room another node runs is not offline: its commands go there (issue 16)."""
        placement = self.registry.placement
        owner = await placement.owner(room.id)
        if owner is not None and owner.node_id != placement.this_node.node_id:
            raise elsewhere(owner)

    async def settled(self, room: Room) -> None:
        """Returns once the room's events so far are stored (read-your-writes)."""
        await self._bus.drain(room.id)

    async def invite_failed(self, room_id: str, number: str, by: str | None, reason: str) -> None:
        """A dial-out did not reach ``number``: tell the participant who asked, if still
        in the conference (an API call without a participant has nobody to tell)."""
        actor = self.registry.get(room_id)
        if by is None or actor is None or actor.conference.participant(by) is None:
            return
        await self._bus.publish(
            InviteFailed(
                room_id=room_id,
                conference_id=actor.conference.id,
                audience=frozenset({by}),
                number=number,
                reason=reason,
                by=by,
            )
        )

    async def end_if_running(self, room: Room) -> None:
        """Before a room is deleted, everyone in it is told and let go."""
        actor = self.registry.get(room.id)
        if actor is not None:
            with contextlib.suppress(DomainError):
                await actor.send(c.EndForAll(by_role=Role.MODERATOR))
        await self._bus.drain(room.id)  # the log is written before its room goes

    async def meetings(self, room_ids: Collection[str]) -> dict[str, MeetingSummary]:
        """The meetings running in these rooms, on this node or another (app/running.py)."""
        return await self._running.of(room_ids)

    def snapshot(self, room: Room) -> dict[str, Any]:
        actor = self.registry.get(room.id)
        if actor is None:
            return {"running": False, "locked": room.locked, "participants": [], "lobby": []}
        return {"running": True, **actor.snapshot().to_dict()}

    def participant(self, room_id: str, participant_id: str) -> ParticipantSnapshot | None:
        """A participant of the running conference, as the actor last left it (frozen)."""
        actor = self.registry.get(room_id)
        if actor is None:
            return None
        return actor.conference.participant(participant_id)

    def present(
        self, room: Room, participant_id: str
    ) -> ParticipantSnapshot | LobbySnapshot | None:
        """Someone in the running conference or its lobby, as the actor last left it."""
        actor = self.registry.get(room.id)
        if actor is None:
            return None
        snap = actor.conference
        return snap.participant(participant_id) or snap.knocker(participant_id)

    def participant_account(self, room: Room, participant_id: str) -> str | None:
        found = self.present(room, participant_id)
        return found.account_id if found is not None else None
