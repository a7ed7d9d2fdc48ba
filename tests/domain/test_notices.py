"""Which notices a booking, an edit and a deletion produce (seed 004; F-RS5..F-RS7), and
the retry schedule of a notice that could not be delivered. Pure rules, exact times."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from confero.domain.errors import DomainError
from confero.domain.notices import (
    MAX_ATTEMPTS,
    Channel,
    Invitation,
    Kind,
    Notice,
    Planned,
    Recipients,
    State,
    plan_booking,
    plan_delete,
    plan_edit,
    retry_delay,
)
from confero.domain.reservations import Reservation, validate_change, validate_window

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
EMAIL, SMS = Channel.EMAIL, Channel.SMS

_ids = itertools.count()


def who(r: Recipients, start: datetime | None = None, **changes: object) -> Recipients:
    return replace(r, start=start or r.start, **changes)  # type: ignore[arg-type]


def booking(start: datetime, **fields: object) -> Recipients:
    defaults: dict[str, object] = {"emails": ("ann@example.org",), "phones": ("+48600100200",)}
    return Recipients(start=start, end=start + HOUR, **{**defaults, **fields})  # type: ignore[arg-type]


def as_rows(
    planned: list[Planned] | tuple[Planned, ...],
) -> set[tuple[Channel, str, Kind, datetime]]:
    return {(p.channel, p.recipient, p.kind, p.due) for p in planned}


def notice(p: Planned, state: State = State.PENDING, claimed: datetime | None = None) -> Notice:
    content = Invitation(
        kind=p.kind,
        uid="r@confero",
        sequence=0,
        title="t",
        room_name="room",
        start=NOW + DAY,
        end=NOW + DAY + HOUR,
        time_zone="UTC",
        language="en",
        dial_in_number="",
        conference_number="123456",
        pin="111111",
        join_url="http://x/join/t",
        organizer_name="Host",
        organizer_email="host@example.org",
    )
    return Notice(
        id=f"n{next(_ids)}",
        account_id="acct",
        room_id="room",
        reservation_id="r",
        channel=p.channel,
        recipient=p.recipient,
        kind=p.kind,
        due_at=p.due,
        created_at=NOW,
        invitation=content,
        state=state,
        claimed_until=claimed,
    )


# ---------------------------------------------------------------- booking


def test_a_far_booking_mails_at_once_and_one_hour_before() -> None:
    start = NOW + 2 * DAY
    assert as_rows(plan_booking(booking(start), NOW)) == {
        (EMAIL, "ann@example.org", Kind.INVITATION, NOW),
        (EMAIL, "ann@example.org", Kind.REMINDER, start - HOUR),
    }


def test_a_near_booking_sends_one_message_at_the_start() -> None:
    for start in (NOW + 6 * HOUR, NOW + 3 * HOUR, NOW + 10 * MINUTE):
        r = booking(start, sms_at_booking=True, sms_reminder=True)
        assert as_rows(plan_booking(r, NOW)) == {
            (EMAIL, "ann@example.org", Kind.AT_START, start),
            (SMS, "+48600100200", Kind.AT_START, start),
        }
    # One microsecond beyond 6 hours is a far booking again.
    start = NOW + 6 * HOUR + timedelta(microseconds=1)
    kinds = {p.kind for p in plan_booking(booking(start), NOW)}
    assert kinds == {Kind.INVITATION, Kind.REMINDER}


def test_sms_go_only_as_chosen() -> None:
    start = NOW + 2 * DAY
    assert not [p for p in plan_booking(booking(start), NOW) if p.channel is SMS]
    at_booking = plan_booking(booking(start, sms_at_booking=True), NOW)
    assert {(p.kind, p.due) for p in at_booking if p.channel is SMS} == {(Kind.INVITATION, NOW)}
    reminder = plan_booking(booking(start, sms_reminder=True), NOW)
    assert {(p.kind, p.due) for p in reminder if p.channel is SMS} == {
        (Kind.REMINDER, start - HOUR)
    }
    near = plan_booking(booking(NOW + HOUR, sms_reminder=True), NOW)
    assert {(p.kind, p.due) for p in near if p.channel is SMS} == {(Kind.AT_START, NOW + HOUR)}


def test_mail_can_be_switched_off() -> None:
    planned = plan_booking(booking(NOW + 2 * DAY, notify_email=False, sms_at_booking=True), NOW)
    assert {p.channel for p in planned} == {SMS}


# ---------------------------------------------------------------- edits


def booked(r: Recipients, *, sent: bool = True) -> list[Notice]:
    """The notices of ``r`` booked at NOW, the immediate ones already sent."""
    return [
        notice(p, State.SENT if sent and p.due <= NOW else State.PENDING)
        for p in plan_booking(r, NOW)
    ]


def test_moving_the_start_sends_an_update_and_moves_the_reminder() -> None:
    before = booking(NOW + 2 * DAY, sms_at_booking=True, sms_reminder=True)
    known = booked(before)
    later = NOW + HOUR
    after = who(before, NOW + 3 * DAY, end=NOW + 3 * DAY + HOUR)
    plan = plan_edit(before, after, known, later)
    assert plan.sequence == 1
    assert set(plan.cancel) == {n.id for n in known if n.state is State.PENDING}
    assert as_rows(plan.send) == {
        (EMAIL, "ann@example.org", Kind.UPDATE, later),
        (EMAIL, "ann@example.org", Kind.REMINDER, NOW + 3 * DAY - HOUR),
        (SMS, "+48600100200", Kind.UPDATE, later),
        (SMS, "+48600100200", Kind.REMINDER, NOW + 3 * DAY - HOUR),
    }


def test_a_start_moved_near_gets_the_at_start_message() -> None:
    before = booking(NOW + 2 * DAY)
    after = who(before, NOW + 2 * HOUR, end=NOW + 3 * HOUR)
    plan = plan_edit(before, after, booked(before), NOW)
    assert as_rows(plan.send) == {
        (EMAIL, "ann@example.org", Kind.UPDATE, NOW),
        (EMAIL, "ann@example.org", Kind.AT_START, NOW + 2 * HOUR),
    }


def test_no_update_sms_to_a_phone_that_was_never_told() -> None:
    before = booking(NOW + 2 * DAY, sms_reminder=True)  # the SMS waits for the reminder
    after = who(before, NOW + 3 * DAY, end=NOW + 3 * DAY + HOUR)
    plan = plan_edit(before, after, booked(before), NOW)
    sms = {(p.kind, p.due) for p in plan.send if p.channel is SMS}
    assert sms == {(Kind.REMINDER, NOW + 3 * DAY - HOUR)}


def test_moving_only_the_end_updates_and_keeps_the_reminder() -> None:
    before = booking(NOW + 2 * DAY)
    known = booked(before)
    plan = plan_edit(before, who(before, end=before.end + HOUR), known, NOW)
    assert plan.sequence == 1
    assert plan.cancel == ()
    assert as_rows(plan.send) == {(EMAIL, "ann@example.org", Kind.UPDATE, NOW)}


def test_added_invitees_get_the_normal_plan_removed_ones_a_cancellation() -> None:
    before = booking(NOW + 2 * DAY, emails=("ann@example.org", "ben@example.org"))
    known = booked(before)
    after = who(before, emails=("ben@example.org", "cid@example.org"))
    plan = plan_edit(before, after, known, NOW + HOUR)
    ann_pending = {
        n.id for n in known if n.recipient == "ann@example.org" and n.state is State.PENDING
    }
    assert set(plan.cancel) == ann_pending
    assert as_rows(plan.send) == {
        (EMAIL, "ann@example.org", Kind.CANCEL, NOW + HOUR),
        (EMAIL, "cid@example.org", Kind.INVITATION, NOW + HOUR),
        (EMAIL, "cid@example.org", Kind.REMINDER, NOW + 2 * DAY - HOUR),
    }
    assert plan.sequence == 1  # the CANCEL outranks the entry ann has


def test_a_removed_invitee_never_told_gets_nothing() -> None:
    before = booking(NOW + 3 * HOUR)  # one message, at the start, still pending
    known = booked(before)
    plan = plan_edit(before, who(before, emails=()), known, NOW)
    assert set(plan.cancel) == {n.id for n in known}
    assert plan.send == ()
    assert plan.sequence == 0


def test_a_notice_being_sent_counts_as_told() -> None:
    before = booking(NOW + 2 * DAY)
    known = [notice(p, claimed=NOW + MINUTE) for p in plan_booking(before, NOW)]
    plan = plan_edit(before, who(before, emails=()), known, NOW)
    assert {p.kind for p in plan.send} == {Kind.CANCEL}


def test_switching_mail_off_cancels_without_a_cancellation() -> None:
    before = booking(NOW + 2 * DAY)
    known = booked(before)
    plan = plan_edit(before, who(before, notify_email=False), known, NOW)
    assert set(plan.cancel) == {n.id for n in known if n.state is State.PENDING}
    assert plan.send == ()


def test_switching_the_sms_reminder_on_plans_it() -> None:
    before = booking(NOW + 2 * DAY, sms_at_booking=True)
    known = booked(before)
    plan = plan_edit(before, who(before, sms_reminder=True), known, NOW + HOUR)
    assert as_rows(plan.send) == {(SMS, "+48600100200", Kind.REMINDER, NOW + 2 * DAY - HOUR)}


def test_an_unchanged_edit_plans_nothing() -> None:
    before = booking(NOW + 2 * DAY)
    plan = plan_edit(before, before, booked(before), NOW)
    assert plan.send == () and plan.cancel == () and plan.sequence == 0


# ---------------------------------------------------------------- deletion


def test_deleting_cancels_what_waits_and_tells_whoever_was_told() -> None:
    r = booking(
        NOW + 2 * DAY,
        emails=("ann@example.org",),
        phones=("+48600100200", "+48600100300"),
        sms_reminder=True,
        sequence=2,
    )
    known = booked(booking(NOW + 2 * DAY, emails=("ann@example.org",)))
    known += [notice(Planned(SMS, "+48600100200", Kind.INVITATION, NOW), State.SENT)]
    known += [notice(Planned(SMS, "+48600100300", Kind.REMINDER, NOW + DAY), State.PENDING)]
    plan = plan_delete(r, known, NOW + HOUR)
    assert plan.sequence == 3
    assert set(plan.cancel) == {n.id for n in known if n.state is State.PENDING}
    assert as_rows(plan.send) == {
        (EMAIL, "ann@example.org", Kind.CANCEL, NOW + HOUR),
        (SMS, "+48600100200", Kind.CANCEL, NOW + HOUR),
    }


def test_deleting_before_anything_went_out_sends_nothing() -> None:
    r = booking(NOW + 3 * HOUR)
    assert plan_delete(r, booked(r), NOW).send == ()


# ---------------------------------------------------------------- retries


def test_transient_failures_are_retried_with_growing_pauses_then_given_up() -> None:
    delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS + 1)]
    assert delays == [MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 3 * HOUR, None]


# ---------------------------------------------------------------- refusals name the field


@pytest.mark.parametrize(
    ("start", "end", "code", "field"),
    [
        (NOW + 5 * MINUTE, NOW + HOUR, "reservation.too_soon", "start"),
        (NOW + 31 * DAY, NOW + 31 * DAY + HOUR, "reservation.too_far", "start"),
        (NOW + DAY, NOW + DAY, "reservation.end_before_start", "end"),
        (NOW + DAY, NOW + 16 * DAY, "reservation.too_long", "end"),
        (NOW.replace(tzinfo=None), NOW + HOUR, "reservation.naive_time", "start"),
    ],
)
def test_window_refusals_name_their_field(
    start: datetime, end: datetime, code: str, field: str
) -> None:
    with pytest.raises(DomainError) as caught:
        validate_window(start, end, NOW)
    assert (caught.value.code, caught.value.context.get("field")) == (code, field)


def test_change_refusals_name_their_field() -> None:
    r = Reservation("r", "a", "room", NOW + MINUTE, NOW + HOUR, NOW)
    with pytest.raises(DomainError) as caught:
        validate_change(r, NOW + DAY, NOW + DAY + HOUR, NOW)
    assert caught.value.context["field"] == "start"
    with pytest.raises(DomainError) as caught:
        validate_change(r, r.start, NOW - MINUTE, NOW)
    assert caught.value.context["field"] == "end"
