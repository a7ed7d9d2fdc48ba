"""The ports behind which presence and ringing calls live (issue 11 Deliver 4, issue 16).

``PresenceStore`` keeps everything the people service knows between two messages: the
open pages of every account with their last ping, who is in which running conference
(busy), and the calls that ring or run. The one-process profile keeps it in memory
(``confero.bus.presence.MemoryPresence``); a cluster keeps the same records in Redis
(``confero.bus.redis_presence.RedisPresence``), so a person whose pages are on one node
and whose meeting runs on another is busy on every node, and a call rung on one node is
answered on another. Nothing here holds a live object: a page's ``send`` callback stays
with the node that owns its socket (app/people.py), and ``PeopleFanout`` carries what
must reach pages on other nodes.

Every method is a coroutine: in a cluster each is one Redis round trip (one script where
it must be atomic). Times are wall-clock seconds (``time.time()``): pages on several
machines are compared, so the event loop's clock of one process will not do; they time
liveness (pings, ringing), not domain rules.

A call changes state with ``swap_call``: compare-and-set on the state it was read in, so
two pages (on two nodes) answering one call at once cannot both win; ``due_calls``
claims what it returns (its time is cleared), so two nodes' sweepers never ring one call
out twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from confero.domain.calls import Call, CallState


@dataclass(frozen=True)
class PageRecord:
    """One open page (one people socket) of a signed-in account."""

    id: str
    account_id: str
    #: The session token the socket came with: signing out drops its pages.
    token: str
    last_ping: float


@dataclass(frozen=True)
class Activity:
    """What presence is made of, for one account (domain/people.py decides)."""

    busy: bool
    online: bool


class PresenceStore(Protocol):
    # ------------------------------------------------------------------ pages
    async def add_page(self, page: PageRecord) -> None: ...
    async def touch_page(self, page_id: str, now: float) -> bool:
        """A ping: the page's ``last_ping`` is ``now``; False if the page is gone."""
        ...

    async def remove_page(self, page_id: str) -> PageRecord | None:
        """Forget the page; the record, or None when it was gone already (so of two
        nodes dropping one page, one gets the record)."""
        ...

    async def pages_of(self, account_id: str) -> Sequence[PageRecord]: ...
    async def stale_pages(self, before: float) -> Sequence[PageRecord]:
        """Pages whose last ping is older than ``before``."""
        ...

    # -------------------------------------------------------------- meetings
    async def enter_meeting(self, participant_id: str, account_id: str, room_id: str) -> None:
        """An account's participant is in a running conference (busy)."""
        ...

    async def leave_meeting(self, participant_id: str) -> str | None:
        """The participant is out; its account id, None when it was not known."""
        ...

    async def end_meeting(self, room_id: str) -> set[str]:
        """The room's conference is over; the accounts that were in it."""
        ...

    async def in_room(self, account_id: str, room_id: str) -> bool: ...
    async def activity(self, account_ids: Sequence[str]) -> dict[str, Activity]:
        """Busy and online, for each account asked about (one round trip for a list)."""
        ...

    # ----------------------------------------------------------------- calls
    async def put_call(self, call: Call, until: float | None) -> None:
        """Add or replace the call; ``until``: when the sweeper must act on it (ring out
        a ringing call, drop an accepted call nobody joined), None: never."""
        ...

    async def swap_call(self, call: Call, until: float | None, expect: CallState) -> bool:
        """``put_call`` only while the stored call is in state ``expect``; False (and
        nothing changed) when it is not, or gone."""
        ...

    async def get_call(self, call_id: str) -> Call | None: ...
    async def drop_call(self, call_id: str) -> None: ...
    async def calls_of(self, account_id: str) -> Sequence[Call]:
        """Calls the account makes or gets, oldest first."""
        ...

    async def call_in_room(self, room_id: str) -> Call | None:
        """The accepted call whose call room this is."""
        ...

    async def due_calls(self, now: float) -> Sequence[Call]:
        """Calls whose ``until`` has passed, claimed: their ``until`` is cleared, so
        the sweeper that got them is the only one acting on them."""
        ...


@dataclass(frozen=True)
class Fanned:
    """What one node asks the others to do for pages it does not hold.

    ``kind``: ``push`` (``message`` to the pages of the accounts ``to``, but page
    ``but``), ``contacts`` / ``missed`` (``account_id``'s pages read their list again),
    ``sign_out`` (the pages of the session whose token digest is ``token`` close)."""

    kind: str
    to: tuple[str, ...] = ()
    account_id: str = ""
    message: dict[str, Any] = field(default_factory=dict)
    but: str | None = None
    token: str = ""


class PeopleFanout(Protocol):
    """The bus between nodes for pages (issue 16): every other node gets each ``Fanned``,
    in the order published. One process: nobody else to tell (``LocalFanout``)."""

    async def start(self, deliver: Callable[[Fanned], None]) -> None: ...
    def publish(self, fanned: Fanned) -> None:
        """Never blocks: queued, sent in order by the fanout's own task."""
        ...

    async def close(self) -> None: ...


class LocalFanout:
    """One process holds every page: nothing to fan out."""

    async def start(self, deliver: Callable[[Fanned], None]) -> None:
        return None

    def publish(self, fanned: Fanned) -> None:
        return None

    async def close(self) -> None:
        return None
