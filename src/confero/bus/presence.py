"""Presence and calls in process memory: the ``PresenceStore`` of the one-process
profile (app/presence_port.py). A cluster keeps the same records in Redis
(bus/redis_presence.py); the two pass the same tests (tests/bus/test_presence.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from confero.app.presence_port import Activity, PageRecord
from confero.domain.calls import Call, CallState


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
    async def add_page(self, page: PageRecord) -> None:
        self._pages[page.id] = page

    async def touch_page(self, page_id: str, now: float) -> bool:
        page = self._pages.get(page_id)
        if page is None:
            return False
        self._pages[page_id] = replace(page, last_ping=now)
        return True

    async def remove_page(self, page_id: str) -> PageRecord | None:
        return self._pages.pop(page_id, None)

    async def pages_of(self, account_id: str) -> Sequence[PageRecord]:
        return [p for p in self._pages.values() if p.account_id == account_id]

    async def stale_pages(self, before: float) -> Sequence[PageRecord]:
        return [p for p in self._pages.values() if p.last_ping < before]

    # -------------------------------------------------------------- meetings
    async def enter_meeting(self, participant_id: str, account_id: str, room_id: str) -> None:
        self._seats[participant_id] = _Seat(account_id, room_id)

    async def leave_meeting(self, participant_id: str) -> str | None:
        seat = self._seats.pop(participant_id, None)
        return seat.account_id if seat is not None else None

    async def end_meeting(self, room_id: str) -> set[str]:
        gone = {pid: s for pid, s in self._seats.items() if s.room_id == room_id}
        for pid in gone:
            del self._seats[pid]
        return {s.account_id for s in gone.values()}

    async def in_room(self, account_id: str, room_id: str) -> bool:
        return _Seat(account_id, room_id) in self._seats.values()

    async def activity(self, account_ids: Sequence[str]) -> dict[str, Activity]:
        busy = {s.account_id for s in self._seats.values()}
        online = {p.account_id for p in self._pages.values()}
        return {a: Activity(busy=a in busy, online=a in online) for a in account_ids}

    # ----------------------------------------------------------------- calls
    async def put_call(self, call: Call, until: float | None) -> None:
        self._calls[call.id] = (call, until)

    async def swap_call(self, call: Call, until: float | None, expect: CallState) -> bool:
        entry = self._calls.get(call.id)
        if entry is None or entry[0].state is not expect:
            return False
        self._calls[call.id] = (call, until)
        return True

    async def get_call(self, call_id: str) -> Call | None:
        entry = self._calls.get(call_id)
        return entry[0] if entry is not None else None

    async def drop_call(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    async def calls_of(self, account_id: str) -> Sequence[Call]:
        return [call for call, _ in self._calls.values() if call.party(account_id)]

    async def call_in_room(self, room_id: str) -> Call | None:
        return next((call for call, _ in self._calls.values() if call.room_id == room_id), None)

    async def due_calls(self, now: float) -> Sequence[Call]:
        due = [c for c, until in self._calls.values() if until is not None and until <= now]
        for call in due:
            self._calls[call.id] = (call, None)
        return due
