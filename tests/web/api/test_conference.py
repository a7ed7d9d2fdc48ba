"""The live conference over REST: joining inside the reservation window (F-RS3), and
the keypad's commands by the same names (F-PH3, F-WB5, F-EN1..F-EN5)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.clock import FakeClock
from tests.web.support import (
    User,
    add_member,
    assert_problem,
    bearer_headers,
    command,
    conference,
    create_room,
    join,
)

MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)


async def booked_room(client: httpx.AsyncClient, owner: User, start: datetime) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/reservations",
        json={"start": start.isoformat(), "end": (start + HOUR).isoformat()},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    room: dict[str, Any] = response.json()["room"]
    return room


async def room_with(
    client: httpx.AsyncClient, owner: User, **members: tuple[User, str]
) -> dict[str, Any]:
    room = await create_room(client, owner)
    for member, role in members.values():
        assert (await add_member(client, owner, room["id"], member, role)).status_code == 200
    return room


def by_name(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["display_name"]: p for p in state["participants"]}


async def activity_kinds(client: httpx.AsyncClient, user: User, room_id: str) -> list[str]:
    response = await client.get(f"/api/v1/rooms/{room_id}/activity", headers=user.headers)
    assert response.status_code == 200, response.text
    return [e["kind"] for e in response.json()["entries"]]


async def test_a_booked_room_opens_five_minutes_before_its_start(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + HOUR
    room = await booked_room(client, admin, start)

    clock.set(start - 5 * MINUTE - SECOND)
    early = await command(client, admin, room["id"], "join")
    body = assert_problem(early, 409, "conference.too_early")
    assert datetime.fromisoformat(body["starts_at"]) == start
    assert (await conference(client, admin, room["id"]))["running"] is False

    clock.set(start - 5 * MINUTE)
    pid = await join(client, admin, room["id"])
    state = await conference(client, admin, room["id"])
    assert state["running"] is True
    assert [p["id"] for p in state["participants"]] == [pid]


async def test_a_booked_room_is_closed_once_its_window_ended(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    start = clock.now() + HOUR
    room = await booked_room(client, admin, start)

    clock.set(start + HOUR - SECOND)
    pid = await join(client, admin, room["id"])
    left = await command(client, admin, room["id"], "leave", participant_id=pid)
    assert left.status_code == 200, left.text

    clock.set(start + HOUR)
    late = await command(client, admin, room["id"], "join")
    assert_problem(late, 409, "conference.window_ended")
    assert (await conference(client, admin, room["id"]))["running"] is False


async def test_joining_shows_who_is_in_the_conference(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await room_with(client, admin, bob=(other, "participant"))
    assert (await conference(client, admin, room["id"])) == {
        "running": False,
        "locked": False,
        "participants": [],
        "lobby": [],
    }

    host = await command(client, admin, room["id"], "join")
    assert host.status_code == 200, host.text
    host_id = host.json()["participant_id"]
    assert "participant_joined" in [e["event"] for e in host.json()["events"]]
    guest = await command(client, other, room["id"], "join", display_name="Bob on the train")
    guest_id = guest.json()["participant_id"]
    assert guest_id != host_id

    state = await conference(client, other, room["id"])
    assert state["running"] is True
    assert [p["id"] for p in state["participants"]] == [host_id, guest_id]
    people = by_name(state)
    assert people["Ada Admin"]["role"] == "moderator"
    assert people["Bob on the train"]["role"] == "participant"
    assert people["Bob on the train"]["muted"] is False
    assert state["lobby"] == []

    health = (await client.get("/api/health")).json()
    assert health["live_conferences"] == 1


async def test_moderator_mutes_and_unmutes_everyone(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await room_with(client, admin, bob=(other, "participant"))
    await join(client, admin, room["id"])
    await join(client, other, room["id"])

    muted = await command(client, admin, room["id"], "mute_all")
    assert muted.status_code == 200, muted.text
    people = by_name(await conference(client, admin, room["id"]))
    assert people["Bob Other"]["muted"] is True
    assert people["Ada Admin"]["muted"] is False  # the moderator keeps talking

    unmuted = await command(client, admin, room["id"], "unmute_all")
    assert unmuted.status_code == 200, unmuted.text
    people = by_name(await conference(client, admin, room["id"]))
    assert people["Bob Other"]["muted"] is False


async def test_lock_keeps_newcomers_in_the_lobby_and_is_kept_by_the_room(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await room_with(client, admin, bob=(other, "participant"))
    await join(client, admin, room["id"])

    locked = await command(client, admin, room["id"], "lock")
    assert locked.status_code == 200, locked.text
    stored = (await client.get(f"/api/v1/rooms/{room['id']}", headers=admin.headers)).json()
    assert stored["locked"] is True
    assert (await conference(client, admin, room["id"]))["locked"] is True

    knock = await command(client, other, room["id"], "join")
    assert knock.status_code == 200, knock.text
    assert "knocked" in [e["event"] for e in knock.json()["events"]]
    state = await conference(client, admin, room["id"])
    assert [e["display_name"] for e in state["lobby"]] == ["Bob Other"]
    assert "Bob Other" not in by_name(state)

    unlocked = await command(client, admin, room["id"], "unlock")
    assert unlocked.status_code == 200, unlocked.text
    state = await conference(client, admin, room["id"])
    assert state["lobby"] == []
    assert "Bob Other" in by_name(state)
    stored = (await client.get(f"/api/v1/rooms/{room['id']}", headers=admin.headers)).json()
    assert stored["locked"] is False


async def test_a_locked_room_stays_locked_for_the_next_conference(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await room_with(client, admin, bob=(other, "participant"))
    await join(client, admin, room["id"])
    await command(client, admin, room["id"], "lock")
    ended = await command(client, admin, room["id"], "end_for_all")
    assert ended.status_code == 200, ended.text

    # Anyone coming back must knock (F-EN2).
    await join(client, other, room["id"])
    state = await conference(client, admin, room["id"])
    assert state["locked"] is True
    assert [e["display_name"] for e in state["lobby"]] == ["Bob Other"]
    assert state["participants"] == []


async def test_lock_unlock_and_reset_work_with_no_conference_running(
    client: httpx.AsyncClient, admin: User
) -> None:
    room = await create_room(client, admin)
    url = f"/api/v1/rooms/{room['id']}"

    assert (await command(client, admin, room["id"], "lock")).status_code == 200
    assert (await client.get(url, headers=admin.headers)).json()["locked"] is True
    state = await conference(client, admin, room["id"])
    assert state["running"] is False and state["locked"] is True
    # Locking twice is harmless.
    assert (await command(client, admin, room["id"], "lock")).status_code == 200
    assert (await command(client, admin, room["id"], "unlock")).status_code == 200
    assert (await client.get(url, headers=admin.headers)).json()["locked"] is False

    await client.post(f"{url}/chat", json={"text": "see you at three"}, headers=admin.headers)
    unconfirmed = await command(client, admin, room["id"], "reset")
    assert_problem(unconfirmed, 422, "command.confirmation_required")
    assert len((await client.get(f"{url}/chat", headers=admin.headers)).json()["messages"]) == 1
    reset = await command(client, admin, room["id"], "reset", confirm=True)
    assert reset.status_code == 200, reset.text
    assert (await client.get(f"{url}/chat", headers=admin.headers)).json()["messages"] == []
    assert await activity_kinds(client, admin, room["id"]) == ["room_reset"]
    assert (await client.get(url, headers=admin.headers)).status_code == 200  # the room stays

    for name in ("mute_all", "unmute_all", "kick_last", "end_for_all", "raise_hand"):
        assert_problem(
            await command(client, admin, room["id"], name), 409, "conference.not_running"
        )


async def test_kick_last_removes_the_participant_who_joined_last(
    client: httpx.AsyncClient, admin: User, other: User, third: User
) -> None:
    room = await room_with(client, admin, bob=(other, "participant"), cleo=(third, "participant"))
    await join(client, admin, room["id"])
    await join(client, other, room["id"])
    await join(client, third, room["id"])

    kicked = await command(client, admin, room["id"], "kick_last")
    assert kicked.status_code == 200, kicked.text
    assert set(by_name(await conference(client, admin, room["id"]))) == {"Ada Admin", "Bob Other"}
    await command(client, admin, room["id"], "kick_last")
    assert set(by_name(await conference(client, admin, room["id"]))) == {"Ada Admin"}

    nobody = await command(client, admin, room["id"], "kick_last")
    assert_problem(nobody, 409, "conference.nobody_to_remove")
    assert set(by_name(await conference(client, admin, room["id"]))) == {"Ada Admin"}


async def test_end_for_all_ends_the_conference(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await room_with(client, admin, bob=(other, "participant"))
    await join(client, admin, room["id"])
    await join(client, other, room["id"])

    ended = await command(client, admin, room["id"], "end_for_all")
    assert ended.status_code == 200, ended.text
    assert "conference_ended" in [e["event"] for e in ended.json()["events"]]
    state = await conference(client, other, room["id"])
    assert state["running"] is False
    assert state["participants"] == []
    assert_problem(
        await command(client, admin, room["id"], "mute_all"), 409, "conference.not_running"
    )
    assert (await client.get("/api/health")).json()["live_conferences"] == 0

    # The room is not gone: a new conference starts with the next join.
    await join(client, other, room["id"])
    assert (await conference(client, admin, room["id"]))["running"] is True


async def test_reset_asks_first_then_ends_and_wipes_chat_and_activity(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await room_with(client, admin, bob=(other, "participant"))
    chat_url = f"/api/v1/rooms/{room['id']}/chat"
    await client.post(chat_url, json={"text": "agenda attached"}, headers=other.headers)
    await join(client, admin, room["id"])
    await join(client, other, room["id"])

    for confirm in (None, False):
        unconfirmed = await command(client, admin, room["id"], "reset", confirm=confirm)
        assert_problem(unconfirmed, 422, "command.confirmation_required")
    assert (await conference(client, admin, room["id"]))["running"] is True
    assert len((await client.get(chat_url, headers=admin.headers)).json()["messages"]) == 1
    assert "joined" in await activity_kinds(client, admin, room["id"])

    reset = await command(client, admin, room["id"], "reset", confirm=True)
    assert reset.status_code == 200, reset.text
    assert (await conference(client, admin, room["id"]))["running"] is False
    assert (await client.get(chat_url, headers=admin.headers)).json()["messages"] == []
    assert await activity_kinds(client, admin, room["id"]) == ["room_reset"]


async def test_only_moderators_moderate(
    client: httpx.AsyncClient, admin: User, other: User, third: User
) -> None:
    room = await room_with(client, admin, bob=(other, "participant"), cleo=(third, "moderator"))
    await join(client, admin, room["id"])
    await join(client, other, room["id"])

    for name in ("mute_all", "lock", "kick_last", "end_for_all"):
        refused = await command(client, other, room["id"], name)
        assert_problem(refused, 403, "conference.moderator_only")
    state = await conference(client, admin, room["id"])
    assert state["locked"] is False
    assert set(by_name(state)) == {"Ada Admin", "Bob Other"}
    assert not any(p["muted"] for p in state["participants"])

    # Joined, the participant member is still a participant.
    bob = await join(client, other, room["id"])
    as_bob = await command(client, other, room["id"], "mute_all", participant_id=bob)
    assert_problem(as_bob, 403, "conference.moderator_only")

    # A moderator member may, without even joining.
    allowed = await command(client, third, room["id"], "mute_all")
    assert allowed.status_code == 200, allowed.text
    assert by_name(await conference(client, admin, room["id"]))["Bob Other"]["muted"] is True
    assert (await command(client, third, room["id"], "kick_last")).status_code == 200
    assert set(by_name(await conference(client, admin, room["id"]))) == {"Ada Admin"}


async def test_a_participant_member_cannot_lock_an_idle_room(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await room_with(client, admin, bob=(other, "participant"))
    for name in ("lock", "unlock"):
        assert_problem(
            await command(client, other, room["id"], name), 403, "conference.moderator_only"
        )
    assert_problem(
        await command(client, other, room["id"], "reset", confirm=True),
        403,
        "conference.moderator_only",
    )
    stored = (await client.get(f"/api/v1/rooms/{room['id']}", headers=admin.headers)).json()
    assert stored["locked"] is False


async def test_nobody_acts_as_someone_elses_participant(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await room_with(client, admin, bob=(other, "moderator"))
    host = await join(client, admin, room["id"])
    bob = await join(client, other, room["id"])

    as_host = await command(client, other, room["id"], "leave", participant_id=host)
    assert_problem(as_host, 403, "auth.forbidden")
    as_host = await command(client, other, room["id"], "mute", participant_id=host)
    assert_problem(as_host, 403, "auth.forbidden")
    invented = await command(client, other, room["id"], "raise_hand", participant_id="nobody")
    assert_problem(invented, 403, "auth.forbidden")
    state = await conference(client, admin, room["id"])
    assert [p["id"] for p in state["participants"]] == [host, bob]
    assert not state["participants"][0]["muted"]

    # As oneself it works.
    raised = await command(client, other, room["id"], "raise_hand", participant_id=bob)
    assert raised.status_code == 200, raised.text
    assert by_name(await conference(client, admin, room["id"]))["Bob Other"]["hand_raised"]


async def test_participants_act_on_themselves(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await room_with(client, admin, bob=(other, "participant"))
    await join(client, admin, room["id"])
    bob = await join(client, other, room["id"])

    muted = await command(client, other, room["id"], "toggle_mute", participant_id=bob)
    assert muted.status_code == 200, muted.text
    assert by_name(await conference(client, admin, room["id"]))["Bob Other"]["muted"] is True
    menu = await command(client, other, room["id"], "menu", participant_id=bob)
    listed = next(e for e in menu.json()["events"] if e["event"] == "menu_listed")
    commands = {row[1] for row in listed["controls"]}
    assert "toggle_mute" in commands
    assert "mute_all" not in commands  # the menu offers only what the caller may do

    left = await command(client, other, room["id"], "leave", participant_id=bob)
    assert left.status_code == 200, left.text
    assert set(by_name(await conference(client, admin, room["id"]))) == {"Ada Admin"}


async def test_unknown_and_internal_commands_are_refused(
    client: httpx.AsyncClient, admin: User
) -> None:
    room = await create_room(client, admin)
    await join(client, admin, room["id"])
    for name in ("self_destruct", "close_window", "", "MUTE_ALL"):
        assert_problem(await command(client, admin, room["id"], name), 422, "command.unknown")
    assert (await conference(client, admin, room["id"]))["running"] is True


async def test_the_last_one_to_leave_ends_the_conference(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await room_with(client, admin, bob=(other, "participant"))
    host = await join(client, admin, room["id"])
    bob = await join(client, other, room["id"])
    first = (await conference(client, admin, room["id"]))["conference_id"]

    await command(client, admin, room["id"], "leave", participant_id=host)
    assert (await conference(client, admin, room["id"]))["running"] is True  # F-EN1
    await command(client, other, room["id"], "leave", participant_id=bob)
    assert (await conference(client, admin, room["id"]))["running"] is False

    await join(client, admin, room["id"])
    second = (await conference(client, admin, room["id"]))["conference_id"]
    assert second != first


async def test_the_activity_log_tells_who_came_went_and_what_changed(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await room_with(client, admin, bob=(other, "participant"))
    host = await join(client, admin, room["id"])
    bob = await join(client, other, room["id"])
    await command(client, admin, room["id"], "mute_all")
    await command(client, admin, room["id"], "lock")
    await command(client, other, room["id"], "leave", participant_id=bob)
    await command(client, admin, room["id"], "leave", participant_id=host)

    # The log is the moderators' (issue 12): a participant member is refused.
    response = await client.get(f"/api/v1/rooms/{room['id']}/activity", headers=other.headers)
    assert response.status_code == 403 and response.json()["code"] == "auth.forbidden"
    # Newest first.
    response = await client.get(f"/api/v1/rooms/{room['id']}/activity", headers=admin.headers)
    entries = response.json()["entries"]
    kinds = [e["kind"] for e in entries]
    assert kinds[0] == "conference_ended"
    for kind in ("conference_started", "joined", "left", "all_mute_changed", "lock_changed"):
        assert kind in kinds
    assert "mute_changed" not in kinds, "the mute-all's one row names whom it muted"
    assert kinds.count("joined") == 2 and kinds.count("left") == 2
    assert kinds.index("left") < kinds.index("lock_changed") < kinds.index("joined")
    joined = [e for e in entries if e["kind"] == "joined"]
    assert {e["detail"]["participant"]["display_name"] for e in joined} == {
        "Ada Admin",
        "Bob Other",
    }
    assert {e["conference_id"] for e in entries} == {entries[0]["conference_id"]}
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)

    page = await client.get(
        f"/api/v1/rooms/{room['id']}/activity", params={"limit": 2}, headers=admin.headers
    )
    assert [e["id"] for e in page.json()["entries"]] == [e["id"] for e in entries[:2]]
    assert page.json()["next_before"] == entries[1]["id"]
    rest = await client.get(
        f"/api/v1/rooms/{room['id']}/activity",
        params={"before": entries[1]["id"], "limit": len(entries) - 2},
        headers=admin.headers,
    )
    assert [e["id"] for e in rest.json()["entries"]] == [e["id"] for e in entries[2:]]
    assert rest.json()["next_before"] is None


async def test_an_account_with_a_long_name_can_join(client: httpx.AsyncClient, admin: User) -> None:
    long_name = "Dr. " + " ".join(["Bartholomew"] * 9)  # 111 characters: fine for an account
    created = await client.post(
        "/api/v1/accounts",
        json={"email": "bart@example.org", "password": "barts password", "display_name": long_name},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["display_name"] == long_name
    headers = await bearer_headers(client, "bart@example.org", "barts password")
    bart = User(created.json()["id"], "bart@example.org", long_name, "barts password", headers)
    room = await create_room(client, bart)

    pid = await join(client, bart, room["id"])
    [me] = (await conference(client, bart, room["id"]))["participants"]
    assert me["id"] == pid
    assert long_name.startswith(me["display_name"])


async def test_reset_is_confirmed_only_by_a_json_true(
    client: httpx.AsyncClient, admin: User
) -> None:
    """A string like "yes" must not delete a room's content."""
    room = await create_room(client, admin)
    posted = await client.post(
        f"/api/v1/rooms/{room['id']}/chat", json={"text": "keep me"}, headers=admin.headers
    )
    assert posted.status_code == 201
    r = await command(client, admin, room["id"], "reset", confirm="yes")
    assert_problem(r, 422, "request.invalid")
    chat = await client.get(f"/api/v1/rooms/{room['id']}/chat", headers=admin.headers)
    assert [m["text"] for m in chat.json()["messages"]] == ["keep me"]
