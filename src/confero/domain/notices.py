"""Notices of a reservation: what is sent to whom, and when (seed 004; F-RS5, F-RS6).

The seed's rule: every invitee gets a message when the reservation is made and one
1 hour before the start; if the start is 6 hours or less away when it is booked, only
one message, at the start. The same rule holds for mail and SMS. A notice is a durable
job (a database row), so a restart between booking and sending still sends it once.

``Invitation`` is what a message says, whatever carries it; the adapters in
``confero.notify`` turn it into a mail with an ``.ics`` or an SMS text. It never holds the
admin PIN: the type has no field for it (security by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

#: The reminder goes this long before the start (seed 004: "na 1 godzinę przed").
REMINDER_BEFORE = timedelta(hours=1)
#: A start this close when booked gets one message only, at the start (seed 004).
NEAR_START = timedelta(hours=6)


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Kind(StrEnum):
    #: Sent when the reservation is made (start more than 6 hours away).
    INVITATION = "invitation"
    #: Sent 1 hour before the start.
    REMINDER = "reminder"
    #: The only message of a booking made 6 hours or less before its start.
    AT_START = "at_start"
    #: The time changed: a new calendar entry with a higher SEQUENCE.
    UPDATE = "update"
    #: The reservation was deleted: METHOD:CANCEL.
    CANCEL = "cancel"
    #: "Invite a person" from a running meeting (seed 002): starts now.
    ADHOC = "adhoc"


class State(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    #: Every try failed; the panel shows it with the last error.
    FAILED = "failed"
    #: Superseded by an edit or a deletion before it was sent.
    CANCELLED = "cancelled"
    #: Never sent on purpose, e.g. the account's SMS allowance was used up.
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Invitation:
    """The content of one notice; the same for mail and SMS."""

    kind: Kind
    #: Stable per reservation (the calendar entry's UID): an update replaces the entry.
    uid: str
    #: RFC 5545 SEQUENCE: grows with every change of the reservation's time.
    sequence: int
    title: str
    room_name: str
    #: Aware datetimes (UTC); shown in ``time_zone``.
    start: datetime
    end: datetime
    #: The host's IANA time zone ("Europe/Warsaw"): times in the text are local to it.
    time_zone: str
    #: The room's language (en, nl, de, pl): the language of the message.
    language: str
    #: The shared dial-in number (may be empty when none is configured).
    dial_in_number: str
    conference_number: str
    #: The participant PIN; the admin PIN never travels in an invitation.
    pin: str
    join_url: str
    organizer_name: str
    organizer_email: str

    def __post_init__(self) -> None:
        assert self.start.tzinfo is not None and self.end.tzinfo is not None, "aware times"

    @property
    def cancelled(self) -> bool:
        return self.kind is Kind.CANCEL


def schedule(start: datetime, booked_at: datetime) -> list[tuple[Kind, datetime]]:
    """When the messages of a booking are due: at booking and 1 hour before, or, for a
    start 6 hours or less away, only one at the start (seed 004)."""
    if start - booked_at <= NEAR_START:
        return [(Kind.AT_START, start)]
    return [(Kind.INVITATION, booked_at), (Kind.REMINDER, start - REMINDER_BEFORE)]
