"""Ports: what the app needs from the outside, as Protocols the adapters implement.

The store's repositories work inside a unit of work: everything done through one
``UnitOfWork`` is committed together or not at all, so an error leaves no half-written
rows (house rule 7).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol

from confero.domain.accounts import Account
from confero.domain.content import ActivityEntry, ChatMessage
from confero.domain.events import Event
from confero.domain.notices import Invitation
from confero.domain.reservations import Reservation
from confero.domain.rooms import Room


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...

    async def sleep_until(self, when: datetime) -> None: ...


EventHandler = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...

    def subscribe(self, handler: EventHandler) -> Callable[[], None]:
        """Call ``handler`` for every event; returns the function that unsubscribes."""
        ...


class DeliveryError(Exception):
    """A mail or SMS could not be handed over. ``permanent`` errors (a refused
    recipient) are not retried; the others (server down, timeout) are, with backoff."""

    def __init__(self, detail: str, *, permanent: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent


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
    async def count(self) -> int: ...
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

    async def delete(self, token_hash: str) -> None: ...


class RoomRepository(Protocol):
    async def add(self, room: Room) -> None: ...
    async def get(self, room_id: str) -> Room | None: ...
    async def by_number(self, conference_number: str) -> Room | None: ...
    async def by_invite_token(self, token: str) -> Room | None: ...
    async def list_for_account(self, account_id: str) -> Sequence[Room]:
        """Rooms the account owns or is a member of."""
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


class UnitOfWork(Protocol):
    accounts: AccountRepository
    tokens: TokenRepository
    rooms: RoomRepository
    reservations: ReservationRepository
    chat: ChatRepository
    activity: ActivityRepository

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
