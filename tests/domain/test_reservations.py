"""The booking rules of seed 004 (F-RS1..F-RS3), each at its exact boundary.

Time is always injected (``now``), so no test sleeps and every edge is exact to the
microsecond.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from confero.domain.errors import DomainError
from confero.domain.reservations import (
    JoinState,
    Reservation,
    check_limit,
    check_overlap,
    room_join_state,
    validate_change,
    validate_length,
    validate_window,
)

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MICRO = timedelta(microseconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def minutes(m: int, s: int = 0) -> timedelta:
    return timedelta(minutes=m, seconds=s)


def res(start: datetime, end: datetime, *, rid: str = "r1", room_id: str = "room") -> Reservation:
    return Reservation(
        id=rid, account_id="acct", room_id=room_id, start=start, end=end, created_at=NOW
    )


def refused(fn: Callable[..., object], *args: object) -> str:
    with pytest.raises(DomainError) as exc:
        fn(*args)
    return exc.value.code


# --------------------------------------------------------------------- start lead time
def test_start_9_minutes_59_seconds_ahead_is_too_soon() -> None:
    start = NOW + minutes(9, 59)
    assert refused(validate_window, start, start + HOUR, NOW) == "reservation.too_soon"


def test_start_exactly_10_minutes_ahead_is_accepted() -> None:
    start = NOW + minutes(10)
    validate_window(start, start + HOUR, NOW)


def test_start_in_the_past_is_too_soon() -> None:
    start = NOW - HOUR
    assert refused(validate_window, start, start + HOUR, NOW) == "reservation.too_soon"


def test_start_exactly_30_days_ahead_is_accepted() -> None:
    start = NOW + timedelta(days=30)
    validate_window(start, start + HOUR, NOW)


def test_start_30_days_and_1_second_ahead_is_too_far() -> None:
    start = NOW + timedelta(days=30) + SECOND
    assert refused(validate_window, start, start + HOUR, NOW) == "reservation.too_far"


def test_boundaries_hold_for_aware_times_in_another_zone() -> None:
    warsaw = timezone(timedelta(hours=1))
    start = (NOW + minutes(10)).astimezone(warsaw)
    validate_window(start, start + HOUR, NOW)
    early = (NOW + minutes(9, 59)).astimezone(warsaw)
    assert refused(validate_window, early, early + HOUR, NOW) == "reservation.too_soon"


# --------------------------------------------------------------------- window length
def test_window_of_exactly_14_days_is_accepted() -> None:
    start = NOW + HOUR
    validate_window(start, start + timedelta(days=14), NOW)
    validate_length(start, start + timedelta(days=14))


def test_window_of_14_days_and_1_second_is_too_long() -> None:
    start = NOW + HOUR
    end = start + timedelta(days=14) + SECOND
    assert refused(validate_window, start, end, NOW) == "reservation.too_long"
    assert refused(validate_length, start, end) == "reservation.too_long"


@pytest.mark.parametrize("length", [timedelta(0), -SECOND, -DAY])
def test_end_not_after_start_is_refused(length: timedelta) -> None:
    start = NOW + HOUR
    assert refused(validate_window, start, start + length, NOW) == "reservation.end_before_start"


def test_window_of_one_microsecond_is_accepted() -> None:
    start = NOW + HOUR
    validate_window(start, start + MICRO, NOW)


@pytest.mark.parametrize("which", ["start", "end", "both"])
def test_naive_datetimes_are_refused(which: str) -> None:
    start = NOW + HOUR
    end = start + HOUR
    if which in ("start", "both"):
        start = start.replace(tzinfo=None)
    if which in ("end", "both"):
        end = end.replace(tzinfo=None)
    assert refused(validate_window, start, end, NOW) == "reservation.naive_time"
    assert refused(validate_length, start, end) == "reservation.naive_time"


# --------------------------------------------------------------------- active limit
def _three_future() -> list[Reservation]:
    return [
        res(NOW + DAY * i, NOW + DAY * i + HOUR, rid=f"r{i}", room_id=f"room{i}") for i in (1, 2, 3)
    ]


def test_three_active_reservations_then_the_fourth_is_refused() -> None:
    existing = _three_future()
    check_limit(existing[:2], NOW)  # the third is still allowed
    assert refused(check_limit, existing, NOW) == "reservation.limit_reached"


def test_deleting_one_frees_its_place() -> None:
    existing = _three_future()
    del existing[1]
    check_limit(existing, NOW)


def test_a_running_reservation_counts() -> None:
    existing = _three_future()
    existing[0] = res(NOW - HOUR, NOW + HOUR, rid="running")
    assert refused(check_limit, existing, NOW) == "reservation.limit_reached"


def test_ended_59_minutes_59_seconds_ago_still_counts_and_is_visible() -> None:
    ended = res(NOW - DAY, NOW - minutes(59, 59), rid="ended")
    assert ended.counts_toward_limit(NOW)
    assert ended.is_visible(NOW)
    assert refused(check_limit, [*_three_future()[:2], ended], NOW) == "reservation.limit_reached"


def test_ended_exactly_one_hour_ago_no_longer_counts_nor_shows() -> None:
    ended = res(NOW - DAY, NOW - HOUR, rid="ended")
    assert not ended.counts_toward_limit(NOW)
    assert not ended.is_visible(NOW)
    check_limit([*_three_future()[:2], ended], NOW)


def test_visibility_follows_the_clock_of_one_reservation() -> None:
    r = res(NOW + HOUR, NOW + 2 * HOUR)
    assert r.is_visible(NOW)
    assert r.is_visible(r.end + HOUR - MICRO)
    assert not r.is_visible(r.end + HOUR)


# --------------------------------------------------------------------- join window
START = NOW + DAY
END = START + 2 * HOUR


@pytest.mark.parametrize(
    ("at", "state"),
    [
        (START - minutes(5, 1), JoinState.TOO_EARLY),
        (START - minutes(5) - MICRO, JoinState.TOO_EARLY),
        (START - minutes(5), JoinState.OPEN),
        (START, JoinState.OPEN),
        (END - MICRO, JoinState.OPEN),
        (END, JoinState.ENDED),
        (END + DAY, JoinState.ENDED),
    ],
)
def test_join_state_at_the_edges(at: datetime, state: JoinState) -> None:
    r = res(START, END)
    assert r.join_state(at) is state
    assert r.covers(at) is (state is JoinState.OPEN)


def _windows() -> list[Reservation]:
    # deliberately not in start order
    return [
        res(NOW + 3 * DAY, NOW + 3 * DAY + HOUR, rid="b"),
        res(NOW + DAY, NOW + DAY + 2 * HOUR, rid="a"),
        res(NOW + 10 * DAY, NOW + 11 * DAY, rid="c"),
    ]


@pytest.mark.parametrize(
    ("at", "state", "rid"),
    [
        (NOW, JoinState.TOO_EARLY, "a"),
        (NOW + DAY - minutes(5, 1), JoinState.TOO_EARLY, "a"),
        (NOW + DAY - minutes(5), JoinState.OPEN, "a"),
        (NOW + DAY + HOUR, JoinState.OPEN, "a"),
        # between a and b: too early, and the decisive window is the NEXT one
        (NOW + DAY + 2 * HOUR, JoinState.TOO_EARLY, "b"),
        (NOW + 2 * DAY, JoinState.TOO_EARLY, "b"),
        (NOW + 3 * DAY - minutes(5), JoinState.OPEN, "b"),
        (NOW + 5 * DAY, JoinState.TOO_EARLY, "c"),
        (NOW + 11 * DAY - MICRO, JoinState.OPEN, "c"),
        (NOW + 11 * DAY, JoinState.ENDED, None),
    ],
)
def test_room_join_state_over_several_windows(
    at: datetime, state: JoinState, rid: str | None
) -> None:
    got_state, window = room_join_state(_windows(), at)
    assert got_state is state
    assert (window.id if window else None) == rid


def test_room_without_reservations_is_ended() -> None:
    assert room_join_state([], NOW) == (JoinState.ENDED, None)


def test_room_join_state_prefers_an_open_window_over_an_earlier_upcoming_one() -> None:
    # two back-to-back windows: at the first's end the second is open 5 minutes early
    first = res(NOW, NOW + HOUR, rid="first")
    second = res(NOW + HOUR + minutes(3), NOW + 2 * HOUR, rid="second")
    state, window = room_join_state([second, first], NOW + HOUR)
    assert state is JoinState.OPEN
    assert window is second


# --------------------------------------------------------------------- overlap
def test_overlapping_window_is_refused() -> None:
    booked = [res(NOW + DAY, NOW + DAY + 2 * HOUR, rid="x")]
    start = NOW + DAY + HOUR
    assert refused(check_overlap, booked, start, start + 2 * HOUR) == "reservation.overlap"


def test_window_inside_or_around_another_is_refused() -> None:
    booked = [res(NOW + DAY, NOW + DAY + 2 * HOUR, rid="x")]
    inner = NOW + DAY + minutes(30)
    assert refused(check_overlap, booked, inner, inner + minutes(10)) == "reservation.overlap"
    outer = NOW + DAY - HOUR
    assert refused(check_overlap, booked, outer, outer + 5 * HOUR) == "reservation.overlap"


def test_back_to_back_windows_do_not_overlap() -> None:
    booked = [res(NOW + DAY, NOW + DAY + 2 * HOUR, rid="x")]
    check_overlap(booked, NOW + DAY + 2 * HOUR, NOW + DAY + 3 * HOUR)
    check_overlap(booked, NOW + DAY - HOUR, NOW + DAY)


def test_overlap_ignores_the_reservation_being_edited() -> None:
    booked = [res(NOW + DAY, NOW + DAY + 2 * HOUR, rid="x")]
    check_overlap(booked, NOW + DAY, NOW + DAY + 3 * HOUR, ignore_id="x")
    assert (
        refused(check_overlap, booked, NOW + DAY, NOW + DAY + 3 * HOUR, "other")
        == "reservation.overlap"
    )


# --------------------------------------------------------------------- editing
def test_moving_the_start_of_a_running_reservation_is_refused() -> None:
    current = res(NOW - HOUR, NOW + HOUR)
    new_start = NOW + HOUR
    assert (
        refused(validate_change, current, new_start, new_start + HOUR, NOW)
        == "reservation.already_started"
    )


def test_start_is_fixed_from_the_moment_callers_may_join() -> None:
    current = res(NOW + minutes(5), NOW + HOUR)
    new_start = NOW + DAY
    assert (
        refused(validate_change, current, new_start, new_start + HOUR, NOW)
        == "reservation.already_started"
    )
    # a second earlier the start may still move (the new start obeys the booking rules)
    validate_change(current, new_start, new_start + HOUR, NOW - SECOND)


def test_moved_start_follows_the_booking_rules() -> None:
    current = res(NOW + DAY, NOW + DAY + HOUR)
    too_soon = NOW + minutes(9, 59)
    assert (
        refused(validate_change, current, too_soon, too_soon + HOUR, NOW) == "reservation.too_soon"
    )
    too_far = NOW + timedelta(days=30) + SECOND
    assert refused(validate_change, current, too_far, too_far + HOUR, NOW) == "reservation.too_far"
    validate_change(current, NOW + minutes(10), NOW + HOUR, NOW)


def test_moving_the_end_of_a_running_reservation_is_fine() -> None:
    current = res(NOW - DAY, NOW + HOUR)
    validate_change(current, current.start, current.start + timedelta(days=14), NOW)
    validate_change(current, current.start, NOW + MICRO, NOW)  # shortened, still ahead


def test_moved_end_keeps_the_14_day_limit() -> None:
    current = res(NOW - DAY, NOW + HOUR)
    end = current.start + timedelta(days=14) + SECOND
    assert refused(validate_change, current, current.start, end, NOW) == "reservation.too_long"


def test_moved_end_must_stay_in_the_future() -> None:
    current = res(NOW - DAY, NOW + HOUR)
    assert refused(validate_change, current, current.start, NOW, NOW) == "reservation.end_in_past"
    assert (
        refused(validate_change, current, current.start, current.start, NOW)
        == "reservation.end_before_start"
    )


def test_naive_end_in_an_edit_is_refused() -> None:
    current = res(NOW - DAY, NOW + HOUR)
    naive_end = (NOW + 2 * HOUR).replace(tzinfo=None)
    assert (
        refused(validate_change, current, current.start, naive_end, NOW) == "reservation.naive_time"
    )
