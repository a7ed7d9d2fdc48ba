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

from collections.abc import Sequence
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


# ---------------------------------------------------------------- planning (F-RS5..F-RS7)

#: Waits after the 1st, 2nd, ... failed try of a transient error; then the notice fails.
RETRY_AFTER = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
)
MAX_ATTEMPTS = len(RETRY_AFTER) + 1
# Why a notice was not sent (F-RS8): ``last_error`` starts with one of these stable
# codes, which the panel translates; the adapter's own words may follow after ": "
# ("delivery.refused: recipient refused: 550 mailbox unknown").
#: An SMS not sent because the account's allowance is used up.
ALLOWANCE_USED_UP = "sms.allowance_used_up"
#: No mail server is configured (CONFERO_SMTP_HOST).
MAIL_NOT_CONFIGURED = "mail.not_configured"
#: The receiving server refused the message or the address: not retried.
DELIVERY_REFUSED = "delivery.refused"
#: The server could not be reached or answered "later" (retried; failed after the last).
DELIVERY_UNAVAILABLE = "delivery.unavailable"
#: An unexpected error in an adapter (a bug), retried like a transient one.
DELIVERY_ERROR = "delivery.error"
#: The reservation was deleted before the notice went out.
RESERVATION_DELETED = "reservation.deleted"
#: The meeting had ended before the notice could go out.
NOTICE_EXPIRED = "notice.expired"


def reason(code: str, detail: str = "") -> str:
    """``last_error`` for ``code`` with an optional detail: "code" or "code: detail"."""
    assert code and ":" not in code and " " not in code, code
    detail = detail.strip()
    return f"{code}: {detail}" if detail else code


def retry_delay(attempts: int) -> timedelta | None:
    """How long to wait after ``attempts`` failed tries; ``None``: give up."""
    assert attempts >= 1
    return RETRY_AFTER[attempts - 1] if attempts < MAX_ATTEMPTS else None


@dataclass
class Notice:
    """One message to one recipient, a durable job: planned in the same transaction as
    the booking, sent once by the worker. ``invitation`` is its content as planned, so a
    cancellation can still be sent once the reservation is gone."""

    id: str
    account_id: str
    room_id: str
    reservation_id: str | None
    channel: Channel
    recipient: str
    kind: Kind
    due_at: datetime
    created_at: datetime
    invitation: Invitation
    state: State = State.PENDING
    attempts: int = 0
    #: When the worker may try (again); the due time until a try failed.
    next_try_at: datetime | None = None
    last_error: str | None = None
    #: A worker holds it until then; past that another may take it over.
    claimed_until: datetime | None = None
    sent_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.next_try_at is None:
            self.next_try_at = self.due_at
        assert self.invitation.kind is self.kind, "content and notice agree on the kind"

    def in_flight(self, now: datetime) -> bool:
        return (
            self.state is State.PENDING
            and self.claimed_until is not None
            and self.claimed_until > now
        )

    def delivered(self, now: datetime) -> bool:
        """Sent, or being sent right now (treated as sent: it may have gone out)."""
        return self.state is State.SENT or self.in_flight(now)


@dataclass(frozen=True)
class Planned:
    """A notice to create: who gets which message when."""

    channel: Channel
    recipient: str
    kind: Kind
    due: datetime


@dataclass(frozen=True)
class Plan:
    """What a change of a reservation does to its notices: the calendar SEQUENCE from
    now on, the pending notices to cancel (ids), and the new ones."""

    sequence: int
    cancel: tuple[str, ...] = ()
    send: tuple[Planned, ...] = ()


@dataclass(frozen=True)
class Recipients:
    """Who a reservation notifies, and how: the part of a reservation planning needs."""

    start: datetime
    end: datetime
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    notify_email: bool = True
    sms_at_booking: bool = False
    sms_reminder: bool = False
    sequence: int = 0

    def listed(self, channel: Channel) -> tuple[str, ...]:
        return self.emails if channel is Channel.EMAIL else self.phones

    def notified(self, channel: Channel) -> tuple[str, ...]:
        """The recipients the options let this channel reach."""
        if channel is Channel.EMAIL:
            return self.emails if self.notify_email else ()
        return self.phones if (self.sms_at_booking or self.sms_reminder) else ()

    def options(self, channel: Channel) -> tuple[bool, ...]:
        if channel is Channel.EMAIL:
            return (self.notify_email,)
        return (self.sms_at_booking, self.sms_reminder)

    def wants(self, channel: Channel, kind: Kind) -> bool:
        """Mail sends every message; SMS at booking and the reminder only when chosen,
        and the one message of a near start (or an update) when either is (seed 004)."""
        if channel is Channel.EMAIL:
            return self.notify_email
        if kind is Kind.INVITATION:
            return self.sms_at_booking
        if kind is Kind.REMINDER:
            return self.sms_reminder
        return self.sms_at_booking or self.sms_reminder


def _steps(r: Recipients, channel: Channel, now: datetime) -> list[tuple[Kind, datetime]]:
    return [(k, d) for k, d in schedule(r.start, now) if r.wants(channel, k)]


def _follow_ups(r: Recipients, channel: Channel, now: datetime) -> list[tuple[Kind, datetime]]:
    """After an update sent now: the reminder (or the at-start message) still ahead."""
    return [(k, d) for k, d in _steps(r, channel, now) if k is not Kind.INVITATION and d > now]


def plan_booking(r: Recipients, now: datetime) -> list[Planned]:
    """Every invitee's messages for a booking made at ``now``."""
    return [
        Planned(channel, recipient, kind, due)
        for channel in Channel
        for recipient in r.notified(channel)
        for kind, due in _steps(r, channel, now)
    ]


class _Known:
    """The existing notices of one reservation, by recipient."""

    def __init__(self, notices: Sequence[Notice], now: datetime) -> None:
        self._notices = notices
        self._now = now

    def of(self, channel: Channel, recipient: str) -> list[Notice]:
        return [n for n in self._notices if n.channel is channel and n.recipient == recipient]

    def pending(self, channel: Channel, recipient: str) -> list[str]:
        return [n.id for n in self.of(channel, recipient) if n.state is State.PENDING]

    def delivered(self, channel: Channel, recipient: str) -> set[Kind]:
        """Kinds that reached (or are reaching) the recipient, cancellations aside."""
        return {
            n.kind
            for n in self.of(channel, recipient)
            if n.kind is not Kind.CANCEL and n.delivered(self._now)
        }


def plan_edit(
    before: Recipients, after: Recipients, notices: Sequence[Notice], now: datetime
) -> Plan:
    """An edit of a reservation (F-RS7):

    - a moved start: every pending message is cancelled; each invitee already reached
      by mail (every mail invitee) gets an UPDATE now, a phone already reached by SMS one
      SMS; then the reminder (or at-start message) for the new time if still ahead;
    - a moved end only: the UPDATE now; pending messages stay (they are rendered when
      sent, so they show the new end);
    - added invitees (or a channel switched on): the normal plan from now;
    - removed invitees: their pending messages are cancelled, and those already reached
      get a CANCEL; a channel switched off only cancels what is pending;
    - the SEQUENCE grows when the time changes or a CANCEL goes out.
    """
    known = _Known(notices, now)
    start_moved = before.start != after.start
    time_changed = start_moved or before.end != after.end
    cancel: list[str] = []
    send: list[Planned] = []
    for ch in Channel:
        for gone in before.listed(ch):
            if gone in after.listed(ch):
                continue
            cancel += known.pending(ch, gone)
            if known.delivered(ch, gone):
                send.append(Planned(ch, gone, Kind.CANCEL, now))
        for off in before.notified(ch):
            if off in after.listed(ch) and off not in after.notified(ch):
                cancel += known.pending(ch, off)
        for who in after.notified(ch):
            if who not in before.notified(ch):
                cancel += known.pending(ch, who)
                send += [Planned(ch, who, k, d) for k, d in _steps(after, ch, now)]
                continue
            reached = known.delivered(ch, who)
            if time_changed and (ch is Channel.EMAIL or reached):
                send.append(Planned(ch, who, Kind.UPDATE, now))
            if start_moved:
                cancel += known.pending(ch, who)
                send += [Planned(ch, who, k, d) for k, d in _follow_ups(after, ch, now)]
            elif before.options(ch) != after.options(ch):
                cancel += known.pending(ch, who)
                send += [
                    Planned(ch, who, k, d)
                    for k, d in _steps(after, ch, now)
                    if k not in reached and d >= now
                ]
    bump = time_changed or any(p.kind is Kind.CANCEL for p in send)
    return Plan(
        sequence=before.sequence + 1 if bump else before.sequence,
        cancel=tuple(dict.fromkeys(cancel)),
        send=tuple(send),
    )


def plan_delete(r: Recipients, notices: Sequence[Notice], now: datetime) -> Plan:
    """A deleted reservation: nothing pending goes out; every invitee already reached
    gets a CANCEL (METHOD:CANCEL, SEQUENCE + 1), by mail, or by SMS if reached by SMS.
    A window that is already over is cancelled by nobody's calendar: no message."""
    known = _Known(notices, now)
    send = [
        Planned(ch, who, Kind.CANCEL, now)
        for ch in Channel
        for who in r.listed(ch)
        if known.delivered(ch, who) and now < r.end
    ]
    cancel = [n.id for n in notices if n.state is State.PENDING]
    return Plan(sequence=r.sequence + 1, cancel=tuple(cancel), send=tuple(send))


@dataclass(frozen=True)
class OutboxSms:
    """An SMS the development outbox "sent" (no SMS gateway configured)."""

    id: int
    to: str
    sender: str
    text: str
    created_at: datetime
