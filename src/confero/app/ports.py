"""Ports: what the app needs from the outside, as Protocols the adapters implement.

The store's repositories work inside a unit of work: everything done through one
``UnitOfWork`` is committed together or not at all, so an error leaves no half-written
rows (house rule 7).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol

from confero.app.recorder_port import RecordingRepository
from confero.domain.accounts import Account
from confero.domain.boards import Board, BoardInfo, Item
from confero.domain.content import ActivityEntry, ChatMessage
from confero.domain.events import Event
from confero.domain.files import SharedFile
from confero.domain.notices import Invitation, Notice, OutboxSms, State
from confero.domain.people import MissedCall
from confero.domain.reservations import Reservation
from confero.domain.rooms import Room


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...

    async def sleep_until(self, when: datetime) -> None: ...


#: A fast, in-memory reaction (a socket queue, a phone call's mailbox, a task to spawn).
#: A plain function is called at once; an ``async`` one is queued for its own task.
#: Either way it must not await I/O: the bus never waits for it.
EventHandler = Callable[[Event], Awaitable[None] | None]
#: A consumer that writes somewhere (the activity log, the room-state projection).
DurableHandler = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    """The conference actor's outbox (house rule 2); semantics in ``confero.bus.local``."""

    def emit(self, events: Iterable[Event]) -> None:
        """Append events in order; never waits (the actor's way to publish)."""
        ...

    async def publish(self, event: Event) -> None:
        """``emit`` for code outside an actor; does not wait for durable consumers."""
        ...

    def subscribe(self, handler: EventHandler) -> Callable[[], None]:
        """Hand ``handler`` every event, fast; returns the function that unsubscribes."""
        ...

    def subscribe_durable(self, name: str, handler: DurableHandler) -> Callable[[], None]:
        """Hand ``handler`` every event of every room, in each room's order, at least
        once, from a task of the bus; returns the function that unsubscribes."""
        ...

    async def drain(self, room_id: str | None = None) -> None:
        """Returns once the durable consumers have handled every event appended so far
        (of ``room_id``, or of every room)."""
        ...


class DeliveryError(Exception):
    """A mail or SMS could not be handed over. ``permanent`` errors (a refused
    recipient) are not retried; the others (server down, timeout) are, with backoff.
    ``code`` is the stable reason the panel translates (``confero.domain.notices``);
    without it the worker says ``delivery.refused`` or ``delivery.unavailable``."""

    def __init__(self, detail: str, *, permanent: bool = False, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent
        self.code = code


class Mailer(Protocol):
    """Sends one invitation mail (text, HTML and an ``.ics``) to one address."""

    async def send(self, to: str, invitation: Invitation) -> None:
        """Raises ``DeliveryError``; returns once the SMTP server accepted the mail."""
        ...


class SmsGateway(Protocol):
    """Sends one SMS text to one mobile number (sender name from the settings)."""

    async def send(self, to: str, text: str) -> None:
        """Raises ``DeliveryError``; returns once the gateway accepted the message."""
        ...


class AccountRepository(Protocol):
    async def add(self, account: Account) -> None: ...
    async def get(self, account_id: str) -> Account | None: ...
    async def by_email(self, email: str) -> Account | None: ...
    async def get_many(self, account_ids: Iterable[str]) -> Sequence[Account]:
        """Those of the ids that exist, disabled ones included."""
        ...

    async def search(self, folded_query: str, limit: int) -> Sequence[Account]:
        """Enabled accounts whose name or email contains ``folded_query`` (already in
        lower case, any letter), by name (the directory, F-WB3)."""
        ...

    async def count(self) -> int: ...
    async def update(self, account: Account) -> None: ...
    async def list_all(self) -> Sequence[Account]:
        """Every account, by email."""
        ...

    async def lock(self, account_id: str) -> None:
        """Serialise writers that check per-account limits (SELECT ... FOR UPDATE)."""
        ...


class TokenRepository(Protocol):
    async def add(
        self,
        token_hash: str,
        account_id: str,
        kind: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None: ...
    async def get(self, token_hash: str) -> tuple[str, datetime] | None:
        """(account id, expiry) of a stored token."""
        ...

    async def signed_in(self, token_hash: str) -> tuple[Account, datetime] | None:
        """The token's account and the token's expiry, in one indexed query."""
        ...

    async def delete(self, token_hash: str) -> None: ...
    async def delete_for_account(self, account_id: str, except_hash: str | None = None) -> None:
        """Sign the account out everywhere (but for the session ``except_hash``)."""
        ...


class RoomRepository(Protocol):
    async def add(self, room: Room) -> None: ...
    async def get(self, room_id: str) -> Room | None: ...
    async def by_number(self, conference_number: str) -> Room | None:
        """The ordinary room with this number: call rooms are unreachable by phone."""
        ...

    async def number_taken(self, conference_number: str) -> bool:
        """Any room, call rooms included, holds this number."""
        ...

    async def by_invite_token(self, token: str) -> Room | None: ...
    async def list_for_account(self, account_id: str) -> Sequence[Room]:
        """Ordinary rooms the account owns or is a member of (call rooms are never listed)."""
        ...

    async def update(self, room: Room) -> None: ...
    async def delete(self, room_id: str) -> None:
        """Deletes the room with its reservations, members, chat and activity."""
        ...


class ReservationRepository(Protocol):
    async def add(self, reservation: Reservation) -> None: ...
    async def get(self, reservation_id: str) -> Reservation | None: ...
    async def list_for_account(self, account_id: str) -> Sequence[Reservation]: ...
    async def list_for_room(self, room_id: str) -> Sequence[Reservation]: ...
    async def update(self, reservation: Reservation) -> None: ...
    async def delete(self, reservation_id: str) -> None: ...


class ChatRepository(Protocol):
    async def add(self, message: ChatMessage) -> ChatMessage:
        """Returns the message with its ``id`` assigned."""
        ...

    async def list(
        self, room_id: str, *, before: int | None = None, limit: int = 50
    ) -> Sequence[ChatMessage]:
        """Newest first, ids below ``before``."""
        ...

    async def delete_for_room(self, room_id: str) -> None: ...


class ActivityRepository(Protocol):
    async def add(self, entry: ActivityEntry) -> ActivityEntry: ...
    async def list(
        self, room_id: str, *, before: int | None = None, limit: int = 50
    ) -> Sequence[ActivityEntry]: ...
    async def delete_for_room(self, room_id: str) -> None: ...


class BlobStore(Protocol):
    """Where the bytes of files and recordings live (store/blobs.py ``DirectoryBlobs``):
    one port for uploads, recordings and Reset."""

    async def write(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> tuple[str, int]: ...
    async def write_file(self, source: Path) -> tuple[str, int]: ...
    def path(self, key: str) -> Path: ...
    async def delete(self, keys: Iterable[str]) -> None: ...


class RoomContentRepository(Protocol):
    """All of a room's content at once, for Reset (store/content.py)."""

    async def delete_for_room(self, room_id: str) -> list[str]:
        """Deletes chat, activity, boards, files and recordings; the blob keys they held."""
        ...

    async def unreferenced(self, keys: Iterable[str]) -> set[str]: ...


class FileRepository(Protocol):
    """A room's shared files (store/files.py); the bytes are in the blob store."""

    async def add(self, f: SharedFile) -> None: ...
    async def get(self, room_id: str, file_id: str) -> SharedFile | None: ...
    async def list(self, room_id: str) -> Sequence[SharedFile]:
        """Newest first."""
        ...

    async def delete(self, room_id: str, file_id: str) -> None: ...


class BoardRepository(Protocol):
    """A room's whiteboards (store/boards.py): rows per board and per item."""

    async def add(self, board: BoardInfo) -> None: ...
    async def list(self, room_id: str) -> Sequence[BoardInfo]: ...
    async def get(self, board_id: str) -> BoardInfo | None: ...
    async def load(self, board_id: str) -> tuple[Board, dict[str, int]] | None:
        """The board with its items in drawing order, and each item's order key."""
        ...

    async def rename(self, board_id: str, name: str) -> bool: ...
    async def delete(self, board_id: str) -> bool: ...
    async def save(
        self,
        board_id: str,
        seq: int,
        *,
        put: Iterable[tuple[Item, int]] = (),
        removed: Iterable[str] = (),
        clear: bool = False,
    ) -> bool:
        """One applied operation; False (nothing written) when the board is gone."""
        ...


class NoticeRepository(Protocol):
    """Durable notice jobs (F-RS5, F-RS6): planned with the booking, claimed by a worker."""

    async def add(self, notice: Notice) -> None: ...
    async def get(self, notice_id: str) -> Notice | None: ...
    async def for_reservation(self, reservation_id: str) -> Sequence[Notice]:
        """Oldest due first."""
        ...

    async def cancel(self, notice_ids: Sequence[str], now: datetime) -> None:
        """Those still pending become cancelled."""
        ...

    async def sms_left(self, account_id: str) -> int:
        """The account's SMS allowance minus what it used, as stored now."""
        ...

    async def pending_sms(self, account_id: str) -> int:
        """SMS notices of the account still waiting to be sent."""
        ...

    async def queued(self) -> int:
        """Notices still waiting to be sent, due or not (the metrics' queue, issue 18)."""
        ...

    async def next_due(self, now: datetime) -> datetime | None:
        """When the earliest pending notice may be tried: its due time, or when the
        lease of the worker holding it runs out."""
        ...

    async def claim(self, now: datetime, until: datetime, limit: int) -> Sequence[Notice]:
        """Pending notices due at ``now`` that no other worker holds, now held until
        ``until``. Commit right after: then no other worker can claim them."""
        ...

    async def release(self, notice_ids: Sequence[str]) -> None:
        """Claimed notices handed back untried (a worker that stops)."""
        ...

    async def take_sms_credit(self, account_id: str) -> bool:
        """One SMS off the allowance, atomically; False if none is left."""
        ...

    async def refund_sms_credit(self, account_id: str) -> None: ...
    async def mark_sent(self, notice_id: str, now: datetime) -> None: ...
    async def mark_retry(
        self, notice_id: str, attempts: int, next_try_at: datetime, error: str
    ) -> None: ...
    async def mark_done(
        self, notice_id: str, state: State, error: str | None, attempts: int | None = None
    ) -> None:
        """Ends a claimed notice unsent: failed, skipped or cancelled."""
        ...


class SmsOutboxRepository(Protocol):
    async def add(self, to: str, sender: str, text: str, created_at: datetime) -> None: ...
    async def list(self, limit: int = 200) -> Sequence[OutboxSms]:
        """Newest first."""
        ...


class ContactRepository(Protocol):
    """Added contacts (F-WB3); room co-members are read from the rooms."""

    async def add(self, owner_id: str, contact_id: str, created_at: datetime) -> bool:
        """False when it was there already."""
        ...

    async def remove(self, owner_id: str, contact_id: str) -> bool:
        """False when there was nothing to remove."""
        ...

    async def added(self, owner_id: str) -> Sequence[str]:
        """The ids ``owner_id`` added."""
        ...

    async def added_by(self, contact_id: str) -> Sequence[str]:
        """The ids of the accounts that added ``contact_id``."""
        ...

    async def room_peers(self, account_id: str) -> Sequence[str]:
        """Owners and members of the ordinary rooms the account owns or belongs to,
        without the account itself."""
        ...


class MissedCallRepository(Protocol):
    """Calls and gathers that found the account offline (F-WB3, F-WB4)."""

    async def add(self, missed: MissedCall) -> None: ...
    async def list(self, account_id: str, limit: int = 50) -> Sequence[MissedCall]:
        """Newest first."""
        ...

    async def dismiss(self, account_id: str, missed_id: str | None) -> int:
        """Deletes one of the account's (or all of them, ``None``); how many went."""
        ...

    async def trim(self, account_id: str, keep: int) -> None:
        """Keeps only the newest ``keep``."""
        ...


class UnitOfWork(Protocol):
    accounts: AccountRepository
    tokens: TokenRepository
    rooms: RoomRepository
    reservations: ReservationRepository
    chat: ChatRepository
    activity: ActivityRepository
    notices: NoticeRepository
    sms_outbox: SmsOutboxRepository
    contacts: ContactRepository
    missed_calls: MissedCallRepository
    files: FileRepository
    boards: BoardRepository
    content: RoomContentRepository
    recordings: RecordingRepository

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Rolls back whatever was not committed."""
        ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class MediaQuality(Protocol):
    """How a participant's audio fares on the wire, for the API's participant list
    (issue 13: the RTCP figures of a phone leg, F-PH1). The phone side implements it;
    the app and the web layer never see RTP."""

    def quality_of(self, participant_id: str) -> dict[str, object] | None:
        """``codec``, ``loss_percent``, ``jitter_ms``, ``rtt_ms``, ``packets_received``,
        ``packets_lost`` (and what the far end reports about our stream) for one of the
        participants it carries; None for anyone else. Figures not known yet are None.
        Fast and in memory: it is called per participant while answering a request."""
        ...


class MediaClock(Protocol):
    """How well the media tick keeps time (issue 14: the soak's "never late by more
    than 20 ms"): counters since the start, read as differences over a window."""

    ticks: int
    late: int
    late_20ms: int
    #: the late > 20 ms ticks by likeliest cause (media/lateness.py)
    late_waited: int
    late_own_work: int
    late_other: int
    max_late: float


def clock_counters(clock: MediaClock) -> dict[str, int]:
    """A clock's counters as ``/api/health`` shows them, one clock or each of a node's."""
    return {
        "ticks": clock.ticks,
        "late_5ms": clock.late,
        "late_20ms": clock.late_20ms,
        "late_20ms_waited": clock.late_waited,
        "late_20ms_own_work": clock.late_own_work,
        "late_20ms_other": clock.late_other,
    }
