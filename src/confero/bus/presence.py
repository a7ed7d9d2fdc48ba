"""Presence and calls in process memory: the ``PresenceStore`` of the one-process
profile (app/presence_port.py). A cluster keeps the same records in Redis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from confero.app.presence_port import PageRecord
from confero.domain.calls import Call


@dataclass(frozen=True)
class _Seat:
    account_id: str
    room_id: str


class MemoryPresence:
    def __init__(self) -> None:
        self._pages: dict[str, PageRecord] = {}
        #: participant id -> whose it is and where (busy).
        self._seats: dict[str, _Seat] = {}
        #: call id -> (call, when the sweeper acts on it); dicts keep insertion order.
        self._calls: dict[str, tuple[Call, float | None]] = {}

    # ------------------------------------------------------------------ pages
    def add_page(self, page: PageRecord) -> None:
        self._pages[page.id] = page

    def touch_page(self, page_id: str, now: float) -> bool:
        page = self._pages.get(page_id)
        if page is None:
            return False
        self._pages[page_id] = replace(page, last_ping=now)
        return True

    def remove_page(self, page_id: str) -> PageRecord | None:
        return self._pages.pop(page_id, None)

    def pages_of(self, account_id: str) -> Sequence[PageRecord]:
        return [p for p in self._pages.values() if p.account_id == account_id]

    def pages_with_token(self, token: str) -> Sequence[PageRecord]:
        return [p for p in self._pages.values() if p.token == token]

    def stale_pages(self, before: float) -> Sequence[PageRecord]:
        return [p for p in self._pages.values() if p.last_ping < before]

    # -------------------------------------------------------------- meetings
    def enter_meeting(self, participant_id: str, account_id: str, room_id: str) -> None:
        self._seats[participant_id] = _Seat(account_id, room_id)

    def leave_meeting(self, participant_id: str) -> str | None:
        seat = self._seats.pop(participant_id, None)
        return seat.account_id if seat is not None else None

    def end_meeting(self, room_id: str) -> set[str]:
        gone = {pid: s for pid, s in self._seats.items() if s.room_id == room_id}
        for pid in gone:
            del self._seats[pid]
        return {s.account_id for s in gone.values()}

    def in_meeting(self, account_id: str) -> bool:
        return any(s.account_id == account_id for s in self._seats.values())

    def in_room(self, account_id: str, room_id: str) -> bool:
        return _Seat(account_id, room_id) in self._seats.values()

    # ----------------------------------------------------------------- calls
    def put_call(self, call: Call, until: float | None) -> None:
        self._calls[call.id] = (call, until)

    def get_call(self, call_id: str) -> Call | None:
        entry = self._calls.get(call_id)
        return entry[0] if entry is not None else None

    def drop_call(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    def calls_of(self, account_id: str) -> Sequence[Call]:
        return [call for call, _ in self._calls.values() if call.party(account_id)]

    def call_in_room(self, room_id: str) -> Call | None:
        return next((call for call, _ in self._calls.values() if call.room_id == room_id), None)

    def due_calls(self, now: float) -> Sequence[Call]:
        return [call for call, until in self._calls.values() if until is not None and until <= now]
