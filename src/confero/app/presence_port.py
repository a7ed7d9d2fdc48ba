"""The one port behind which presence and ringing calls live (issue 11, Deliver 4).

Everything the people service knows between two messages sits here: the open pages of
every account with their last ping, who is in which running conference (busy), and the
calls that ring or run. The one-process profile keeps it in memory
(``confero.bus.presence.MemoryPresence``); the cluster profile can keep the same records
in Redis (hashes and sorted sets by time), because nothing here holds a live object: a
page's ``send`` callback stays with the node that owns its socket (app/people.py).

Times are the event loop's monotonic seconds: liveness timers, not domain rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from confero.domain.calls import Call


@dataclass(frozen=True)
class PageRecord:
    """One open page (one people socket) of a signed-in account."""

    id: str
    account_id: str
    #: The session token the socket came with: signing out drops its pages.
    token: str
    last_ping: float


class PresenceStore(Protocol):
    # ------------------------------------------------------------------ pages
    def add_page(self, page: PageRecord) -> None: ...
    def touch_page(self, page_id: str, now: float) -> bool:
        """A ping: the page's ``last_ping`` is ``now``; False if the page is gone."""
        ...

    def remove_page(self, page_id: str) -> PageRecord | None:
        """Forget the page; the record, or None when it was gone already."""
        ...

    def pages_of(self, account_id: str) -> Sequence[PageRecord]: ...
    def pages_with_token(self, token: str) -> Sequence[PageRecord]: ...
    def stale_pages(self, before: float) -> Sequence[PageRecord]:
        """Pages whose last ping is older than ``before``."""
        ...

    # -------------------------------------------------------------- meetings
    def enter_meeting(self, participant_id: str, account_id: str, room_id: str) -> None:
        """An account's participant is in a running conference (busy)."""
        ...

    def leave_meeting(self, participant_id: str) -> str | None:
        """The participant is out; its account id, None when it was not known."""
        ...

    def end_meeting(self, room_id: str) -> set[str]:
        """The room's conference is over; the accounts that were in it."""
        ...

    def in_meeting(self, account_id: str) -> bool: ...
    def in_room(self, account_id: str, room_id: str) -> bool: ...

    # ----------------------------------------------------------------- calls
    def put_call(self, call: Call, until: float | None) -> None:
        """Add or replace the call; ``until``: when the sweeper must act on it (ring out
        a ringing call, drop an accepted call nobody joined), None: never."""
        ...

    def get_call(self, call_id: str) -> Call | None: ...
    def drop_call(self, call_id: str) -> None: ...
    def calls_of(self, account_id: str) -> Sequence[Call]:
        """Calls the account makes or gets, oldest first."""
        ...

    def call_in_room(self, room_id: str) -> Call | None:
        """The accepted call whose call room this is."""
        ...

    def due_calls(self, now: float) -> Sequence[Call]:
        """Calls whose ``until`` has passed."""
        ...
