"""Rooms over REST: access data per role, no probing by others, members, the invite link,
the server's dial-in number and limits, and the live meeting in the room."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
import websockets

from confero.app.services import Services
from confero.config import Settings
from confero.domain.accounts import Account
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.server import build
from confero.web.app import create_app
from confero.web.ws import ROOM_NOT_FOUND, Socket
from tests.clock import FakeClock
from tests.web.support import (
    User,
    add_member,
    assert_problem,
    conference,
    create_room,
    join,
    make_user,
    room_names,
)


async def test_create_room_returns_its_access_data(
    client: httpx.AsyncClient, services: Services, admin: User
) -> None:
    room = await create_room(client, admin, "  Weekly   sync ")

    assert room["name"] == "Weekly sync"
    assert room["conference_number"].isdigit() and len(room["conference_number"]) >= 4
    assert room["pin"].isdigit() and room["admin_pin"].isdigit()
    assert room["pin"] != room["admin_pin"]
    assert room["capacity"] == 10  # a permanent bridge holds 10 by default (seed 001)
    assert room["language"] == "en"
    assert room["locked"] is False
    assert room["booked"] is False
    assert room["your_role"] == "moderator"
    assert room["members"] == {}
    invite = room["invite_url"]
    assert invite.startswith(services.base_url + "/join/")
    token = invite.rsplit("/", 1)[1]
    assert len(token) >= 16
    assert room["pin"] not in token and room["conference_number"] not in invite

    fetched = await client.get(f"/api/v1/rooms/{room['id']}", headers=admin.headers)
    assert fetched.status_code == 200
    assert fetched.json() == room
    listed = await client.get("/api/v1/rooms", headers=admin.headers)
    assert listed.json() == [room]


async def test_each_room_gets_its_own_number_and_link(
    client: httpx.AsyncClient, clock: FakeClock, admin: User
) -> None:
    first = await create_room(client, admin, "First", capacity=30, language="pl")
    clock.advance(timedelta(seconds=1))
    second = await create_room(client, admin, "Second")
    assert first["capacity"] == 30 and first["language"] == "pl"
    assert first["conference_number"] != second["conference_number"]
    assert first["invite_url"] != second["invite_url"]
    assert await room_names(client, admin) == ["First", "Second"]


async def test_invalid_rooms_are_refused_and_not_created(
    client: httpx.AsyncClient, services: Services, admin: User
) -> None:
    too_big = await client.post(
        "/api/v1/rooms",
        json={"name": "Big", "capacity": services.rooms.policy.max_capacity + 1},
        headers=admin.headers,
    )
    body = assert_problem(too_big, 422, "room.invalid_capacity")
    assert body["maximum"] == services.rooms.policy.max_capacity
    assert_problem(
        await client.post(
            "/api/v1/rooms", json={"name": "Solo", "capacity": 1}, headers=admin.headers
        ),
        422,
        "room.invalid_capacity",
    )
    assert_problem(
        await client.post(
            "/api/v1/rooms", json={"name": "Paris", "language": "fr"}, headers=admin.headers
        ),
        422,
        "room.invalid_language",
    )
    assert_problem(
        await client.post("/api/v1/rooms", json={"name": "   "}, headers=admin.headers),
        422,
        "room.invalid_name",
    )
    assert_problem(
        await client.post("/api/v1/rooms", json={"capacity": 5}, headers=admin.headers),
        422,
        "request.invalid",
    )
    assert await room_names(client, admin) == []


async def test_owner_changes_a_room(
    client: httpx.AsyncClient, services: Services, admin: User
) -> None:
    room = await create_room(client, admin)
    url = f"/api/v1/rooms/{room['id']}"
    max_capacity = services.rooms.policy.max_capacity

    changed = await client.patch(
        url,
        json={"name": "Board", "capacity": max_capacity, "language": "de", "mute_on_entry": True},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    after = (await client.get(url, headers=admin.headers)).json()
    assert after["name"] == "Board"
    assert after["capacity"] == max_capacity
    assert after["language"] == "de"
    assert after["mute_on_entry"] is True
    # Access data does not change with the settings.
    for key in ("conference_number", "pin", "admin_pin", "invite_url"):
        assert after[key] == room[key]

    too_big = await client.patch(url, json={"capacity": max_capacity + 1}, headers=admin.headers)
    assert_problem(too_big, 422, "room.invalid_capacity")
    bad_language = await client.patch(
        url, json={"name": "Renamed", "language": "xx"}, headers=admin.headers
    )
    assert_problem(bad_language, 422, "room.invalid_language")
    # A refused change leaves every field as it was, the valid ones included.
    assert (await client.get(url, headers=admin.headers)).json() == after


async def test_new_pins_replace_the_old_ones(
    client: httpx.AsyncClient, services: Services, admin: User
) -> None:
    room = await create_room(client, admin)
    number = room["conference_number"]

    renewed = await client.post(f"/api/v1/rooms/{room['id']}/pins", headers=admin.headers)
    assert renewed.status_code == 200, renewed.text
    new = renewed.json()
    assert new["pin"] != new["admin_pin"]
    assert (new["pin"], new["admin_pin"]) != (room["pin"], room["admin_pin"])
    assert new["conference_number"] == number
    fetched = (await client.get(f"/api/v1/rooms/{room['id']}", headers=admin.headers)).json()
    assert (fetched["pin"], fetched["admin_pin"]) == (new["pin"], new["admin_pin"])

    # Callers with the new PINs get in with the right role.
    _, role = await services.rooms.access_by_pin(number, new["pin"], "caller-1")
    assert role is Role.PARTICIPANT
    _, role = await services.rooms.access_by_pin(number, new["admin_pin"], "caller-1")
    assert role is Role.MODERATOR
    # The old ones no longer open the room (unless a new PIN happens to equal an old one).
    for old in {room["pin"], room["admin_pin"]} - {new["pin"], new["admin_pin"]}:
        try:
            await services.rooms.access_by_pin(number, old, "caller-2")
        except DomainError as exc:
            assert exc.code == "access.invalid"
        else:
            raise AssertionError("an old PIN still opens the room")


async def test_other_accounts_cannot_find_a_room(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await create_room(client, admin)
    base = f"/api/v1/rooms/{room['id']}"

    missing = await client.get("/api/v1/rooms/does-not-exist", headers=other.headers)
    missing_body = assert_problem(missing, 404, "room.not_found")
    for method, path, body in (
        ("GET", base, None),
        ("PATCH", base, {"name": "Mine now"}),
        ("DELETE", base, None),
        ("POST", f"{base}/pins", None),
        ("POST", f"{base}/members", {"email": other.email, "role": "moderator"}),
        ("GET", f"{base}/conference", None),
        ("POST", f"{base}/conference/commands", {"command": "join"}),
        ("POST", f"{base}/conference/commands", {"command": "lock"}),
        ("GET", f"{base}/chat", None),
        ("POST", f"{base}/chat", {"text": "hello?"}),
        ("GET", f"{base}/activity", None),
    ):
        response = await client.request(method, path, json=body, headers=other.headers)
        # Exactly what a room that does not exist answers: nothing to learn from it.
        assert assert_problem(response, 404, "room.not_found") == missing_body, (method, path)

    assert await room_names(client, other) == []
    unchanged = (await client.get(base, headers=admin.headers)).json()
    assert unchanged == room


async def test_members_see_the_room_and_its_pin_but_not_the_admin_pin(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await create_room(client, admin)
    base = f"/api/v1/rooms/{room['id']}"

    added = await add_member(client, admin, room["id"], other, "participant")
    assert added.status_code == 200, added.text
    assert added.json()["members"] == {other.id: "participant"}

    seen = (await client.get(base, headers=other.headers)).json()
    assert seen["name"] == room["name"]
    assert seen["conference_number"] == room["conference_number"]
    assert seen["your_role"] == "participant"
    # A member invites people in: the PIN, yes; the admin PIN (a moderator's), no.
    assert seen["pin"] == room["pin"]
    for secret in ("admin_pin", "members"):
        assert secret not in seen
    listed = (await client.get("/api/v1/rooms", headers=other.headers)).json()
    assert [r["id"] for r in listed] == [room["id"]]
    assert listed[0]["pin"] == room["pin"] and "admin_pin" not in listed[0]

    # A member uses the room but does not change it.
    assert_problem(
        await client.patch(base, json={"name": "Taken"}, headers=other.headers),
        403,
        "auth.forbidden",
    )
    assert_problem(await client.post(f"{base}/pins", headers=other.headers), 403, "auth.forbidden")
    assert_problem(await client.delete(base, headers=other.headers), 403, "auth.forbidden")
    assert_problem(
        await add_member(client, other, room["id"], other, "moderator"), 403, "auth.forbidden"
    )
    assert (await client.get(base, headers=admin.headers)).json() == {
        **room,
        "members": {other.id: "participant"},
    }

    promoted = await add_member(client, admin, room["id"], other, "moderator")
    assert promoted.json()["members"] == {other.id: "moderator"}
    as_moderator = (await client.get(base, headers=other.headers)).json()
    assert as_moderator["your_role"] == "moderator"
    assert (as_moderator["pin"], as_moderator["admin_pin"]) == (room["pin"], room["admin_pin"])
    assert "members" not in as_moderator

    removed = await add_member(client, admin, room["id"], other, None)
    assert removed.json()["members"] == {}
    assert_problem(await client.get(base, headers=other.headers), 404, "room.not_found")


async def test_member_changes_that_make_no_sense_are_refused(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await create_room(client, admin)
    url = f"/api/v1/rooms/{room['id']}/members"

    unknown = await client.post(
        url, json={"email": "nobody@example.org", "role": "participant"}, headers=admin.headers
    )
    assert_problem(unknown, 404, "account.not_found")
    bad_role = await add_member(client, admin, room["id"], other, "owner")
    assert_problem(bad_role, 422, "room.invalid_role")
    owner = await add_member(client, admin, room["id"], admin, "participant")
    assert_problem(owner, 422, "room.owner_is_moderator")

    after = (await client.get(f"/api/v1/rooms/{room['id']}", headers=admin.headers)).json()
    assert after["members"] == {}
    assert_problem(
        await client.get(f"/api/v1/rooms/{room['id']}", headers=other.headers),
        404,
        "room.not_found",
    )


async def test_deleting_a_room_ends_its_conference_and_forgets_it(
    client: httpx.AsyncClient, services: Services, admin: User, other: User
) -> None:
    room = await create_room(client, admin)
    keep = await create_room(client, admin, "Keep")
    await add_member(client, admin, room["id"], other, "participant")
    await join(client, other, room["id"])
    assert (await conference(client, admin, room["id"]))["running"] is True

    deleted = await client.delete(f"/api/v1/rooms/{room['id']}", headers=admin.headers)
    assert deleted.status_code == 204
    assert room["id"] not in services.registry.live_rooms()
    assert_problem(
        await client.get(f"/api/v1/rooms/{room['id']}", headers=admin.headers),
        404,
        "room.not_found",
    )
    assert await room_names(client, admin) == [keep["name"]]
    assert await room_names(client, other) == []
    # The number no longer opens anything.
    assert await services.rooms.by_number(room["conference_number"]) is None
    again = await client.delete(f"/api/v1/rooms/{room['id']}", headers=admin.headers)
    assert_problem(again, 404, "room.not_found")


async def test_rooms_show_the_dial_in_number_and_the_servers_maximum(
    settings: Settings, clock: FakeClock
) -> None:
    settings.access_number = "+48 22 123 45 67"
    services = await build(settings, clock=clock)
    try:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            owner = await make_user(services, c, "ola@example.org", "Ola")
            room = await create_room(c, owner)
    finally:
        await services.close()
    assert room["dial_in_number"] == "+48 22 123 45 67"
    assert room["max_capacity"] == settings.max_capacity


async def test_without_an_access_number_the_dial_in_number_is_empty(
    client: httpx.AsyncClient, services: Services, admin: User
) -> None:
    room = await create_room(client, admin)
    assert room["dial_in_number"] == ""
    assert room["max_capacity"] == services.rooms.policy.max_capacity


async def test_the_room_summarises_the_meeting_running_in_it(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await create_room(client, admin)
    url = f"/api/v1/rooms/{room['id']}"
    assert room["meeting"] == {"running": False, "participants": []}

    await add_member(client, admin, room["id"], other, "participant")
    await join(client, other, room["id"])

    expected = {
        "running": True,
        "participants": [{"display_name": other.display_name, "channel": "api"}],
    }
    assert (await client.get(url, headers=admin.headers)).json()["meeting"] == expected
    listed = (await client.get("/api/v1/rooms", headers=other.headers)).json()
    assert listed[0]["meeting"] == expected


async def test_a_new_invite_link_kills_the_old_one(
    client: httpx.AsyncClient, admin: User, other: User, third: User
) -> None:
    room = await create_room(client, admin)
    url = f"/api/v1/rooms/{room['id']}"
    old_path = urlsplit(room["invite_url"]).path
    assert (await client.get(old_path)).status_code == 200

    renewed = await client.post(f"{url}/invite-link", headers=admin.headers)
    assert renewed.status_code == 200, renewed.text
    new_url = renewed.json()["invite_url"]
    assert new_url != room["invite_url"]
    assert (await client.get(url, headers=admin.headers)).json()["invite_url"] == new_url
    # Everything else of the room's access data stays.
    for key in ("conference_number", "pin", "admin_pin"):
        assert renewed.json()[key] == room[key]

    assert (await client.get(old_path)).status_code == 404
    assert (await client.get(urlsplit(new_url).path)).status_code == 200

    # A moderator member may do it too; a participant member may not.
    await add_member(client, admin, room["id"], other, "moderator")
    await add_member(client, admin, room["id"], third, "participant")
    by_moderator = await client.post(f"{url}/invite-link", headers=other.headers)
    assert by_moderator.status_code == 200, by_moderator.text
    assert by_moderator.json()["invite_url"] != new_url
    refused = await client.post(f"{url}/invite-link", headers=third.headers)
    assert_problem(refused, 403, "auth.forbidden")
    after = (await client.get(url, headers=admin.headers)).json()
    assert after["invite_url"] == by_moderator.json()["invite_url"]


async def test_a_socket_on_an_old_invite_link_is_refused(
    services: Services, admin: User, client: httpx.AsyncClient
) -> None:
    room = await create_room(client, admin)
    old_token = room["invite_url"].rsplit("/", 1)[1]
    renewed = await client.post(f"/api/v1/rooms/{room['id']}/invite-link", headers=admin.headers)
    new_token = renewed.json()["invite_url"].rsplit("/", 1)[1]

    app = create_app(services, signaling=_Greeting())
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event)
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/v1/join/{old_token}") as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == ROOM_NOT_FOUND
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/v1/join/{new_token}") as ws:
            assert await ws.recv() == "welcome"
    finally:
        server.should_exit = True
        await task


class _Greeting:
    """A signaling adapter that greets every socket it is handed, then closes it."""

    async def serve(
        self, room: Room, account: Account | None, conn: Socket, address: str | None = None
    ) -> None:
        await conn.send_text("welcome")
        await conn.close()
