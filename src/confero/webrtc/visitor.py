"""Who is on the other end of a browser socket: a visitor of the room page, and, once
joined, a participant of the conference (which outlives one socket: F-EN7).

Issue 14 (leaks): a guest (a socket without an account that has a role in the room)
never receives account ids: ``push`` strips every ``account_id`` from the events and the
welcome it queues for such a socket, in one place, so no new event can leak them."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from confero.app.session import ParticipantSession, Sessions
from confero.domain.accounts import Account
from confero.domain.errors import DomainError
from confero.domain.events import Event
from confero.domain.rooms import Room
from confero.media.mixer import MixLeg
from confero.webrtc.session import BrowserMedia

#: Messages waiting for a slow socket before it is cut off (it would only fall behind).
#: One ``mute_all`` in a room at the largest capacity (1,000) queues 1,001 events on every
#: socket at once; 500 cut every page of such a room off (issue 17, bench.ws_fanout). The
#: events are one string shared by all the room's sockets (``BrowserGateway._event``), so
#: the bound holds references, not copies.
MAX_OUTBOX = 2_500
#: Chat flood guard per socket: at most this many messages per window (seconds).
CHAT_BURST = 10
CHAT_WINDOW = 10.0


class Connection(Protocol):
    """A WebSocket as the gateway needs it (the web layer adapts Starlette's)."""

    async def send_text(self, text: str) -> None: ...
    async def receive_text(self) -> str: ...
    async def close(self, code: int = 1000) -> None: ...


#: Messages that may name accounts (participant views, chat authors): see ``push``.
_CARRY_ACCOUNTS = frozenset({"event", "welcome"})


def without_accounts(value: Any) -> Any:
    """``value`` with every ``account_id`` key left out, at any depth (issue 14)."""
    if isinstance(value, dict):
        return {k: without_accounts(v) for k, v in value.items() if k != "account_id"}
    if isinstance(value, list | tuple):
        return [without_accounts(v) for v in value]
    return value


@dataclass(eq=False)
class Participant:
    """The browser's side of a participant session (confero/app/session.py): the page
    it is on now, and its media."""

    session: ParticipantSession[Participant]
    visitor: Visitor | None = None
    entered: bool = False
    media: BrowserMedia | None = None
    mix: MixLeg | None = None
    publishing: dict[str, str] = field(default_factory=dict)  #: slot -> stream id

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def room(self) -> Room:
        return self.session.room

    @property
    def name(self) -> str:
        return self.session.name


@dataclass(eq=False)
class Visitor:
    room: Room
    account: Account | None
    conn: Connection
    #: The peer's IP address ("" where unknown): guests' chat limit (issue 14).
    address: str = ""
    lang: str | None = None
    participant: Participant | None = None
    #: What the writer sends: a message, or one already serialized (``push_text``).
    outbox: asyncio.Queue[dict[str, Any] | str | None] = field(
        default_factory=lambda: asyncio.Queue(MAX_OUTBOX)
    )
    closed: bool = False
    #: The close code the writer sends once ``closed`` (issue 14: room gone, removed).
    close_code: int = 1000
    chat_sent: deque[float] = field(default_factory=deque)

    def check_chat_rate(self, now: float) -> None:
        while self.chat_sent and self.chat_sent[0] <= now - CHAT_WINDOW:
            self.chat_sent.popleft()
        if len(self.chat_sent) >= CHAT_BURST:
            retry = int(self.chat_sent[0] + CHAT_WINDOW - now) + 1
            raise DomainError(
                "chat.rate_limited", "too many messages; wait a moment", retry_after=retry
            )
        self.chat_sent.append(now)

    def push(self, message: dict[str, Any]) -> None:
        """Queue a message; never blocks the conference's actor on a slow socket."""
        if self.closed:
            return
        if message.get("type") in _CARRY_ACCOUNTS and not self.sees_accounts:
            message = without_accounts(message)
        self._queue(message)

    def push_text(self, text: str) -> None:
        """Queue a message serialized once for many sockets (``BrowserGateway._event``:
        the caller has already left out the account ids for a socket that may not see
        them). Never blocks, like ``push``."""
        if not self.closed:
            self._queue(text)

    def _queue(self, message: dict[str, Any] | str) -> None:
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            self.closed = True  # the writer sees None and closes the socket
            with contextlib.suppress(asyncio.QueueEmpty):
                self.outbox.get_nowait()
            self.outbox.put_nowait(None)

    @property
    def sees_accounts(self) -> bool:
        """Only the room's owner and members see who is behind a participant (issue 14)."""
        return self.account is not None and self.room.role_for_account(self.account.id) is not None

    @property
    def reads_content(self) -> bool:
        """A reader of the room's content (web/content_access.py): an account with a
        role in the room, or a participant in its meeting (not a knocker)."""
        if self.account is not None and self.room.role_for_account(self.account.id) is not None:
            return True
        return self.participant is not None and self.participant.entered

    @property
    def participant_id(self) -> str | None:
        return self.participant.id if self.participant is not None else None


def addressed(
    event: Event, room_visitors: set[Visitor], sessions: Sessions[Participant]
) -> Iterable[Visitor]:
    """The sockets to look at for an event told to some (``event.audience``): the room's,
    or, when they are few (a mute-all's own ``mute_changed``), theirs, found through their
    sessions: a walk over 1,000 sockets per event of a mute-all was a million steps."""
    if len(event.audience) * 4 >= len(room_visitors):
        return room_visitors
    found = []
    for pid in event.audience:
        session = sessions.get(pid)
        v = session.link.visitor if session is not None and session.link else None
        if v is not None and v in room_visitors:
            found.append(v)
    return found
