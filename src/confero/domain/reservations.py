"""Reservation rules of a booked teleconference, exactly as seed 004 states them.

- start no earlier than 10 minutes and no later than 30 days after booking (F-RS1);
- the window lasts at most 14 days (F-RS1);
- at most 3 active reservations per account; a finished one still counts, and is listed,
  for 1 hour after its end unless deleted (F-RS2);
- callers may join from 5 minutes before start until the end (F-RS3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from confero.domain.errors import DomainError

MIN_LEAD = timedelta(minutes=10)
MAX_LEAD = timedelta(days=30)
MAX_LENGTH = timedelta(days=14)
MAX_ACTIVE = 3
VISIBLE_AFTER_END = timedelta(hours=1)
EARLY_JOIN = timedelta(minutes=5)
#: Warn callers this long before the window closes (F-RS4).
CLOSING_WARNING = timedelta(minutes=5)


@dataclass
class Reservation:
    id: str
    account_id: str
    room_id: str
    start: datetime
    end: datetime
    created_at: datetime
    title: str = ""
    invitee_emails: list[str] = field(default_factory=list)
    invitee_phones: list[str] = field(default_factory=list)
    #: Mail the invitees (free; seed 004) and, a paid option, SMS at booking and/or as
    #: the reminder 1 hour before (F-RS5, F-RS6).
    notify_email: bool = True
    sms_at_booking: bool = False
    sms_reminder: bool = False
    #: The calendar entry's SEQUENCE (RFC 5545): grows whenever the time changes.
    sequence: int = 0

    def __post_init__(self) -> None:
        assert self.sequence >= 0, "a SEQUENCE never goes below 0"

    @property
    def sends_sms(self) -> bool:
        return self.sms_at_booking or self.sms_reminder

    def counts_toward_limit(self, now: datetime) -> bool:
        """Active until an hour after its end: the seed's 'delete it to book sooner'."""
        return now < self.end + VISIBLE_AFTER_END

    def is_visible(self, now: datetime) -> bool:
        return self.counts_toward_limit(now)

    def join_state(self, now: datetime) -> JoinState:
        if now < self.start - EARLY_JOIN:
            return JoinState.TOO_EARLY
        if now >= self.end:
            return JoinState.ENDED
        return JoinState.OPEN

    def covers(self, now: datetime) -> bool:
        return self.join_state(now) is JoinState.OPEN


class JoinState(StrEnum):
    TOO_EARLY = "too_early"
    OPEN = "open"
    ENDED = "ended"


def _aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise DomainError("reservation.naive_time", f"{what} must carry a time zone", field=what)


def validate_window(start: datetime, end: datetime, now: datetime) -> None:
    """A new window (or a moved start) against the booking rules at ``now``."""
    _aware(start, "start")
    _aware(end, "end")
    if start < now + MIN_LEAD:
        raise DomainError(
            "reservation.too_soon", "the start must be at least 10 minutes from now", field="start"
        )
    if start > now + MAX_LEAD:
        raise DomainError(
            "reservation.too_far", "the start must be at most 30 days from now", field="start"
        )
    validate_length(start, end)


def validate_length(start: datetime, end: datetime) -> None:
    _aware(start, "start")
    _aware(end, "end")
    if end <= start:
        raise DomainError(
            "reservation.end_before_start", "the end must be after the start", field="end"
        )
    if end - start > MAX_LENGTH:
        raise DomainError(
            "reservation.too_long", "a reservation lasts at most 14 days", field="end"
        )


def validate_change(current: Reservation, start: datetime, end: datetime, now: datetime) -> None:
    """Editing keeps the booking rules: a moved start is a new start; the end may move
    while the window keeps its 14-day limit and does not close in the past."""
    if start != current.start:
        if current.start - EARLY_JOIN <= now:
            raise DomainError(
                "reservation.already_started",
                "the start of a running reservation is fixed",
                field="start",
            )
        validate_window(start, end, now)
        return
    validate_length(start, end)
    if end <= now:
        raise DomainError("reservation.end_in_past", "the end must be in the future", field="end")


def check_limit(existing: Iterable[Reservation], now: datetime) -> None:
    active = sum(1 for r in existing if r.counts_toward_limit(now))
    if active >= MAX_ACTIVE:
        raise DomainError(
            "reservation.limit_reached",
            f"at most {MAX_ACTIVE} active reservations; delete one to book another",
        )


def check_overlap(
    others: Iterable[Reservation], start: datetime, end: datetime, ignore_id: str | None = None
) -> None:
    """One room, one window at a time: two windows would share the same access data."""
    for r in others:
        if r.id != ignore_id and r.start < end and start < r.end:
            raise DomainError("reservation.overlap", "the room is already booked in that window")


def room_join_state(
    reservations: Iterable[Reservation], now: datetime
) -> tuple[JoinState, Reservation | None]:
    """Whether a booked room admits callers now, and the window that decides it.

    Open inside any window (from 5 minutes early); before the next one, too early;
    with no window ahead, ended (F-RS3).
    """
    upcoming: Reservation | None = None
    for r in sorted(reservations, key=lambda r: r.start):
        state = r.join_state(now)
        if state is JoinState.OPEN:
            return state, r
        if state is JoinState.TOO_EARLY and upcoming is None:
            upcoming = r
    if upcoming is not None:
        return JoinState.TOO_EARLY, upcoming
    return JoinState.ENDED, None
