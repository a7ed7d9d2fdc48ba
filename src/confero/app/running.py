"""Which rooms have a meeting running, and who is in it, seen from any node (issue 16,
F-SC2; the port: ``publish`` and ``meetings`` of app/placement.py).

In a cluster each node's registry knows only the conferences it runs, so the host's
panel, served by whichever node the load balancer picked, listed a meeting on another
node as not running. Now the owner publishes a ``MeetingSummary`` of each meeting it runs
and the others read those, one round trip for a whole room list.

Writes stay cheap: only the events that change a summary (joins, leaves, knocks, the
lock, the start) wake the publisher; one publish per room is pending at a time (a burst
of joins is one write of the state after it) and an unchanged summary is not written
again. The publisher is a fast subscriber with its own task (confero/bus/local.py), never
the actor's: the actor still never awaits I/O. The end of a conference needs no write:
giving the lease up drops its summary. A publish that fails is retried on the next
change; meanwhile the other nodes show the meeting as it was, or, once the lease's time
to live has passed without a heartbeat, not at all.

One process (``LocalPlacement``): nothing is published; the registry answers as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Collection

from confero.app.actor import ConferenceRegistry
from confero.app.placement import MeetingSummary
from confero.app.ports import EventBus
from confero.domain import events as ev
from confero.domain.errors import DomainError

log = logging.getLogger(__name__)

#: The events after which a running meeting's summary may read differently.
CHANGES = (
    ev.ConferenceStarted,
    ev.ParticipantJoined,
    ev.ParticipantLeft,
    ev.Knocked,
    ev.LobbyLeft,
    ev.LockChanged,
    ev.ConferenceEnded,
)


class RunningMeetings:
    def __init__(self, registry: ConferenceRegistry, bus: EventBus) -> None:
        self._registry = registry
        #: Room id -> the summary last published for it (rooms running here only).
        self._published: dict[str, MeetingSummary] = {}
        #: Rooms with a publish pending in the bus's mailbox.
        self._pending: set[str] = set()
        bus.subscribe(self._observe)

    async def of(self, room_ids: Collection[str]) -> dict[str, MeetingSummary]:
        """The meetings running in these rooms, by room id: this node's from its registry
        (everyone listed), the others' as their owners published them."""
        found: dict[str, MeetingSummary] = {}
        elsewhere: list[str] = []
        for room_id in room_ids:
            actor = self._registry.get(room_id)
            if actor is not None:
                found[room_id] = MeetingSummary.of(actor.snapshot(), listed=None)
            else:
                elsewhere.append(room_id)
        if elsewhere:
            found.update(await self._registry.placement.meetings(elsewhere))
        return found

    def _observe(self, event: ev.Event) -> Awaitable[None] | None:
        if not isinstance(event, CHANGES) or event.room_id in self._pending:
            return None
        self._pending.add(event.room_id)
        return self._publish(event.room_id)

    async def _publish(self, room_id: str) -> None:
        """Publish the room's meeting as it is now, if that differs from the last one."""
        self._pending.discard(room_id)  # a change from here on publishes again
        actor = self._registry.get(room_id)
        if actor is None:  # ended (its lease, given up, takes the summary along)
            self._published.pop(room_id, None)
            return
        summary = MeetingSummary.of(actor.snapshot())
        if self._published.get(room_id) == summary:
            return
        self._published[room_id] = summary
        try:
            await self._registry.placement.publish(room_id, summary)
        except DomainError as exc:  # the store is out of reach: the next change retries
            log.warning("running meetings: room %s not published: %s", room_id, exc.detail)
            if self._published.get(room_id) is summary:
                del self._published[room_id]
