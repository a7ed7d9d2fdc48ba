"""The app's services wired together; built by the composition root (confero.server)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from confero.app.accounts import AccountService
from confero.app.activity import ActivityLog
from confero.app.actor import ConferenceRegistry
from confero.app.boards import BoardService
from confero.app.caller_names import CallerNames
from confero.app.conferences import ConferenceService
from confero.app.contacts import ContactService
from confero.app.counters import CounterStore
from confero.app.files import FileService
from confero.app.notices import INVITE_LIMIT, INVITE_WINDOW, NoticeService
from confero.app.people import CALL_LIMIT, PeopleService
from confero.app.placement import Placement
from confero.app.ports import (
    BlobStore,
    Clock,
    EventBus,
    MediaClock,
    MediaQuality,
    UnitOfWorkFactory,
)
from confero.app.presence_port import PeopleFanout, PresenceStore
from confero.app.ratelimit import Backoff, RateLimiter
from confero.app.recordings import RecordingService
from confero.app.reservations import ReservationService
from confero.app.room_state import RoomStateProjection
from confero.app.rooms import RoomPolicy, RoomService
from confero.app.session import ResumeTokens


@dataclass
class Services:
    clock: Clock
    bus: EventBus
    uow: UnitOfWorkFactory
    limiter: RateLimiter
    accounts: AccountService
    rooms: RoomService
    reservations: ReservationService
    registry: ConferenceRegistry
    conferences: ConferenceService
    #: The bus's durable consumers, in this order (confero/bus/local.py).
    activity: ActivityLog
    room_state: RoomStateProjection
    #: Plans and reads notices (mail, SMS); the worker that sends them is started by
    #: the composition root and stopped with ``close`` (F-RS5, F-RS6).
    notices: NoticeService
    #: Contacts and room members (F-WB3, F-WB4), and presence and calls over the
    #: people socket; the composition root starts ``people`` and closes it with us.
    contacts: ContactService
    people: PeopleService
    #: Shared files (issue 12): rows plus bytes in the blob store.
    files: FileService
    #: Whiteboards (issue 12): live boards per room, stored op by op.
    boards: BoardService
    #: Recordings (issue 12): follows the conferences' recording state; the node
    #: attaches its recorder; ``close`` stores what still records.
    recordings: RecordingService
    base_url: str
    #: The shared dial-in number (CONFERO_ACCESS_NUMBER) pages and mails show; may be "".
    access_number: str = ""
    #: SMS are kept in the database outbox (no CONFERO_SMS_URL), not sent: the panel's
    #: SMS outbox page says which (F-RS6); set by the composition root.
    sms_outbox: bool = True
    #: Call quality of phone legs for the participant list (issue 13); set by the
    #: composition root when the node takes phone calls.
    media_quality: MediaQuality | None = None
    #: The media engine's tick counters, for the health route (issue 14's soak).
    media_clock: MediaClock | None = None
    #: Readiness (issue 18, ``/api/health/ready``): name -> whether that part works now;
    #: the composition root registers the database, the SIP listener and the media tick.
    ready_checks: dict[str, Callable[[], Awaitable[bool]]] = field(default_factory=dict)
    #: Where browser pages' resume tokens live (issue 16): Redis on a cluster node, so a
    #: rejoin on any node is the same participant; None: the gateway's own memory.
    resume_tokens: ResumeTokens | None = None
    #: Where a relayed caller's recorded name goes for the room's owner (issue 16):
    #: Redis on a cluster node; None: one process, no call is passed on.
    caller_names: CallerNames | None = None
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(closer)

    async def close(self) -> None:
        await self.registry.shutdown()
        await self.recordings.close()  # stored while the database is still there
        await self.bus.drain()  # what the conferences did is stored before the database goes
        self.activity.close()
        self.boards.close()
        self.room_state.close()
        for closer in reversed(self._closers):
            await closer()


def build_services(
    uow: UnitOfWorkFactory,
    bus: EventBus,
    clock: Clock,
    *,
    policy: RoomPolicy,
    base_url: str,
    limiter: RateLimiter | None = None,
    access_number: str = "",
    presence: PresenceStore,
    fanout: PeopleFanout | None = None,
    presence_ping: float = 10.0,
    presence_timeout: float = 25.0,
    ring_timeout: float = 30.0,
    mail_enabled: bool = False,
    blobs: BlobStore,
    max_upload_mb: int = 50,
    upload_types: str = "",
    recording_blobs: BlobStore,
    placement: Placement | None = None,
    counters: CounterStore | None = None,
) -> Services:
    """``counters``: where every rate limit and guessing guard counts (issue 16: Redis on
    a cluster node, so limits hold across nodes); None: each in this process's memory."""
    limiter = limiter or RateLimiter(store=counters)
    rooms = RoomService(uow, clock, bus, policy, limiter, counters)
    notices = NoticeService(
        uow,
        clock,
        base_url=base_url,
        access_number=access_number,
        limiter=RateLimiter(INVITE_LIMIT, INVITE_WINDOW, store=counters),
    )
    reservations = ReservationService(uow, clock, rooms, notices)
    registry = ConferenceRegistry(bus, placement)  # None: this node owns every room
    accounts = AccountService(uow, clock, limiter, Backoff(store=counters))
    conferences = ConferenceService(registry, rooms, reservations, bus, clock)
    contacts = ContactService(uow, clock)
    people = PeopleService(
        contacts,
        rooms,
        conferences,
        notices,
        bus,
        presence,
        RateLimiter(CALL_LIMIT, store=counters),  # its own counters: call:<account id>
        accounts=accounts,
        clock=clock,
        ping=presence_ping,
        timeout=presence_timeout,
        ring_timeout=ring_timeout,
        mail_enabled=mail_enabled,
        fanout=fanout,
    )
    return Services(
        clock=clock,
        bus=bus,
        uow=uow,
        limiter=limiter,
        accounts=accounts,
        rooms=rooms,
        reservations=reservations,
        registry=registry,
        conferences=conferences,
        activity=ActivityLog(bus, rooms, clock),
        room_state=RoomStateProjection(bus, rooms),
        notices=notices,
        contacts=contacts,
        people=people,
        boards=BoardService(uow, bus, clock),
        recordings=RecordingService(uow, bus, clock, recording_blobs, registry),
        files=FileService(
            uow, bus, clock, blobs, max_upload_mb=max_upload_mb, upload_types=upload_types
        ),
        base_url=base_url,
        access_number=access_number,
    )
