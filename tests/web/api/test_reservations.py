"""Reservations over REST, every rule of seed 004 at its exact boundary (F-RS1, F-RS2,
F-RS7), with the FakeClock standing in for the passing of time."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from tests.clock import FakeClock
from tests.web.support import User, assert_problem, room_names

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


async def book(
    client: httpx.AsyncClient, user: User, start: datetime, end: datetime, **fields: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/reservations",
        json={"start": start.isoformat(), "end": end.isoformat(), **fields},
        headers=user.headers,
    )


async def booked(
    client: httpx.AsyncClient, user: User, start: datetime, end: datetime, **fields: Any
) -> dict[str, Any]:
    response = await book(client, user, start, end, **fields)
    assert response.status_code == 201, response.text
    reservation: dict[str, Any] = response.json()
    return reservation


async def listed(client: httpx.AsyncClient, user: User) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/reservations", headers=user.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def unchanged(now: dict[str, Any], before: dict[str, Any]) -> bool:
    """The same reservation with the same notices; only their delivery may have moved
    on meanwhile (the worker runs beside the test)."""

    def plain(r: dict[str, Any]) -> dict[str, Any]:
        notices = [(n["id"], n["recipient"], n["kind"]) for n in r["notices"]]
        return {**r, "notices": notices}

    return plain(now) == plain(before)


async def test_start_is_at_least_ten_minutes_from_now(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    now = clock.now()
    early = await book(client, admin, now + 10 * MINUTE - SECOND, now + HOUR)
    assert_problem(early, 422, "reservation.too_soon")
    assert await listed(client, admin) == []
    assert await room_names(client, admin) == []

    made = await booked(client, admin, now + 10 * MINUTE, now + HOUR)
    assert instant(made["start"]) == now + 10 * MINUTE
    assert instant(made["end"]) == now + HOUR


async def test_start_is_at_most_thirty_days_from_now(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    now = clock.now()
    late = await book(client, admin, now + 30 * DAY + SECOND, now + 30 * DAY + HOUR)
    assert_problem(late, 422, "reservation.too_far")
    made = await booked(client, admin, now + 30 * DAY, now + 30 * DAY + HOUR)
    assert instant(made["start"]) == now + 30 * DAY
    assert [r["id"] for r in await listed(client, admin)] == [made["id"]]


async def test_a_window_lasts_at_most_fourteen_days(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + DAY
    too_long = await book(client, admin, start, start + 14 * DAY + SECOND)
    assert_problem(too_long, 422, "reservation.too_long")
    assert_problem(await book(client, admin, start, start), 422, "reservation.end_before_start")
    assert_problem(
        await book(client, admin, start, start - HOUR), 422, "reservation.end_before_start"
    )
    assert await listed(client, admin) == []

    made = await booked(client, admin, start, start + 14 * DAY)
    assert instant(made["end"]) - instant(made["start"]) == 14 * DAY


async def test_times_must_carry_a_time_zone(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = (clock.now() + DAY).replace(tzinfo=None)
    naive = await client.post(
        "/api/v1/reservations",
        json={"start": start.isoformat(), "end": (start + HOUR).isoformat()},
        headers=admin.headers,
    )
    body = assert_problem(naive, 422, "request.invalid")
    assert any("start" in e["loc"] for e in body["errors"])
    half = await client.post(
        "/api/v1/reservations",
        json={"start": start.isoformat() + "Z", "end": (start + HOUR).isoformat()},
        headers=admin.headers,
    )
    assert_problem(half, 422, "request.invalid")
    assert await listed(client, admin) == []
    assert await room_names(client, admin) == []


async def test_offsets_other_than_utc_mean_the_same_instant(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    now = clock.now()
    amsterdam = timezone(timedelta(hours=1))
    new_york = timezone(timedelta(hours=-5))
    early = await book(
        client,
        admin,
        (now + 10 * MINUTE - SECOND).astimezone(new_york),
        (now + HOUR).astimezone(new_york),
    )
    assert_problem(early, 422, "reservation.too_soon")
    made = await booked(
        client, admin, (now + 10 * MINUTE).astimezone(amsterdam), (now + HOUR).astimezone(amsterdam)
    )
    assert instant(made["start"]) == now + 10 * MINUTE
    assert instant(made["end"]) == now + HOUR


async def test_booking_answers_with_the_new_rooms_access_data(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + 2 * HOUR
    made = await booked(
        client,
        admin,
        start,
        start + HOUR,
        title="Quarterly  review",
        invitee_emails=["Ann@Example.org", "ann@example.org", "ben@example.org"],
        invitee_phones=["+31 20 555-1234"],
    )
    assert made["title"] == "Quarterly review"
    assert made["status"] == "upcoming"
    assert made["invitee_emails"] == ["ann@example.org", "ben@example.org"]
    assert made["invitee_phones"] == ["+31205551234"]
    room = made["room"]
    assert room["id"] == made["room_id"]
    assert room["booked"] is True
    assert room["capacity"] == 30  # a booked teleconference holds up to 30 (seed 004)
    assert room["conference_number"].isdigit()
    assert room["pin"].isdigit() and room["admin_pin"].isdigit()
    assert room["pin"] != room["admin_pin"]

    rooms = (await client.get("/api/v1/rooms", headers=admin.headers)).json()
    assert rooms == [room]
    again = await client.get(f"/api/v1/reservations/{made['id']}", headers=admin.headers)
    assert again.status_code == 200
    assert again.json() == made
    # The list is the overview: no access data in it.
    assert [r["id"] for r in await listed(client, admin)] == [made["id"]]
    assert "room" not in (await listed(client, admin))[0]


async def test_the_booked_room_speaks_and_invites_in_the_chosen_language(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + 2 * HOUR
    made = await booked(client, admin, start, start + HOUR, language="pl")
    assert made["room"]["language"] == "pl"
    assert (await booked(client, admin, start + DAY, start + DAY + HOUR))["room"]["language"] == (
        "en"
    )
    refused = await book(client, admin, start + 2 * DAY, start + 2 * DAY + HOUR, language="xx")
    assert_problem(refused, 422, "room.invalid_language")
    assert len(await listed(client, admin)) == 2, "nothing booked"


async def test_bad_invitees_are_refused_and_nothing_is_booked(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + HOUR
    bad_email = await book(client, admin, start, start + HOUR, invitee_emails=["not an email"])
    assert_problem(bad_email, 422, "reservation.invalid_invitee")
    bad_phone = await book(client, admin, start, start + HOUR, invitee_phones=["call me"])
    assert_problem(bad_phone, 422, "reservation.invalid_invitee")
    assert await listed(client, admin) == []
    assert await room_names(client, admin) == []


async def test_at_most_three_active_reservations_and_deleting_frees_a_place(
    client: httpx.AsyncClient, clock: FakeClock, admin: User, other: User
) -> None:
    start = clock.now() + DAY
    made = [await booked(client, admin, start + n * DAY, start + n * DAY + HOUR) for n in range(3)]
    rooms_before = await room_names(client, admin)
    assert len(rooms_before) == 3

    fourth = await book(client, admin, start + 5 * DAY, start + 5 * DAY + HOUR)
    assert_problem(fourth, 409, "reservation.limit_reached")
    # The refused booking left no room behind.
    assert await room_names(client, admin) == rooms_before
    assert len(await listed(client, admin)) == 3

    # The limit is per account.
    await booked(client, other, start, start + HOUR)

    deleted = await client.delete(f"/api/v1/reservations/{made[1]['id']}", headers=admin.headers)
    assert deleted.status_code == 204
    assert [r["id"] for r in await listed(client, admin)] == [made[0]["id"], made[2]["id"]]
    fourth = await book(client, admin, start + 5 * DAY, start + 5 * DAY + HOUR)
    assert fourth.status_code == 201, fourth.text
    assert_problem(
        await book(client, admin, start + 6 * DAY, start + 6 * DAY + HOUR),
        409,
        "reservation.limit_reached",
    )


async def test_simultaneous_bookings_do_not_pass_the_limit(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + DAY
    answers = await asyncio.gather(
        *(book(client, admin, start + n * HOUR, start + n * HOUR + MINUTE) for n in range(6))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 201, 201, 409, 409, 409]
    for refused in (a for a in answers if a.status_code == 409):
        assert_problem(refused, 409, "reservation.limit_reached")
    assert len(await listed(client, admin)) == 3
    assert len(await room_names(client, admin)) == 3


async def test_a_finished_reservation_is_listed_and_counted_for_one_more_hour(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    now = clock.now()
    short = await booked(client, admin, now + 10 * MINUTE, now + 40 * MINUTE)
    await booked(client, admin, now + 2 * DAY, now + 2 * DAY + HOUR)
    await booked(client, admin, now + 3 * DAY, now + 3 * DAY + HOUR)
    end = instant(short["end"])

    clock.set(end + HOUR - SECOND)
    found = {r["id"]: r for r in await listed(client, admin)}
    assert found[short["id"]]["status"] == "ended"
    seen = await client.get(f"/api/v1/reservations/{short['id']}", headers=admin.headers)
    assert seen.status_code == 200
    assert_problem(
        await book(client, admin, clock.now() + DAY, clock.now() + DAY + HOUR),
        409,
        "reservation.limit_reached",
    )

    clock.advance(SECOND)
    assert short["id"] not in {r["id"] for r in await listed(client, admin)}
    gone = await client.get(f"/api/v1/reservations/{short['id']}", headers=admin.headers)
    assert_problem(gone, 404, "reservation.not_found")
    assert (
        await book(client, admin, clock.now() + DAY, clock.now() + DAY + HOUR)
    ).status_code == 201


async def test_status_follows_the_window(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + HOUR
    made = await booked(client, admin, start, start + HOUR)

    def status_of(found: list[dict[str, Any]]) -> str:
        return next(str(r["status"]) for r in found if r["id"] == made["id"])

    clock.set(start - 5 * MINUTE - SECOND)
    assert status_of(await listed(client, admin)) == "upcoming"
    clock.set(start - 5 * MINUTE)
    assert status_of(await listed(client, admin)) == "open"
    clock.set(start + HOUR - SECOND)
    assert status_of(await listed(client, admin)) == "open"
    clock.set(start + HOUR)
    assert status_of(await listed(client, admin)) == "ended"


async def test_listing_is_sorted_by_start(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    now = clock.now()
    later = await booked(client, admin, now + 3 * DAY, now + 3 * DAY + HOUR)
    sooner = await booked(client, admin, now + DAY, now + DAY + HOUR)
    assert [r["id"] for r in await listed(client, admin)] == [sooner["id"], later["id"]]


async def test_editing_title_and_invitees(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + DAY
    made = await booked(client, admin, start, start + HOUR, invitee_emails=["ann@example.org"])
    url = f"/api/v1/reservations/{made['id']}"

    changed = await client.patch(
        url,
        json={"title": "Renamed", "invitee_emails": ["Cid@Example.org"], "invitee_phones": []},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    fetched = (await client.get(url, headers=admin.headers)).json()
    assert fetched["title"] == "Renamed"
    assert fetched["invitee_emails"] == ["cid@example.org"]
    assert instant(fetched["start"]) == start  # untouched fields stay
    assert fetched["room"]["pin"] == made["room"]["pin"]

    bad = await client.patch(
        url, json={"title": "Other", "invitee_emails": ["nope"]}, headers=admin.headers
    )
    body = assert_problem(bad, 422, "reservation.invalid_invitee")
    assert (body["field"], body["value"]) == ("invitee_emails", "nope")
    assert unchanged((await client.get(url, headers=admin.headers)).json(), fetched)


async def test_moving_a_reservation_keeps_the_booking_rules(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    now = clock.now()
    start, end = now + DAY, now + DAY + HOUR
    made = await booked(client, admin, start, end)
    url = f"/api/v1/reservations/{made['id']}"

    async def patch(**times: datetime) -> httpx.Response:
        body = {k: v.isoformat() for k, v in times.items()}
        return await client.patch(url, json=body, headers=admin.headers)

    assert_problem(await patch(start=now + 10 * MINUTE - SECOND), 422, "reservation.too_soon")
    assert_problem(
        await patch(start=now + 30 * DAY + SECOND, end=now + 30 * DAY + HOUR),
        422,
        "reservation.too_far",
    )
    assert_problem(await patch(end=start + 14 * DAY + SECOND), 422, "reservation.too_long")
    assert_problem(await patch(end=start), 422, "reservation.end_before_start")
    naive = await client.patch(
        url, json={"start": (now + 2 * DAY).replace(tzinfo=None).isoformat()}, headers=admin.headers
    )
    assert_problem(naive, 422, "request.invalid")
    fetched = (await client.get(url, headers=admin.headers)).json()
    assert (instant(fetched["start"]), instant(fetched["end"])) == (start, end)

    moved = await patch(start=now + 10 * MINUTE)
    assert moved.status_code == 200, moved.text
    assert instant(moved.json()["start"]) == now + 10 * MINUTE
    assert instant(moved.json()["end"]) == end
    longest = await patch(end=now + 10 * MINUTE + 14 * DAY)
    assert longest.status_code == 200, longest.text


async def test_a_started_reservation_keeps_its_start_but_may_move_its_end(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + HOUR
    made = await booked(client, admin, start, start + HOUR)
    url = f"/api/v1/reservations/{made['id']}"

    # One second before the doors open, the start may still move (by the usual rules).
    clock.set(start - 5 * MINUTE - SECOND)
    new_start = clock.now() + 10 * MINUTE
    moved = await client.patch(url, json={"start": new_start.isoformat()}, headers=admin.headers)
    assert moved.status_code == 200, moved.text

    clock.set(new_start - 5 * MINUTE)
    fixed = await client.patch(
        url, json={"start": (clock.now() + HOUR).isoformat()}, headers=admin.headers
    )
    assert_problem(fixed, 409, "reservation.already_started")

    clock.set(new_start + 30 * MINUTE)
    past = await client.patch(
        url, json={"end": (clock.now() - MINUTE).isoformat()}, headers=admin.headers
    )
    assert_problem(past, 422, "reservation.end_in_past")
    longer = await client.patch(
        url, json={"end": (new_start + 3 * HOUR).isoformat()}, headers=admin.headers
    )
    assert longer.status_code == 200, longer.text
    fetched = (await client.get(url, headers=admin.headers)).json()
    assert instant(fetched["start"]) == new_start
    assert instant(fetched["end"]) == new_start + 3 * HOUR
    assert fetched["status"] == "open"


async def test_a_booked_room_can_be_booked_again_with_the_same_access_data(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + DAY
    first = await booked(client, admin, start, start + HOUR)
    room_id = first["room_id"]

    overlap = await book(client, admin, start + 30 * MINUTE, start + 2 * HOUR, room_id=room_id)
    assert_problem(overlap, 409, "reservation.overlap")
    second = await booked(client, admin, start + HOUR, start + 2 * HOUR, room_id=room_id)
    assert second["room_id"] == room_id
    for key in ("conference_number", "pin", "admin_pin"):
        assert second["room"][key] == first["room"][key]
    assert len(await room_names(client, admin)) == 1

    # Moving one window over the other is refused too.
    over = await client.patch(
        f"/api/v1/reservations/{second['id']}",
        json={"start": (start + 59 * MINUTE).isoformat()},
        headers=admin.headers,
    )
    assert_problem(over, 409, "reservation.overlap")

    permanent = await client.post("/api/v1/rooms", json={"name": "Bridge"}, headers=admin.headers)
    not_bookable = await book(
        client, admin, start + 3 * HOUR, start + 4 * HOUR, room_id=permanent.json()["id"]
    )
    assert_problem(not_bookable, 422, "reservation.room_not_bookable")
    assert len(await listed(client, admin)) == 2


async def test_other_accounts_cannot_see_or_touch_a_reservation(
    client: httpx.AsyncClient, clock: FakeClock, admin: User, other: User
) -> None:
    start = clock.now() + DAY
    made = await booked(client, admin, start, start + HOUR)
    url = f"/api/v1/reservations/{made['id']}"

    assert await listed(client, other) == []
    assert_problem(await client.get(url, headers=other.headers), 404, "reservation.not_found")
    assert_problem(
        await client.patch(url, json={"title": "Mine"}, headers=other.headers),
        404,
        "reservation.not_found",
    )
    assert_problem(await client.delete(url, headers=other.headers), 404, "reservation.not_found")
    assert_problem(
        await client.get(f"/api/v1/rooms/{made['room_id']}", headers=other.headers),
        404,
        "room.not_found",
    )
    # Nor can they book the room for themselves.
    theirs = await book(client, other, start + 2 * HOUR, start + 3 * HOUR, room_id=made["room_id"])
    assert_problem(theirs, 404, "room.not_found")

    assert (await client.get(url, headers=admin.headers)).json() == made


async def test_deleting_a_reservation_keeps_its_room_but_closes_it(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + HOUR
    made = await booked(client, admin, start, start + HOUR)
    url = f"/api/v1/reservations/{made['id']}"
    assert (await client.delete(url, headers=admin.headers)).status_code == 204
    assert_problem(await client.get(url, headers=admin.headers), 404, "reservation.not_found")
    assert_problem(await client.delete(url, headers=admin.headers), 404, "reservation.not_found")

    room = await client.get(f"/api/v1/rooms/{made['room_id']}", headers=admin.headers)
    assert room.status_code == 200
    clock.set(start)
    closed = await client.post(
        f"/api/v1/rooms/{made['room_id']}/conference/commands",
        json={"command": "join"},
        headers=admin.headers,
    )
    assert_problem(closed, 409, "conference.window_ended")


async def test_deleting_a_booked_room_takes_its_reservations_along(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + DAY
    made = [await booked(client, admin, start + n * DAY, start + n * DAY + HOUR) for n in range(3)]
    gone = await client.delete(f"/api/v1/rooms/{made[0]['room_id']}", headers=admin.headers)
    assert gone.status_code == 204

    assert [r["id"] for r in await listed(client, admin)] == [made[1]["id"], made[2]["id"]]
    assert_problem(
        await client.get(f"/api/v1/reservations/{made[0]['id']}", headers=admin.headers),
        404,
        "reservation.not_found",
    )
    # Its place is free again.
    assert (await book(client, admin, start, start + HOUR)).status_code == 201


# ---------------------------------------------------------------- notices (F-RS5..F-RS7)


async def test_refusals_name_the_field_they_concern(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    now = clock.now()
    cases = [
        ((now + MINUTE, now + HOUR), {}, "reservation.too_soon", "start"),
        ((now + 31 * DAY, now + 31 * DAY + HOUR), {}, "reservation.too_far", "start"),
        ((now + DAY, now + 16 * DAY), {}, "reservation.too_long", "end"),
        ((now + DAY, now + DAY - HOUR), {}, "reservation.end_before_start", "end"),
        (
            (now + DAY, now + DAY + HOUR),
            {"invitee_phones": ["+48600100200", "call me"]},
            "reservation.invalid_invitee",
            "invitee_phones",
        ),
    ]
    for (start, end), fields, code, field in cases:
        body = assert_problem(await book(client, admin, start, end, **fields), 422, code)
        assert body["field"] == field, body
    body = assert_problem(
        await book(client, admin, now + DAY, now + DAY + HOUR, invitee_phones=["call me"]),
        422,
        "reservation.invalid_invitee",
    )
    assert body["value"] == "call me"
    assert await listed(client, admin) == []


async def test_the_answer_lists_the_notices_and_sms_beyond_the_allowance_are_skipped(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + 2 * DAY
    made = await booked(
        client,
        admin,
        start,
        start + HOUR,
        invitee_emails=["ann@example.org"],
        invitee_phones=["+48600100200"],
        sms_at_booking=True,
    )
    assert (made["notify_email"], made["sms_at_booking"], made["sms_reminder"]) == (
        True,
        True,
        False,
    )
    notices = {(n["channel"], n["kind"]): n for n in made["notices"]}
    assert set(notices) == {("email", "invitation"), ("email", "reminder"), ("sms", "invitation")}
    assert instant(notices[("email", "reminder")]["due_at"]) == start - HOUR
    sms = notices[("sms", "invitation")]
    # The account has no SMS allowance: the booking stands, the SMS is not sent.
    assert (sms["recipient"], sms["state"], sms["last_error"]) == (
        "+48600100200",
        "skipped",
        "sms.allowance_used_up",
    )
    assert set(sms) == {
        "id",
        "channel",
        "recipient",
        "kind",
        "due_at",
        "state",
        "attempts",
        "last_error",
    }
    (overview,) = await listed(client, admin)
    assert {n["id"] for n in overview["notices"]} == {n["id"] for n in made["notices"]}


async def test_mail_that_cannot_go_out_fails_with_a_clear_reason(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    """No CONFERO_SMTP_HOST: the booking stands and the notice says why it failed."""
    start = clock.now() + 2 * DAY
    made = await booked(client, admin, start, start + HOUR, invitee_emails=["ann@example.org"])
    url = f"/api/v1/reservations/{made['id']}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        notices = (await client.get(url, headers=admin.headers)).json()["notices"]
        invitation = next(n for n in notices if n["kind"] == "invitation")
        if invitation["state"] == "failed" or loop.time() > deadline:
            break
        await asyncio.sleep(0.02)
    assert invitation["state"] == "failed"
    assert invitation["last_error"] == "mail.not_configured: CONFERO_SMTP_HOST is not set"
    reminder = next(n for n in notices if n["kind"] == "reminder")
    assert reminder["state"] == "pending"


async def test_editing_the_notice_options(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + 3 * HOUR
    made = await booked(client, admin, start, start + HOUR, invitee_emails=["ann@example.org"])
    assert [(n["kind"], n["state"]) for n in made["notices"]] == [("at_start", "pending")]
    url = f"/api/v1/reservations/{made['id']}"
    changed = await client.patch(url, json={"notify_email": False}, headers=admin.headers)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["notify_email"] is False
    assert [(n["kind"], n["state"]) for n in body["notices"]] == [("at_start", "cancelled")]
